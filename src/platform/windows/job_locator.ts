/**
 * Windows container lookup: maps a PID to the ID of the process-isolated container that holds it, through
 * the job objects `vmcompute.exe` (the Host Compute Service) keeps open. Each container's job object is
 * named `\Container_<id>`. Pure TypeScript over the {@linkcode WinApi} interface, so every branch runs
 * against a fake on any OS.
 *
 * Steps for one PID:
 * 1. list processes and collect the PIDs of `vmcompute.exe` (exact, case-sensitive name, as upstream);
 * 2. open the workload with `PROCESS_QUERY_LIMITED_INFORMATION` and read its creation time
 *    (`GetProcessTimes`); the handle stays open until the end, so the PID cannot be given to another
 *    process meanwhile (the attestor core compares the creation time with a second lookup's);
 * 3. create a throw-away job object of our own, so its entry in the handle table tells which
 *    `ObjectTypeIndex` means "Job" on this boot (non-job handles are then never duplicated, which avoids
 *    both needless work and failures on handle types that cannot be duplicated);
 * 4. read the system handle table (`NtQuerySystemInformation` class 64) with a bounded, growing buffer;
 * 5. for each job handle owned by vmcompute: duplicate it, confirm its type is `Job`, ask
 *    `IsProcessInJob`, and keep its name when it starts with `\Container_`;
 * 6. no such job → not in a container (`null`); one distinct name → its ID; more → error.
 *
 * Differences from upstream, all towards failing closed: access denied anywhere is an `os-denied` error
 * (PERMISSION_DENIED) naming the call (upstream silently skips vmcompute when it cannot open it, which makes
 * every workload look "not in a container"); unexpected per-handle failures are errors instead of debug logs;
 * duplicate handles to the same job count once; an empty ID after the prefix is an error; the handle
 * buffer and all loops are bounded. Every handle opened is closed on every path.
 *
 * @module
 */

import { isTimeoutReason } from "../../core/abort.ts";
import { AttestorError, errorMessage, type ErrorReason } from "../../errors.ts";
import type { Logger } from "../../log.ts";
import { nullLogger } from "../../log.ts";
import type { ContainerLocation, ContainerLocator } from "../types.ts";
import {
  type HandleEntry,
  PROCESS_DUP_HANDLE,
  PROCESS_QUERY_INFORMATION,
  PROCESS_QUERY_LIMITED_INFORMATION,
  Win32Error,
} from "./structs.ts";
import { type Handle, type WinApi, WinApiError } from "./winapi.ts";

/** The prefix of a container's job object name. */
export const CONTAINER_JOB_PREFIX = "\\Container_";
/** The executable name of the Host Compute Service. */
export const VMCOMPUTE_EXE = "vmcompute.exe";

/** Bounds on buffers and loops. */
export interface JobLocatorLimits {
  /** First handle-table buffer size in bytes. @default {1048576} (1 MiB) */
  readonly initialHandleBuffer: number;
  /** Largest handle-table buffer in bytes. @default {268435456} (256 MiB) */
  readonly maxHandleBuffer: number;
  /** Most `NtQuerySystemInformation` attempts per lookup. @default {8} */
  readonly maxHandleQueries: number;
  /** Most processes read from one snapshot. @default {1048576} */
  readonly maxProcesses: number;
}

/** The default {@linkcode JobLocatorLimits}. */
export const DEFAULT_JOB_LOCATOR_LIMITS: JobLocatorLimits = {
  initialHandleBuffer: 1 << 20,
  maxHandleBuffer: 256 << 20,
  maxHandleQueries: 8,
  maxProcesses: 1 << 20,
};

/** Options of {@linkcode JobContainerLocator}. */
export interface JobLocatorOptions {
  /** The Windows calls, or a function that creates them on first use (keeps `dlopen` lazy). */
  readonly api: WinApi | (() => WinApi);
  /** Diagnostics. @default {nullLogger} */
  readonly logger?: Logger;
  /** Log every job handle examined (at debug). */
  readonly verbose?: boolean;
  /** Overrides of the default bounds. */
  readonly limits?: Partial<JobLocatorLimits>;
}

const GROWTH_SLACK = 64 * 1024;
const ABORT_CHECK_EVERY = 256;

/**
 * Finds the container ID of a Windows process from the job objects held by `vmcompute.exe`.
 *
 * @example With the real Windows API (only on Windows)
 * ```ts ignore
 * import { JobContainerLocator } from "./job_locator.ts";
 * import { createFfiWinApi } from "./winapi_ffi.ts";
 * const locator = new JobContainerLocator({ api: createFfiWinApi });
 * const { containerId } = await locator.locate(1234);
 * ```
 */
export class JobContainerLocator implements ContainerLocator {
  readonly #apiSource: WinApi | (() => WinApi);
  #api: WinApi | undefined;
  readonly #logger: Logger;
  readonly #verbose: boolean;
  readonly #limits: JobLocatorLimits;
  #warnedNoVmcompute = false;

  /** @param options The API, logger and bounds. */
  constructor(options: JobLocatorOptions) {
    this.#apiSource = options.api;
    this.#logger = options.logger ?? nullLogger;
    this.#verbose = options.verbose ?? false;
    this.#limits = { ...DEFAULT_JOB_LOCATOR_LIMITS, ...options.limits };
  }

  /**
   * Locates `pid`. `podUid` is always `null` on Windows.
   *
   * @param pid The process ID.
   * @param signal Aborts the lookup (checked between handles).
   * @returns `containerId` is the ID from the `\Container_<id>` job, or `null` when the process is in no
   *   container job; `startTime` is the creation time of the process (`GetProcessTimes`), read from the
   *   handle the whole lookup runs on.
   * @throws {AttestorError} `bad-request` for a bad PID, `process-gone` when the process does not exist,
   *   `os-denied` when Windows refuses a call (named in the message), `multiple-jobs` for more than one
   *   container job, `malformed-input` for a handle or job name not as expected, `os-failed` for any other
   *   failure, `platform-unavailable` when the Windows API cannot be loaded, `cancelled` or
   *   `deadline-exceeded` when `signal` aborts. Every message starts with `failed to get container ID: `.
   */
  async locate(pid: number, signal?: AbortSignal): Promise<ContainerLocation> {
    const { containerId, created } = await this.#find(pid, signal);
    return { podUid: null, containerId, startTime: created.toString() };
  }

  #getApi(): WinApi {
    if (!this.#api) {
      const source = this.#apiSource;
      try {
        this.#api = typeof source === "function" ? source() : source;
      } catch (err) {
        throw fail("platform-unavailable", `the Windows API is unavailable: ${errorMessage(err)}`, err);
      }
    }
    return this.#api;
  }

  async #find(pid: number, signal?: AbortSignal): Promise<{ containerId: string | null; created: bigint }> {
    if (!Number.isSafeInteger(pid) || pid <= 0 || pid > 0xFFFF_FFFF) {
      throw fail("bad-request", `invalid value for PID: ${pid}`);
    }
    checkAbort(signal, pid);
    const api = this.#getApi();
    const log = this.#logger.with({ pid });
    const vmcompute = this.#findVmcomputePids(api);
    const workload = openWorkload(api, pid, PROCESS_QUERY_LIMITED_INFORMATION);
    const toClose: Handle[] = [workload];
    try {
      // The whole lookup runs on this handle, which keeps the PID from being reused until it is closed, so
      // its creation time identifies the process the answer is about.
      const created = call("failed to get process times", () => api.processCreationTime(workload));
      if (vmcompute.size === 0) {
        if (!this.#warnedNoVmcompute) {
          this.#warnedNoVmcompute = true;
          this.#logger.warn("no vmcompute.exe process found; no process is in a container");
        }
        return { containerId: null, created };
      }
      const jobs = this.#vmcomputeJobHandles(api, vmcompute, toClose);
      if (this.#verbose) {
        log.debug("vmcompute job handles", { vmcompute: [...vmcompute].join(","), jobs: jobs.length });
      }
      const owners = new Map<number, Handle | null>();
      let workloadForJobs = workload;
      let widened = false;
      const names: string[] = [];
      for (let i = 0; i < jobs.length; i++) {
        if (i % ABORT_CHECK_EVERY === 0) {
          // Let other calls (the agent's health check, other Attests) run between chunks of FFI work, and
          // give a cancellation a chance to arrive.
          if (i > 0) await new Promise((resolve) => setTimeout(resolve, 0));
          checkAbort(signal, pid);
        }
        const entry = jobs[i];
        const owner = openOwner(api, entry.ownerPid, owners, toClose, log);
        if (owner === null) continue;
        const dup = duplicateJob(api, owner, entry, log);
        if (dup === null) continue;
        try {
          const type = call("failed to get object type", () => api.objectTypeName(dup));
          if (type !== "Job") {
            throw fail(
              "malformed-input",
              `handle ${entry.handle} of vmcompute.exe (pid ${entry.ownerPid}) has the Job type index ` +
                `${entry.objectTypeIndex} but its type is ${JSON.stringify(type)}`,
            );
          }
          let inJob: boolean;
          try {
            inJob = api.isProcessInJob(workloadForJobs, dup);
          } catch (err) {
            if (!(err instanceof WinApiError) || !err.accessDenied || widened) {
              throw wrap("failed to call IsProcessInJob", err);
            }
            // Wine (not Windows) requires PROCESS_QUERY_INFORMATION here; ask for it once, then retry.
            widened = true;
            log.debug("IsProcessInJob was denied; reopening the process with PROCESS_QUERY_INFORMATION");
            workloadForJobs = openWorkload(
              api,
              pid,
              PROCESS_QUERY_INFORMATION,
              "failed to call IsProcessInJob",
            );
            toClose.push(workloadForJobs);
            inJob = call("failed to call IsProcessInJob", () => api.isProcessInJob(workloadForJobs, dup));
          }
          if (!inJob) continue;
          const name = call("failed to get object name", () => api.objectName(dup));
          if (this.#verbose) log.debug("process is in a job", { job: name });
          if (!name.startsWith(CONTAINER_JOB_PREFIX)) continue;
          if (!names.includes(name)) names.push(name);
        } finally {
          closeQuietly(api, dup, log);
        }
      }
      return { containerId: decide(names), created };
    } finally {
      for (const h of toClose) closeQuietly(api, h, log);
    }
  }

  #findVmcomputePids(api: WinApi): Set<number> {
    const prefix = "failed to search vmcompute process";
    const snapshot = call(prefix, () => api.createProcessSnapshot());
    const pids = new Set<number>();
    try {
      let entry = call(prefix, () => api.firstProcess(snapshot));
      let seen = 0;
      while (entry !== null) {
        if (++seen > this.#limits.maxProcesses) {
          throw fail(
            "os-failed",
            `${prefix}: more than ${this.#limits.maxProcesses} processes in the snapshot`,
          );
        }
        if (entry.exeFile === VMCOMPUTE_EXE) pids.add(entry.pid);
        entry = call(prefix, () => api.nextProcess(snapshot));
      }
    } finally {
      closeQuietly(api, snapshot, this.#logger);
    }
    return pids;
  }

  /**
   * Reads the handle table once and returns the job handles owned by vmcompute. Which `ObjectTypeIndex`
   * means "Job" is learned from a job object of our own created just before the query.
   */
  #vmcomputeJobHandles(api: WinApi, vmcompute: ReadonlySet<number>, toClose: Handle[]): HandleEntry[] {
    const prefix = "failed to find the Job object type";
    const self = call(prefix, () => api.currentProcessId());
    const probe = call(prefix, () => api.createJobObject());
    toClose.push(probe);
    const entries = this.#queryHandles(api, (owner) => owner === self || vmcompute.has(owner));
    const isProbe = (e: HandleEntry) => e.ownerPid === self && e.handle === probe;
    const own = entries.find(isProbe);
    if (!own) {
      throw fail("os-failed", `${prefix}: handle ${probe} of this process is not in the handle table`);
    }
    return entries.filter((e) =>
      vmcompute.has(e.ownerPid) && e.objectTypeIndex === own.objectTypeIndex && !isProbe(e)
    );
  }

  #queryHandles(api: WinApi, keepOwner: (pid: number) => boolean): readonly HandleEntry[] {
    const prefix = "failed to query for extended handle information";
    const { initialHandleBuffer, maxHandleBuffer, maxHandleQueries } = this.#limits;
    let size = Math.min(initialHandleBuffer, maxHandleBuffer);
    for (let attempt = 1; attempt <= maxHandleQueries; attempt++) {
      const result = call(prefix, () => api.queryHandleTable(size, keepOwner));
      if (result.ok) return result.entries;
      if (size >= maxHandleBuffer) {
        throw fail("os-failed", `${prefix}: the handle table does not fit in ${maxHandleBuffer} bytes`);
      }
      size = Math.min(maxHandleBuffer, Math.max(result.returnLength + GROWTH_SLACK, size * 2));
    }
    throw fail("os-failed", `${prefix}: the handle table kept growing over ${maxHandleQueries} attempts`);
  }
}

function decide(names: readonly string[]): string | null {
  if (names.length === 0) return null;
  if (names.length > 1) throw fail("multiple-jobs", `process has multiple jobs: [${names.join(" ")}]`);
  const id = names[0].slice(CONTAINER_JOB_PREFIX.length);
  if (id === "") throw fail("malformed-input", `job ${JSON.stringify(names[0])} has an empty container ID`);
  return id;
}

function openWorkload(
  api: WinApi,
  pid: number,
  access: number,
  prefix = "failed to open child process",
): Handle {
  try {
    return api.openProcess(access, pid);
  } catch (err) {
    if (err instanceof WinApiError && err.isWin32(Win32Error.INVALID_PARAMETER)) {
      throw fail("process-gone", `${prefix}: process ${pid} does not exist (${err.message})`, err);
    }
    throw wrap(prefix, err);
  }
}

/** Opens (once per lookup) a vmcompute process for handle duplication; `null` when it has exited. */
function openOwner(
  api: WinApi,
  ownerPid: number,
  owners: Map<number, Handle | null>,
  toClose: Handle[],
  log: Logger,
): Handle | null {
  const cached = owners.get(ownerPid);
  if (cached !== undefined) return cached;
  let handle: Handle | null;
  try {
    handle = api.openProcess(PROCESS_DUP_HANDLE, ownerPid);
    toClose.push(handle);
  } catch (err) {
    if (err instanceof WinApiError && err.isWin32(Win32Error.INVALID_PARAMETER)) {
      log.debug("vmcompute.exe exited during the lookup", { owner: ownerPid });
      handle = null;
    } else {
      throw wrap(`failed to open unique process ${ownerPid} (${VMCOMPUTE_EXE})`, err);
    }
  }
  owners.set(ownerPid, handle);
  return handle;
}

/** Duplicates a vmcompute job handle into this process; `null` when the handle went away meanwhile. */
function duplicateJob(api: WinApi, owner: Handle, entry: HandleEntry, log: Logger): Handle | null {
  try {
    return api.duplicateHandle(owner, entry.handle, api.currentProcess());
  } catch (err) {
    if (
      err instanceof WinApiError &&
      (err.isWin32(Win32Error.INVALID_HANDLE) || err.isWin32(Win32Error.NOT_SUPPORTED))
    ) {
      log.debug("skipping a vmcompute handle that cannot be duplicated", {
        owner: entry.ownerPid,
        handle: entry.handle.toString(),
        error: err.message,
      });
      return null;
    }
    throw wrap(`failed to duplicate handle ${entry.handle} of process ${entry.ownerPid}`, err);
  }
}

function closeQuietly(api: WinApi, handle: Handle, log: Logger): void {
  try {
    api.closeHandle(handle);
  } catch (err) {
    log.debug("failed to close a handle", { handle: handle.toString(), error: errorMessage(err) });
  }
}

function call<T>(prefix: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw wrap(prefix, err);
  }
}

function wrap(prefix: string, err: unknown): AttestorError {
  if (err instanceof AttestorError) return err;
  const reason: ErrorReason = err instanceof WinApiError && err.accessDenied ? "os-denied" : "os-failed";
  return fail(reason, `${prefix}: ${errorMessage(err)}`, err);
}

function fail(reason: ErrorReason, message: string, cause?: unknown): AttestorError {
  return new AttestorError(
    reason,
    `failed to get container ID: ${message}`,
    cause === undefined ? undefined : { cause },
  );
}

function checkAbort(signal: AbortSignal | undefined, pid: number): void {
  if (!signal?.aborted) return;
  const timedOut = isTimeoutReason(signal.reason);
  throw fail(timedOut ? "deadline-exceeded" : "cancelled", `the lookup of process ${pid} was cancelled`);
}
