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
import { createPodPathMatcher, DEFAULT_CGROUP_ROOTS, type PodPathMatcher } from "./anchor.ts";
import { MAX_CGROUP_FILE_BYTES, parseCgroupFile } from "./cgroup.ts";
import { extractFromPath, IdMerger, type MergeAction, type PathIds } from "./extract.ts";
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
  /**
   * `kubelet_cgroup_root`: the accepted kubelet `--cgroup-root` values (cgroupfs form); pod and container IDs
   * are taken only from paths under their pod cgroups (`anchor.ts`). @default {DEFAULT_CGROUP_ROOTS}
   */
  readonly cgroupRoots?: readonly string[];
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
  const {
    root = "/",
    useNewContainerLocator = true,
    verbose = false,
    logger = nullLogger,
    cgroupRoots = DEFAULT_CGROUP_ROOTS,
  } = options;
  const log = logger.with({ subsystem_name: "container_locator" });
  const matcher = createPodPathMatcher(cgroupRoots);

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
    /** Reads a symbolic link under the process directory; `null` when it cannot be read. */
    read.link = async (name: string): Promise<string | null> => {
      const target = await readLinkOrNull(join(procDir, name));
      checkAborted(signal);
      if (target === null && !await isDirectory(procDir)) throw notFound();
      return target;
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

  interface Reader {
    (name: string, maxBytes: number, prefix: string): Promise<{ path: string; text: string | null }>;
    link(name: string): Promise<string | null>;
  }
  interface Outcome {
    readonly source: "cgroup" | "mountinfo" | "none";
    readonly location: ContainerLocation;
  }

  /**
   * The IDs of one cgroup path or mount root: only from a path under the kubelet's pod cgroups. A path
   * outside them yields nothing; one that would name a pod there is refused outright (a forged layout, or a
   * kubelet with a `--cgroup-root` that is not configured).
   */
  function anchoredIds(
    path: string,
    origin: Origin,
    namesPod: (path: string) => string,
  ): { ids: PathIds; layout: string } {
    const m = matcher.match(path);
    if (m.kind === "container") {
      return { ids: { podUid: m.podUid, containerId: m.containerId }, layout: m.layout };
    }
    if (m.kind === "outside") {
      const podUid = namesPod(path);
      if (podUid !== "") throw outsideError(path, podUid, origin, matcher);
      return { ids: NO_IDS, layout: "outside kubelet pod cgroups" };
    }
    return { ids: NO_IDS, layout: "no container" };
  }

  /** One-entry memo over {@linkcode anchoredIds}: a cgroup v1 file repeats one path on most lines. */
  function createClassifier(namesPod: (path: string) => string) {
    let lastPath: string | undefined;
    let last: { ids: PathIds; layout: string } = { ids: NO_IDS, layout: "" };
    return (path: string, origin: Origin) => {
      if (path !== lastPath) {
        last = anchoredIds(path, origin, namesPod);
        lastPath = path;
      }
      return last;
    };
  }

  const upstreamPodUid = (path: string) => extractFromPath(path).podUid;

  async function locateNew(read: Reader, plog: Logger): Promise<Outcome> {
    const cg = await read("cgroup", MAX_CGROUP_FILE_BYTES, CGROUP_ERROR_PREFIX);
    if (cg.text === null) {
      if (verbose) plog.debug("cgroup file not found; treating as no container", { file: cg.path });
      return { source: "none", location: NOT_IN_CONTAINER };
    } else {
      const entries = parseCgroupFile(cg.text, cg.path);
      const merger = new IdMerger();
      const classify = createClassifier(upstreamPodUid);
      for (const entry of entries) {
        const { ids, layout } = classify(entry.path, { file: cg.path, line: entry.line });
        const fields = () => ({
          file: cg.path,
          line: entry.line,
          total: entries.length,
          cgroup_path: entry.path,
          layout,
        });
        addLogged(merger, ids, fields, "PID cgroup entry considered", plog);
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

    // Even at the root of our cgroup namespace, mounts are trusted only when they cannot be forged: in the
    // initial user namespace only root can mount, while anyone can create a user + mount namespace
    // (`unshare -Urm`) and bind-mount a pod's cgroup directory there.
    const userns = await userNamespaceCheck(read);
    if (userns !== null) {
      if (verbose) plog.debug(`mountinfo not consulted: ${userns}`, {});
      return { source: "none", location: NOT_IN_CONTAINER };
    }

    const mi = await read("mountinfo", MAX_MOUNTINFO_FILE_BYTES, "failed to parse mount info");
    if (mi.text === null) {
      if (verbose) plog.debug("mountinfo file not found; treating as no container", { file: mi.path });
      return { source: "none", location: NOT_IN_CONTAINER };
    }
    const mounts = parseMountinfo(mi.text, mi.path);
    const merger = new IdMerger();
    const classify = createClassifier(upstreamPodUid);
    for (const mount of mounts) {
      if (!isCandidateCgroupMount(mount)) {
        if (verbose) {
          plog.debug("PID mount skipped", {
            file: mi.path,
            line: mount.line,
            type: mount.fsType,
            mount_info_root: mount.root,
            reason: mount.fsType === "cgroup" || mount.fsType === "cgroup2"
              ? "cgroup mount at /"
              : "not a cgroup mount",
          });
        }
        continue;
      }
      const { ids, layout } = classify(mount.root, { file: mi.path, line: mount.line });
      const fields = () => ({
        file: mi.path,
        line: mount.line,
        type: mount.fsType,
        mount_info_root: mount.root,
        layout,
      });
      addLogged(merger, ids, fields, "PID mount considered", plog);
    }
    if (merger.containerId !== "") {
      return { source: "mountinfo", location: location(merger.podUid, merger.containerId) };
    }
    return { source: "none", location: NOT_IN_CONTAINER };
  }

  /**
   * `null` when the process is in the initial user namespace, else why mountinfo must not be trusted. Two
   * tests, both required where they can run:
   * - its `uid_map` is the identity map of all uids (`0 0 4294967295`): a namespace made by an unprivileged
   *   user can map only its own uid (or its `/etc/subuid` range through `newuidmap`), never all of them;
   * - its `ns/user` link equals PID 1's (the initial namespace on a node with `hostPID`); skipped when PID
   *   1's link cannot be read (some sandboxes deny it even to root), never when the process's own cannot.
   */
  async function userNamespaceCheck(read: Reader): Promise<string | null> {
    const map = await read("uid_map", MAX_UID_MAP_BYTES, "unable to read the user namespace's uid map");
    if (map.text === null) return `${map.path} cannot be read`;
    if (!isIdentityUidMap(map.text)) {
      return `the process is not in the initial user namespace (${map.path}: ${
        JSON.stringify(map.text.trim())
      })`;
    }
    const own = await read.link("ns/user");
    if (own === null) return "the process's user namespace (ns/user) cannot be read";
    const init = await readLinkOrNull(join(root, "proc", "1", "ns", "user"));
    if (init !== null && own !== init) {
      return `the process is in user namespace ${own}, not PID 1's (${init})`;
    }
    return null;
  }

  function addLogged(
    merger: IdMerger,
    ids: PathIds,
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

  /** The pod UID the legacy patterns would take from an unanchored path (`""` for none). */
  function legacyPodUid(path: string): string {
    const r = legacyMatchPath(path);
    return r.kind === "match" ? r.podUid : "";
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
      const fields = { file: cg.path, line: entry.line, total: entries.length, cgroup_path: entry.path };
      // The same anchoring as the new locator gates the legacy patterns.
      const anchored = anchoredIds(entry.path, { file: cg.path, line: entry.line }, legacyPodUid);
      if (anchored.ids.containerId === "") {
        if (verbose) {
          plog.debug("PID cgroup entry considered", {
            ...fields,
            layout: anchored.layout,
            action: "no match",
          });
        }
        continue;
      }
      const r = legacyMatchPath(entry.path);
      if (r.kind === "ambiguous") {
        plog.warn("More than one regex matches for cgroup; ignoring it", fields);
        continue;
      }
      if (r.kind === "none") {
        if (verbose) plog.debug("PID cgroup entry considered", { ...fields, action: "no match" });
        continue;
      }
      if (r.containerId !== anchored.ids.containerId) {
        throw new AttestorError(
          "FAILED_PRECONDITION",
          `cgroup path ${quote(entry.path)} (${cg.path}:${entry.line}): the legacy pattern finds container ` +
            `${r.containerId}, but the container segment of the kubelet layout is ${anchored.ids.containerId}`,
        );
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

/** `uid_map` holds at most 340 lines (the kernel's limit) of three numbers. */
const MAX_UID_MAP_BYTES = 64 * 1024;

/** Whether a `uid_map` maps every uid to itself: one line `0 0 4294967295`. */
function isIdentityUidMap(text: string): boolean {
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  return lines.length === 1 && /^0\s+0\s+4294967295$/.test(lines[0]);
}

/** Where a path was read, for messages. */
interface Origin {
  readonly file: string;
  readonly line: number;
}

const NO_IDS: PathIds = Object.freeze({ podUid: "", containerId: "" });

/** The error for a path that names a pod outside the kubelet's pod cgroups. */
function outsideError(path: string, podUid: string, origin: Origin, matcher: PodPathMatcher): AttestorError {
  return new AttestorError(
    "PERMISSION_DENIED",
    `cgroup path ${quote(path)} (${origin.file}:${origin.line}) names pod ${podUid} but is not under the ` +
      `kubelet's pod cgroups (accepted kubelet cgroup roots: ${matcher.roots.join(", ")}); no identity is ` +
      `given to a process outside them. If the kubelet runs with another --cgroup-root, set kubelet_cgroup_root`,
  );
}

/** Reads a symbolic link; `null` when it does not exist or cannot be read. */
async function readLinkOrNull(path: string): Promise<string | null> {
  try {
    return await Deno.readLink(path);
  } catch {
    return null;
  }
}
