/**
 * A table-driven fake of the Windows calls used by the job-object lookup. It models processes, kernel
 * objects (jobs with members, files, …), a system handle table, per-process access rules and injectable
 * failures per call, and it counts every handle it hands out so tests can assert that none leak.
 *
 * @module
 */

import type { HandleEntry, ProcessEntry } from "../../src/platform/windows/structs.ts";
import {
  NtStatus,
  PROCESS_DUP_HANDLE,
  PROCESS_QUERY_INFORMATION,
  PROCESS_QUERY_LIMITED_INFORMATION,
  Win32Error,
} from "../../src/platform/windows/structs.ts";
import type { Handle, HandleTableResult, WinApi } from "../../src/platform/windows/winapi.ts";
import { WinApiError } from "../../src/platform/windows/winapi.ts";

/** The verbs of {@linkcode WinApi}, for failure injection and call counting. */
export type Verb = Exclude<keyof WinApi, never>;

/** A kernel object. */
export interface FakeObject {
  /** Type name as `NtQueryObject(ObjectTypeInformation)` reports it. */
  type: string;
  /** Object name (`""` = unnamed). */
  name: string;
  /** For jobs: the PIDs in the job. */
  members?: number[];
  /** Set to make `ObjectTypeIndex` lie (entry says one type, `NtQueryObject` another). */
  typeIndexOverride?: number;
}

/** A handle held by some other process (e.g. vmcompute). */
export interface ForeignHandle {
  /** Owner PID. */
  owner: number;
  /** Handle value inside the owner. */
  handle: bigint;
  /** Key into {@linkcode FakeWindowsOptions.objects}. */
  object: string;
}

/** Setup of a {@linkcode FakeWindows}. */
export interface FakeWindowsOptions {
  /**
   * Processes in the snapshot, in order. `created` is the creation time `GetProcessTimes` reports
   * (default: {@linkcode defaultCreationTime} of the PID); give a PID a new `created` to model PID reuse.
   */
  processes: FakeProcess[];
  /** Kernel objects by key. */
  objects?: Record<string, FakeObject>;
  /** Handles held by other processes. */
  handles?: ForeignHandle[];
  /** Handle entries of other types appended to the table (cheap way to make it huge). */
  fillerEntries?: number;
  /** PIDs whose `OpenProcess` fails with ACCESS_DENIED, per access mask (or any access with `"*"`). */
  denyOpen?: Array<{ pid: number; access: number | "*" }>;
  /** Model Wine 8: `IsProcessInJob` needs PROCESS_QUERY_INFORMATION, not only the limited right. */
  wineIsProcessInJob?: boolean;
  /** Entries added to the table after each query (models a table that grows between calls). */
  growPerQuery?: number;
  /** The PID of "this" process. @default {7000} */
  selfPid?: number;
}

/** A process of the fake. */
export interface FakeProcess {
  /** The PID. */
  pid: number;
  /** The executable name. */
  exe: string;
  /** The creation time (FILETIME units). @default {defaultCreationTime(pid)} */
  created?: bigint;
}

/** The creation time of a fake process that sets none: a fixed instant plus its PID. */
export function defaultCreationTime(pid: number): bigint {
  return 133_700_000_000_000_000n + BigInt(pid);
}

/** A failure rule: return an error to make the call fail, or `undefined` to let it run. */
export type FailRule = (...args: unknown[]) => WinApiError | Error | undefined;

const TYPE_INDEX: Record<string, number> = { Process: 7, Job: 6, File: 37, Event: 16, Key: 44, Snapshot: 40 };
const PSEUDO_CURRENT_PROCESS = 0xFFFF_FFFF_FFFF_FFFFn;

type Open =
  | { kind: "snapshot"; cursor: number }
  | { kind: "process"; pid: number; access: number; created: bigint }
  | { kind: "object"; key: string };

/** The fake. Every call is counted in {@linkcode FakeWindows.calls}. */
export class FakeWindows implements WinApi {
  readonly selfPid: number;
  readonly processes: FakeProcess[];
  readonly objects: Record<string, FakeObject>;
  readonly handles: ForeignHandle[];
  /** Failure rules per verb; set them directly in a test. */
  readonly fail: Partial<Record<Verb, FailRule>> = {};
  /** Number of calls per verb. */
  readonly calls: Record<string, number> = {};
  /** Buffer sizes passed to `queryHandleTable`, in order. */
  readonly querySizes: number[] = [];
  /** Closes of handles that were not open (double close or garbage). */
  badCloses = 0;
  #open = new Map<bigint, Open>();
  #next = 0x1000n;
  #filler: number;
  #options: FakeWindowsOptions;
  #anon = 0;

  constructor(options: FakeWindowsOptions) {
    this.#options = options;
    this.selfPid = options.selfPid ?? 7000;
    this.processes = options.processes;
    this.objects = { ...options.objects };
    this.handles = [...(options.handles ?? [])];
    this.#filler = options.fillerEntries ?? 0;
  }

  /** How many handles handed out by the fake are still open. */
  get openHandles(): number {
    return this.#open.size;
  }

  #enter(verb: Verb, ...args: unknown[]): void {
    this.calls[verb] = (this.calls[verb] ?? 0) + 1;
    const err = this.fail[verb]?.(...args);
    if (err) throw err;
  }

  #issue(entry: Open): Handle {
    const h = this.#next;
    this.#next += 4n;
    this.#open.set(h, entry);
    return h;
  }

  #object(handle: Handle, call: string): FakeObject {
    const o = this.#open.get(handle);
    if (!o || o.kind !== "object") throw WinApiError.ntstatus(call, NtStatus.INVALID_HANDLE);
    return this.objects[o.key];
  }

  currentProcess(): Handle {
    this.#enter("currentProcess");
    return PSEUDO_CURRENT_PROCESS;
  }

  currentProcessId(): number {
    this.#enter("currentProcessId");
    return this.selfPid;
  }

  createJobObject(): Handle {
    this.#enter("createJobObject");
    const key = `anon-job-${this.#anon++}`;
    this.objects[key] = { type: "Job", name: "", members: [] };
    return this.#issue({ kind: "object", key });
  }

  createProcessSnapshot(): Handle {
    this.#enter("createProcessSnapshot");
    return this.#issue({ kind: "snapshot", cursor: 0 });
  }

  #entry(snapshot: Handle, call: string, first: boolean): ProcessEntry | null {
    const s = this.#open.get(snapshot);
    if (!s || s.kind !== "snapshot") throw WinApiError.win32(call, Win32Error.INVALID_HANDLE);
    if (first) s.cursor = 0;
    const p = this.processes[s.cursor++];
    return p ? { pid: p.pid, parentPid: 4, exeFile: p.exe } : null;
  }

  firstProcess(snapshot: Handle): ProcessEntry | null {
    this.#enter("firstProcess", snapshot);
    return this.#entry(snapshot, "Process32FirstW", true);
  }

  nextProcess(snapshot: Handle): ProcessEntry | null {
    this.#enter("nextProcess", snapshot);
    return this.#entry(snapshot, "Process32NextW", false);
  }

  openProcess(access: number, pid: number): Handle {
    this.#enter("openProcess", access, pid);
    const process = this.processes.find((p) => p.pid === pid);
    if (!process) {
      throw WinApiError.win32("OpenProcess", Win32Error.INVALID_PARAMETER);
    }
    if (this.#options.denyOpen?.some((d) => d.pid === pid && (d.access === "*" || d.access === access))) {
      throw WinApiError.win32("OpenProcess", Win32Error.ACCESS_DENIED);
    }
    const created = process.created ?? defaultCreationTime(pid);
    return this.#issue({ kind: "process", pid, access, created });
  }

  closeHandle(handle: Handle): void {
    this.#enter("closeHandle", handle);
    if (!this.#open.delete(handle)) {
      this.badCloses++;
      throw WinApiError.win32("CloseHandle", Win32Error.INVALID_HANDLE);
    }
  }

  #table(): HandleEntry[] {
    const rows: HandleEntry[] = [];
    for (const h of this.handles) {
      const o = this.objects[h.object];
      rows.push({
        ownerPid: h.owner,
        handle: h.handle,
        grantedAccess: 0x1F001F,
        objectTypeIndex: o.typeIndexOverride ?? TYPE_INDEX[o.type] ?? 99,
      });
    }
    for (const [h, o] of this.#open) {
      const type = o.kind === "object"
        ? this.objects[o.key].type
        : o.kind === "process"
        ? "Process"
        : "Snapshot";
      rows.push({
        ownerPid: this.selfPid,
        handle: h,
        grantedAccess: 0x1F001F,
        objectTypeIndex: TYPE_INDEX[type],
      });
    }
    return rows;
  }

  queryHandleTable(bufferSize: number, keepOwner?: (pid: number) => boolean): HandleTableResult {
    this.#enter("queryHandleTable", bufferSize);
    this.querySizes.push(bufferSize);
    const rows = this.#table();
    const total = rows.length + this.#filler;
    const needed = 16 + 40 * total;
    this.#filler += this.#options.growPerQuery ?? 0;
    if (bufferSize < needed) {
      return { ok: false, status: NtStatus.INFO_LENGTH_MISMATCH, returnLength: needed };
    }
    const entries: HandleEntry[] = [];
    // Filler entries: File handles spread over the processes (including vmcompute), never Jobs.
    for (let i = 0; i < total - rows.length; i++) {
      const owner = this.processes[i % this.processes.length].pid;
      if (keepOwner && !keepOwner(owner)) continue;
      entries.push({
        ownerPid: owner,
        handle: BigInt(0x10_0000 + i * 4),
        grantedAccess: 1,
        objectTypeIndex: 37,
      });
    }
    for (const r of rows) if (!keepOwner || keepOwner(r.ownerPid)) entries.push(r);
    return { ok: true, entries };
  }

  duplicateHandle(sourceProcess: Handle, handle: Handle, targetProcess: Handle): Handle {
    this.#enter("duplicateHandle", sourceProcess, handle, targetProcess);
    const src = this.#open.get(sourceProcess);
    if (!src || src.kind !== "process") throw WinApiError.win32("DuplicateHandle", Win32Error.INVALID_HANDLE);
    if ((src.access & PROCESS_DUP_HANDLE) === 0) {
      throw WinApiError.win32("DuplicateHandle", Win32Error.ACCESS_DENIED);
    }
    if (targetProcess !== PSEUDO_CURRENT_PROCESS) throw new Error("fake: duplicate only into this process");
    const h = this.handles.find((x) => x.owner === src.pid && x.handle === handle);
    if (!h) throw WinApiError.win32("DuplicateHandle", Win32Error.INVALID_HANDLE);
    return this.#issue({ kind: "object", key: h.object });
  }

  objectTypeName(handle: Handle): string {
    this.#enter("objectTypeName", handle);
    return this.#object(handle, "NtQueryObject(ObjectTypeInformation)").type;
  }

  objectName(handle: Handle): string {
    this.#enter("objectName", handle);
    return this.#object(handle, "NtQueryObject(ObjectNameInformation)").name;
  }

  isProcessInJob(process: Handle, job: Handle): boolean {
    this.#enter("isProcessInJob", process, job);
    const p = this.#open.get(process);
    if (!p || p.kind !== "process") throw WinApiError.win32("IsProcessInJob", Win32Error.INVALID_HANDLE);
    const needed = this.#options.wineIsProcessInJob
      ? PROCESS_QUERY_INFORMATION
      : PROCESS_QUERY_LIMITED_INFORMATION;
    if ((p.access & needed) === 0 && (p.access & PROCESS_QUERY_INFORMATION) === 0) {
      throw WinApiError.win32("IsProcessInJob", Win32Error.ACCESS_DENIED);
    }
    const o = this.#object(job, "IsProcessInJob");
    if (o.type !== "Job") throw WinApiError.win32("IsProcessInJob", Win32Error.INVALID_HANDLE);
    return (o.members ?? []).includes(p.pid);
  }

  /** The creation time of the process the handle was opened on (a handle names one process instance). */
  processCreationTime(process: Handle): bigint {
    this.#enter("processCreationTime", process);
    const p = this.#open.get(process);
    if (!p || p.kind !== "process") throw WinApiError.win32("GetProcessTimes", Win32Error.INVALID_HANDLE);
    if ((p.access & (PROCESS_QUERY_LIMITED_INFORMATION | PROCESS_QUERY_INFORMATION)) === 0) {
      throw WinApiError.win32("GetProcessTimes", Win32Error.ACCESS_DENIED);
    }
    return p.created;
  }
}

/** 64-hex container IDs for tests. */
export const ID_A = "9bca8d63d5fa610783847915bcff0ecac1273e5b4bed3f6fa1b07350e0135961";
/** A second container ID. */
export const ID_B = "1111111111111111111111111111111111111111111111111111111111111111";
