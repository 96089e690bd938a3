/**
 * The Linux {@linkcode ContainerLocator}: reads `<procRoot>/proc/<pid>/{stat,cgroup,uid_map,ns/user,mountinfo}`
 * and hands the contents to the pure decisions of `decide.ts`. All I/O of the locator is here.
 *
 * @module
 */

import { join } from "node:path";
import { abortError } from "../../core/abort.ts";
import { AttestorError, toAttestorError } from "../../errors.ts";
import { type Logger, nullLogger } from "../../log.ts";
import type { ContainerLocation, ContainerLocator } from "../types.ts";
import {
  createPodPathMatcher,
  DEFAULT_CGROUP_ROOTS,
  ownNodeContainers,
  type PodPathMatcher,
} from "./anchor.ts";
import { MAX_CGROUP_FILE_BYTES } from "./cgroup.ts";
import {
  CGROUP_ERROR_PREFIX,
  type CgroupDecision,
  decideFromCgroup,
  decideFromMountinfo,
  type DecideOptions,
  type FileText,
  type LocationSource,
  MAX_UID_MAP_BYTES,
  userNamespaceVerdict,
} from "./decide.ts";
import { quote } from "./lines.ts";
import { MAX_MOUNTINFO_FILE_BYTES } from "./mountinfo.ts";
import { assertSameStart, MAX_PROC_STAT_BYTES, PROC_STAT_ERROR_PREFIX, startTimeOf } from "./proc_stat.ts";
import { isDirectory, readBoundedText } from "./read.ts";
import { readRegularTextFileSync } from "../../io.ts";

/** Options of {@linkcode createUnixLocator}. */
export interface UnixLocatorOptions {
  /** The directory that holds `proc/` (tests point it at a fixture). @default {"/"} */
  readonly procRoot?: string;
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

/** Throws the call's abort error (`deadline-exceeded` for a timeout, else `cancelled`) once aborted. */
function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

/**
 * Creates the Linux container locator.
 *
 * **New locator (default; SPIRE v1.15.3 `containerinfo`, anchored).** The cgroup file decides
 * (`decideFromCgroup`: only paths under the kubelet's pod cgroups count, `anchor.ts`). Only when every one of
 * its paths is `/` (the process sits at the root of our cgroup namespace) and the process is in the initial
 * user namespace (`userNamespaceVerdict`) is mountinfo read (`decideFromMountinfo`). The two sources are
 * never mixed. A missing cgroup or mountinfo file (with the process directory present) counts as "nothing
 * found".
 *
 * **Legacy locator.** Only the cgroup file, through the two legacy patterns on anchored paths; a missing
 * cgroup file is an error.
 *
 * **The process's start time** (`/proc/<pid>/stat` field 22) is read before and after those reads: equal
 * values mean one process held the PID throughout, so everything read was that process's; it is returned
 * as `startTime` for the core's re-check. The re-check's own lookup (`relocate`) reads the cgroup (and
 * mountinfo) files and then the start time only, the first lookup's closing start time opening its bracket;
 * it returns the start time it read, which the re-check compares with the first one (see
 * `ContainerLocator.relocate`).
 *
 * Differences from upstream, all failing closed: a PID without a `<procRoot>/proc/<pid>` directory is
 * `process-gone` (NOT_FOUND; upstream: no selectors); a process that disappears mid-lookup is
 * `process-gone`; errors name the file and line; files over 1 MiB (cgroup) or 16 MiB (mountinfo) and lines
 * over 64 KiB are rejected.
 *
 * @example Locating a fixture process
 * ```ts ignore
 * import { createUnixLocator } from "./locator.ts";
 * const locator = createUnixLocator({ procRoot: "tests/testdata/proc/containerd-cgroupfs-v1-burstable" });
 * const { podUid, containerId } = await locator.locate(4242);
 * ```
 *
 * @param options Proc root, algorithm, verbosity, logger and kubelet cgroup roots.
 * @returns The locator.
 */
export function createUnixLocator(options: UnixLocatorOptions = {}): ContainerLocator {
  const {
    procRoot = "/",
    useNewContainerLocator = true,
    verbose = false,
    logger = nullLogger,
    cgroupRoots = DEFAULT_CGROUP_ROOTS,
  } = options;
  const log = logger.with({ subsystem_name: "container_locator" });
  // The agent's own docker node container (kind on cgroup v1) is read once, from its own cgroup file.
  let matcher: Promise<PodPathMatcher> | undefined;
  let readyMatcher: PodPathMatcher | undefined;
  const matcherFor = () =>
    matcher ??= readBoundedText(
      join(procRoot, "proc", "self", "cgroup"),
      MAX_CGROUP_FILE_BYTES,
      CGROUP_ERROR_PREFIX,
    )
      .then((text) => createPodPathMatcher(cgroupRoots, text === null ? [] : ownNodeContainers(text)))
      .catch(() => createPodPathMatcher(cgroupRoots))
      .then((m) => readyMatcher = m);
  /**
   * The cgroup decisions already made, keyed by the cgroup file's whole text (a decision is a pure function
   * of the text, given this locator's fixed matcher and algorithm, so an equal text gets an equal decision:
   * the re-check after a match, and every later Attest of the same container, skip parsing and matching).
   * Only the new locator's, without verbose logs (which must show every line), and only decisions (an error
   * is never remembered). Bounded: the most recently used entries, each text at most a few KiB.
   */
  const memo = useNewContainerLocator && !verbose ? new Map<string, CgroupDecision>() : null;
  const decideCgroup = (file: FileText, decide: DecideOptions): CgroupDecision => {
    const text = file.text;
    if (memo === null || text === null || text.length > MEMO_MAX_TEXT) return decideFromCgroup(file, decide);
    const known = memo.get(text);
    if (known !== undefined) {
      memo.delete(text); // most recently used last
      memo.set(text, known);
      return known;
    }
    const decision = decideFromCgroup(file, decide);
    if (decision.kind === "decided") {
      if (memo.size >= MEMO_MAX_ENTRIES) memo.delete(memo.keys().next().value!);
      memo.set(text, decision);
    }
    return decision;
  };
  // `join(procRoot, "proc", pid, name)` for a positive integer `pid` and a relative `name` without dots:
  // the normalised prefix is computed once, the rest cannot change under normalisation.
  const procBase = join(procRoot, "proc");

  /**
   * One lookup. `opening`: the start time that opens the bracket, read at the end of an earlier lookup of
   * the same PID (`relocate`); then no stat file is read first and the start time read last is returned
   * unchecked, for the caller to compare with `opening`.
   */
  async function locate(pid: number, signal?: AbortSignal, opening?: string): Promise<ContainerLocation> {
    if (!Number.isSafeInteger(pid) || pid < 1) {
      throw new AttestorError("bad-request", `invalid pid ${pid}: must be a positive integer`);
    }
    checkAborted(signal);
    const procDir = `${procBase}/${pid}`;
    const notFound = () =>
      new AttestorError("process-gone", `process ${pid} does not exist (no directory ${quote(procDir)})`);
    /** Reads a file; `null` when missing, but only while the process directory is still there. */
    const read = async (name: string, maxBytes: number, prefix: string): Promise<FileText> => {
      const path = `${procDir}/${name}`;
      const text = await readBoundedText(path, maxBytes, prefix);
      checkAborted(signal);
      if (text === null && !await isDirectory(procDir)) throw notFound();
      return { path, text };
    };
    /**
     * A regular file read synchronously, as `read` would read it (see `readRegularTextFileSync`), or
     * `undefined` when `read` has to decide (a missing or unusual file, an error): no promise for the usual
     * case.
     */
    const readNow = (name: string, maxBytes: number): FileText | undefined => {
      const path = `${procDir}/${name}`;
      const text = readRegularTextFileSync(path, maxBytes);
      if (text === undefined) return undefined;
      checkAborted(signal);
      return { path, text };
    };
    // The process directory must exist. A stat file that could be read shows that it did (the kernel
    // provides it for as long as the directory exists); only otherwise is the directory looked at, before
    // the stat file is read the usual way (which tells a missing file from a missing process).
    // With `opening`, the cgroup read below tells a missing process as `read` does.
    let firstStat: FileText | undefined;
    if (opening === undefined) {
      firstStat = readNow("stat", MAX_PROC_STAT_BYTES);
      if (firstStat === undefined) {
        if (!await isDirectory(procDir)) throw notFound();
        firstStat = await read("stat", MAX_PROC_STAT_BYTES, PROC_STAT_ERROR_PREFIX);
      }
    }
    /** Reads a symbolic link under the process directory; `null` when it cannot be read. */
    const readLink = async (name: string): Promise<string | null> => {
      const target = await readLinkOrNull(join(procDir, name));
      checkAborted(signal);
      if (target === null && !await isDirectory(procDir)) throw notFound();
      return target;
    };
    let pidLog: Logger | undefined;
    const decide: DecideOptions = {
      matcher: readyMatcher ?? await matcherFor(),
      legacy: !useNewContainerLocator,
      verbose,
      // Made when something is logged (verbose mode, a warning), not for every lookup.
      get logger() {
        return pidLog ??= log.with({ pid });
      },
    };

    const startTime = firstStat === undefined ? opening! : startTimeOf(pid, firstStat);
    let result: { source: LocationSource; location: ContainerLocation };
    const fromCgroup = decideCgroup(
      readNow("cgroup", MAX_CGROUP_FILE_BYTES) ??
        await read("cgroup", MAX_CGROUP_FILE_BYTES, CGROUP_ERROR_PREFIX),
      decide,
    );
    if (fromCgroup.kind === "decided") {
      result = fromCgroup;
    } else {
      const refusal = userNamespaceVerdict({
        uidMap: await read("uid_map", MAX_UID_MAP_BYTES, "unable to read the user namespace's uid map"),
        ownUserNs: await readLink("ns/user"),
        initUserNs: await readLinkOrNull(join(procRoot, "proc", "1", "ns", "user")),
      });
      if (refusal !== null) {
        if (verbose) decide.logger.debug(`mountinfo not consulted: ${refusal}`, {});
        result = { source: "none", location: NOT_IN_CONTAINER };
      } else {
        const mountinfo = await read("mountinfo", MAX_MOUNTINFO_FILE_BYTES, "failed to parse mount info");
        result = decideFromMountinfo(mountinfo, decide);
      }
    }
    const lastStat = readNow("stat", MAX_PROC_STAT_BYTES) ??
      await read("stat", MAX_PROC_STAT_BYTES, PROC_STAT_ERROR_PREFIX);
    const closing = startTimeOf(pid, lastStat);
    // A relocation's caller compares `closing` with `opening` (the re-check names both start times).
    if (opening === undefined) assertSameStart(pid, startTime, closing);
    if (verbose) {
      decide.logger.debug("Container locator decision", {
        locator: useNewContainerLocator ? "new" : "legacy",
        source: result.source,
        pod_uid: result.location.podUid ?? "",
        container_id: result.location.containerId ?? "",
      });
    }
    // A copy: decisions are shared (see `memo`).
    return closing === null ? { ...result.location } : { ...result.location, startTime: closing };
  }

  return {
    async locate(pid: number, signal?: AbortSignal): Promise<ContainerLocation> {
      try {
        return await locate(pid, signal);
      } catch (err) {
        throw toAttestorError(err, "internal", `locating process ${pid}`);
      }
    },
    async relocate(pid: number, first: ContainerLocation, signal?: AbortSignal): Promise<ContainerLocation> {
      try {
        return await locate(pid, signal, first.startTime);
      } catch (err) {
        throw toAttestorError(err, "internal", `locating process ${pid}`);
      }
    },
  };
}

const NOT_IN_CONTAINER: ContainerLocation = Object.freeze({ podUid: null, containerId: null });

/** The most cgroup decisions a locator remembers (see `memo` in {@linkcode createUnixLocator}). */
const MEMO_MAX_ENTRIES = 256;
/** The longest cgroup file text whose decision is remembered (a cgroup v1 file of 13 lines is ~2.5 KiB). */
const MEMO_MAX_TEXT = 4096;

/** Reads a symbolic link; `null` when it does not exist or cannot be read. */
// deno-lint-ignore require-await -- async on purpose: callers await it like the other /proc reads
async function readLinkOrNull(path: string): Promise<string | null> {
  try {
    return Deno.readLinkSync(path); // synchronous: readlink opens nothing and cannot block
  } catch {
    return null;
  }
}
