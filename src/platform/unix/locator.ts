/**
 * The Linux {@linkcode ContainerLocator}: finds a process's pod UID and container ID from
 * `<root>/proc/<pid>/cgroup` and, only as a fallback, `<root>/proc/<pid>/mountinfo`.
 *
 * @module
 */

import { join } from "node:path";
import { AttestorError, toAttestorError } from "../../errors.ts";
import { type Logger, nullLogger } from "../../log.ts";
import type { ContainerLocation, ContainerLocator } from "../types.ts";
import { MAX_CGROUP_FILE_BYTES, parseCgroupFile } from "./cgroup.ts";
import { createPathExtractor, IdMerger, type MergeAction } from "./extract.ts";
import { legacyMatchPath, LegacyMerger } from "./legacy.ts";
import { quote } from "./lines.ts";
import { isCandidateCgroupMount, MAX_MOUNTINFO_FILE_BYTES, parseMountinfo } from "./mountinfo.ts";
import { assertSameStart, MAX_PROC_STAT_BYTES, PROC_STAT_ERROR_PREFIX, startTimeOf } from "./proc_stat.ts";
import { isDirectory, readBoundedText } from "./read.ts";

/** Options of {@linkcode createUnixLocator}. */
export interface UnixLocatorOptions {
  /** The directory that holds `proc/` (tests point it at a fixture). @default {"/"} */
  readonly root?: string;
  /** `use_new_container_locator`: the current upstream algorithm, or the legacy matchers. @default {true} */
  readonly useNewContainerLocator?: boolean;
  /** `verbose_container_locator_logs`: log every line considered and the decision at debug level. @default {false} */
  readonly verbose?: boolean;
  /** Where diagnostics go. @default {nullLogger} */
  readonly logger?: Logger;
}

const NOT_IN_CONTAINER: ContainerLocation = Object.freeze({ podUid: null, containerId: null });
const CGROUP_ERROR_PREFIX = "unable to obtain cgroups";

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AttestorError("CANCELLED", "context canceled");
}

function location(podUid: string, containerId: string): ContainerLocation {
  if (containerId === "") return NOT_IN_CONTAINER;
  return { podUid: podUid === "" ? null : podUid, containerId };
}

/**
 * Creates the Linux container locator.
 *
 * **New locator (default; SPIRE v1.15.3 `containerinfo`).** Every path of the cgroup file goes through the
 * segment walk (`extract.ts`) and the merge rules (`IdMerger`). Only when the cgroup file yields no container
 * ID **and every one of its paths is `/`** (the process sits at the root of our cgroup namespace) is
 * mountinfo read, with a fresh state, looking at `cgroup`/`cgroup2` mounts whose root is not `/`. The two
 * sources are never mixed, so a forged bind mount cannot override what the kernel wrote in the cgroup file,
 * and a process with a real cgroup path that names no container (a host service, a login session) is "not
 * in a container" whatever its mountinfo says: unlike upstream, which also trusts mountinfo there, so that
 * an unprivileged user could forge a pod's cgroup mount inside a user namespace and take its identity.
 * A missing cgroup or mountinfo file (with the process directory present) counts as "nothing found".
 *
 * **Legacy locator.** Only the cgroup file, through the two legacy patterns (`legacy.ts`); a missing cgroup
 * file is an error.
 *
 * **cri-o `conmon`.** A process in `crio-conmon-<id>.scope` is cri-o's monitor for container `<id>`, not the
 * workload; both locators report that container (and the pod UID when the scope sits in the pod slice),
 * exactly as upstream, because the segment walk is runtime-agnostic. conmon runs as root on the host, so
 * this grants it nothing it could not take anyway. With `conmon_cgroup = "system.slice"` on cgroup v1 the
 * controllers mounted at `/` trip the order quirk and the new locator fails with `multiple container IDs`.
 *
 * Differences from upstream, all failing closed: a PID without a `<root>/proc/<pid>` directory is
 * `NOT_FOUND` (upstream: no selectors); a process that disappears mid-lookup is `NOT_FOUND`; errors name the
 * file and line; files over 1 MiB (cgroup) or 16 MiB (mountinfo) and lines over 64 KiB are rejected.
 *
 * @example Locating a fixture process
 * ```ts ignore
 * import { createUnixLocator } from "./locator.ts";
 * const locator = createUnixLocator({ root: "tests/testdata/proc/containerd-cgroupfs-v1-burstable" });
 * const { podUid, containerId } = await locator.locate(4242);
 * ```
 *
 * @param options Root directory, algorithm, verbosity and logger.
 * @returns The locator.
 */
export function createUnixLocator(options: UnixLocatorOptions = {}): ContainerLocator {
  const { root = "/", useNewContainerLocator = true, verbose = false, logger = nullLogger } = options;
  const log = logger.with({ subsystem_name: "container_locator" });

  async function locate(pid: number, signal?: AbortSignal): Promise<ContainerLocation> {
    if (!Number.isSafeInteger(pid) || pid < 1) {
      throw new AttestorError("INVALID_ARGUMENT", `invalid pid ${pid}: must be a positive integer`);
    }
    checkAborted(signal);
    const procDir = join(root, "proc", String(pid));
    const notFound = () =>
      new AttestorError("NOT_FOUND", `process ${pid} does not exist (no directory ${quote(procDir)})`);
    if (!await isDirectory(procDir)) throw notFound();
    /** Reads a file; `null` when missing, but only while the process directory is still there. */
    const read = async (name: string, maxBytes: number, prefix: string) => {
      const path = join(procDir, name);
      const text = await readBoundedText(path, maxBytes, prefix);
      checkAborted(signal);
      if (text === null && !await isDirectory(procDir)) throw notFound();
      return { path, text };
    };
    const plog = log.with({ pid });
    // The start time is read before and after the cgroup (and mountinfo) reads: equal values mean one process
    // held the PID throughout, so what was read is that process's (see proc_stat.ts and ContainerLocation).
    const stat = () => read("stat", MAX_PROC_STAT_BYTES, PROC_STAT_ERROR_PREFIX);
    const startTime = startTimeOf(pid, await stat());
    const result = useNewContainerLocator ? await locateNew(read, plog) : await locateLegacy(read, plog);
    assertSameStart(pid, startTime, startTimeOf(pid, await stat()));
    if (verbose) {
      plog.debug("Container locator decision", {
        locator: useNewContainerLocator ? "new" : "legacy",
        source: result.source,
        pod_uid: result.location.podUid ?? "",
        container_id: result.location.containerId ?? "",
      });
    }
    return startTime === null ? result.location : { ...result.location, startTime };
  }

  type Reader = (
    name: string,
    maxBytes: number,
    prefix: string,
  ) => Promise<{ path: string; text: string | null }>;
  interface Outcome {
    readonly source: "cgroup" | "mountinfo" | "none";
    readonly location: ContainerLocation;
  }

  async function locateNew(read: Reader, plog: Logger): Promise<Outcome> {
    const cg = await read("cgroup", MAX_CGROUP_FILE_BYTES, CGROUP_ERROR_PREFIX);
    if (cg.text === null) {
      if (verbose) plog.debug("cgroup file not found; treating as no container", { file: cg.path });
      return { source: "none", location: NOT_IN_CONTAINER };
    } else {
      const entries = parseCgroupFile(cg.text, cg.path);
      const merger = new IdMerger();
      const extract = createPathExtractor();
      for (const entry of entries) {
        const fields = () => ({
          file: cg.path,
          line: entry.line,
          total: entries.length,
          cgroup_path: entry.path,
        });
        addLogged(merger, extract(entry.path), fields, "PID cgroup entry considered", plog);
      }
      if (merger.containerId !== "") {
        return { source: "cgroup", location: location(merger.podUid, merger.containerId) };
      }
      // The mountinfo fallback exists for a process at the root of our own cgroup namespace (every path
      // is "/": the agent's container, or a caller sharing it), whose cgroup file cannot name a container.
      // Any other process (a host service, a login session) has a real cgroup path without IDs and is not
      // in a container; its mountinfo is never trusted: an unprivileged user can forge cgroup bind mounts
      // inside a user namespace and would otherwise take any pod's identity.
      const rootOnly = entries.length > 0 && entries.every((e) => e.path === "/");
      if (!rootOnly) {
        if (verbose) {
          plog.debug("cgroup paths name no container; mountinfo not consulted", { file: cg.path });
        }
        return { source: "none", location: NOT_IN_CONTAINER };
      }
    }

    const mi = await read("mountinfo", MAX_MOUNTINFO_FILE_BYTES, "failed to parse mount info");
    if (mi.text === null) {
      if (verbose) plog.debug("mountinfo file not found; treating as no container", { file: mi.path });
      return { source: "none", location: NOT_IN_CONTAINER };
    }
    const mounts = parseMountinfo(mi.text, mi.path);
    const merger = new IdMerger();
    const extract = createPathExtractor();
    for (const mount of mounts) {
      const fields = () => ({
        file: mi.path,
        line: mount.line,
        type: mount.fsType,
        mount_info_root: mount.root,
      });
      if (!isCandidateCgroupMount(mount)) {
        if (verbose) {
          plog.debug("PID mount skipped", {
            ...fields(),
            reason: mount.fsType === "cgroup" || mount.fsType === "cgroup2"
              ? "cgroup mount at /"
              : "not a cgroup mount",
          });
        }
        continue;
      }
      addLogged(merger, extract(mount.root), fields, "PID mount considered", plog);
    }
    if (merger.containerId !== "") {
      return { source: "mountinfo", location: location(merger.podUid, merger.containerId) };
    }
    return { source: "none", location: NOT_IN_CONTAINER };
  }

  function addLogged(
    merger: IdMerger,
    ids: { podUid: string; containerId: string },
    fields: () => Record<string, string | number>,
    message: string,
    plog: Logger,
  ): MergeAction {
    try {
      const action = merger.add(ids);
      if (verbose) {
        plog.debug(message, { ...fields(), pod_uid: ids.podUid, container_id: ids.containerId, action });
      }
      return action;
    } catch (err) {
      if (verbose) {
        plog.debug(message, {
          ...fields(),
          pod_uid: ids.podUid,
          container_id: ids.containerId,
          action: "conflict",
          previous_pod_uid: merger.podUid,
          previous_container_id: merger.containerId,
        });
      }
      throw err;
    }
  }

  async function locateLegacy(read: Reader, plog: Logger): Promise<Outcome> {
    const cg = await read("cgroup", MAX_CGROUP_FILE_BYTES, CGROUP_ERROR_PREFIX);
    if (cg.text === null) {
      throw new AttestorError(
        "INTERNAL",
        `${CGROUP_ERROR_PREFIX}: open ${quote(cg.path)}: no such file or directory`,
      );
    }
    const entries = parseCgroupFile(cg.text, cg.path);
    const merger = new LegacyMerger();
    for (const entry of entries) {
      const r = legacyMatchPath(entry.path);
      const fields = { file: cg.path, line: entry.line, total: entries.length, cgroup_path: entry.path };
      if (r.kind === "ambiguous") {
        plog.warn("More than one regex matches for cgroup; ignoring it", fields);
        continue;
      }
      if (r.kind === "none") {
        if (verbose) plog.debug("PID cgroup entry considered", { ...fields, action: "no match" });
        continue;
      }
      try {
        merger.add(r.podUid, r.containerId);
        if (verbose) {
          plog.debug("PID cgroup entry considered", {
            ...fields,
            rule: r.rule,
            pod_uid: r.podUid,
            container_id: r.containerId,
            action: "matched",
          });
        }
      } catch (err) {
        if (verbose) {
          plog.debug("PID cgroup entry considered", {
            ...fields,
            rule: r.rule,
            pod_uid: r.podUid,
            container_id: r.containerId,
            action: "conflict",
          });
        }
        throw err;
      }
    }
    const found = merger.containerId !== "";
    return { source: found ? "cgroup" : "none", location: location(merger.podUid, merger.containerId) };
  }

  return {
    async locate(pid: number, signal?: AbortSignal): Promise<ContainerLocation> {
      try {
        return await locate(pid, signal);
      } catch (err) {
        throw toAttestorError(err, "INTERNAL", `locating process ${pid}`);
      }
    },
  };
}
