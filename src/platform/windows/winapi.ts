/**
 * The thin Windows "verbs" the job-object lookup needs, as plain TypeScript: handles are opaque `bigint`s
 * and failures are {@linkcode WinApiError}s carrying the call name and the Win32 error or NTSTATUS. The
 * algorithm (`job_locator.ts`) only sees this interface; the real implementation is `winapi_ffi.ts`, tests
 * use a fake.
 *
 * @module
 */

import type { HandleEntry, ProcessEntry } from "./structs.ts";
import { NtStatus, Win32Error } from "./structs.ts";

/** A Windows handle value (an opaque integer; `0n` is never a valid handle). */
export type Handle = bigint;

/** The result of one `NtQuerySystemInformation(SystemExtendedHandleInformation)` attempt. */
export type HandleTableResult =
  | {
    /** The table fitted: its entries (filtered by owner when asked). */
    readonly ok: true;
    /** The entries. */
    readonly entries: readonly HandleEntry[];
  }
  | {
    /** The buffer was too small (INFO_LENGTH_MISMATCH, BUFFER_TOO_SMALL or BUFFER_OVERFLOW). */
    readonly ok: false;
    /** The status that asked for a bigger buffer. */
    readonly status: number;
    /** The size the system reported it needs (may be stale by the next call, or 0). */
    readonly returnLength: number;
  };

/** The Windows calls used by the lookup. Every method throws {@linkcode WinApiError} on failure. */
export interface WinApi {
  /** `GetCurrentProcess()`: the pseudo-handle of this process (never closed). */
  currentProcess(): Handle;
  /** `GetCurrentProcessId()`. */
  currentProcessId(): number;
  /**
   * `CreateJobObjectW(NULL, NULL)`: a new unnamed job object owned by this process; the caller closes it.
   * The lookup uses it to learn which `ObjectTypeIndex` means "Job" on this boot.
   */
  createJobObject(): Handle;
  /** `CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0)`; the caller closes the handle. */
  createProcessSnapshot(): Handle;
  /** `Process32FirstW`; `null` when the snapshot is empty (ERROR_NO_MORE_FILES). */
  firstProcess(snapshot: Handle): ProcessEntry | null;
  /** `Process32NextW`; `null` at the end of the list (ERROR_NO_MORE_FILES, or a cleared last-error). */
  nextProcess(snapshot: Handle): ProcessEntry | null;
  /** `OpenProcess(access, FALSE, pid)`; the caller closes the handle. */
  openProcess(access: number, pid: number): Handle;
  /** `CloseHandle`. */
  closeHandle(handle: Handle): void;
  /**
   * `NtQuerySystemInformation(SystemExtendedHandleInformation)` into a buffer of `bufferSize` bytes.
   *
   * @param bufferSize The buffer to offer, in bytes.
   * @param keepOwner Only entries whose owner PID passes are returned (saves decoding the whole table).
   */
  queryHandleTable(bufferSize: number, keepOwner?: (pid: number) => boolean): HandleTableResult;
  /** `DuplicateHandle(source, handle, target, &dup, 0, FALSE, DUPLICATE_SAME_ACCESS)`; caller closes. */
  duplicateHandle(sourceProcess: Handle, handle: Handle, targetProcess: Handle): Handle;
  /** `NtQueryObject(handle, ObjectTypeInformation)`: the type name, e.g. `Job`. */
  objectTypeName(handle: Handle): string;
  /** `NtQueryObject(handle, ObjectNameInformation)`: the object name, `""` when unnamed. */
  objectName(handle: Handle): string;
  /** `IsProcessInJob(process, job)`. */
  isProcessInJob(process: Handle, job: Handle): boolean;
  /**
   * `GetProcessTimes(process, …)`: the creation time, in 100 ns units since 1601-01-01 UTC (a `FILETIME`).
   * Needs `PROCESS_QUERY_LIMITED_INFORMATION`. It identifies the process instance: a process that later gets
   * the same PID has another creation time.
   */
  processCreationTime(process: Handle): bigint;
}

const WIN32_TEXT: Record<number, string> = {
  [Win32Error.FILE_NOT_FOUND]: "The system cannot find the file specified.",
  [Win32Error.ACCESS_DENIED]: "Access is denied.",
  [Win32Error.INVALID_HANDLE]: "The handle is invalid.",
  [Win32Error.NO_MORE_FILES]: "There are no more files.",
  [Win32Error.NOT_SUPPORTED]: "The request is not supported.",
  [Win32Error.INVALID_PARAMETER]: "The parameter is incorrect.",
  8: "Not enough memory resources are available to process this command.",
  24: "The program issued a command but the command length is incorrect.",
  1450: "Insufficient system resources exist to complete the requested service.",
};

const NTSTATUS_TEXT: Record<number, string> = {
  [NtStatus.BUFFER_OVERFLOW]: "STATUS_BUFFER_OVERFLOW",
  [NtStatus.INFO_LENGTH_MISMATCH]: "STATUS_INFO_LENGTH_MISMATCH",
  [NtStatus.INVALID_HANDLE]: "STATUS_INVALID_HANDLE",
  [NtStatus.ACCESS_DENIED]: "STATUS_ACCESS_DENIED",
  [NtStatus.BUFFER_TOO_SMALL]: "STATUS_BUFFER_TOO_SMALL",
  [NtStatus.INSUFFICIENT_RESOURCES]: "STATUS_INSUFFICIENT_RESOURCES",
  0xC0000002: "STATUS_NOT_IMPLEMENTED",
  0xC0000003: "STATUS_INVALID_INFO_CLASS",
  0xC000000D: "STATUS_INVALID_PARAMETER",
};

/**
 * Renders a Win32 error code as text, e.g. `Access is denied. (Win32 error 5)`.
 *
 * @param code The Win32 error code.
 * @returns Readable text that always includes the number.
 */
export function win32ErrorText(code: number): string {
  const text = WIN32_TEXT[code];
  return text ? `${text} (Win32 error ${code})` : `Win32 error ${code}`;
}

/**
 * Renders an NTSTATUS as text, e.g. `STATUS_ACCESS_DENIED (NTSTATUS 0xC0000022)`.
 *
 * @param status The status (signed or unsigned).
 * @returns Readable text that always includes the hex value.
 */
export function ntStatusText(status: number): string {
  const s = status >>> 0;
  const hex = `NTSTATUS 0x${s.toString(16).toUpperCase().padStart(8, "0")}`;
  const name = NTSTATUS_TEXT[s];
  return name ? `${name} (${hex})` : hex;
}

/**
 * A failed Windows call. `message` is `<call>: <text>`, e.g. `OpenProcess: Access is denied. (Win32 error 5)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { WinApiError } from "./winapi.ts";
 * const e = WinApiError.win32("OpenProcess", 5);
 * assert.ok(e.accessDenied);
 * assert.equal(e.message, "OpenProcess: Access is denied. (Win32 error 5)");
 * ```
 */
export class WinApiError extends Error {
  /** The Windows function that failed. */
  readonly call: string;
  /** Whether `code` is a Win32 error (`GetLastError`) or an NTSTATUS. */
  readonly kind: "win32" | "ntstatus";
  /** The Win32 error code, or the NTSTATUS as an unsigned number. */
  readonly code: number;

  /**
   * @param call The Windows function that failed.
   * @param kind The kind of `code`.
   * @param code The error code or status.
   */
  constructor(call: string, kind: "win32" | "ntstatus", code: number) {
    const c = kind === "ntstatus" ? code >>> 0 : code;
    super(`${call}: ${kind === "win32" ? win32ErrorText(c) : ntStatusText(c)}`);
    this.name = "WinApiError";
    this.call = call;
    this.kind = kind;
    this.code = c;
  }

  /** A Win32 failure of `call` with `GetLastError()` value `code`. */
  static win32(call: string, code: number): WinApiError {
    return new WinApiError(call, "win32", code);
  }

  /** An NT failure of `call` with status `status`. */
  static ntstatus(call: string, status: number): WinApiError {
    return new WinApiError(call, "ntstatus", status);
  }

  /** `true` for ERROR_ACCESS_DENIED and STATUS_ACCESS_DENIED. */
  get accessDenied(): boolean {
    return this.kind === "win32"
      ? this.code === Win32Error.ACCESS_DENIED
      : this.code === NtStatus.ACCESS_DENIED;
  }

  /** `true` when this is the Win32 error `code`. */
  isWin32(code: number): boolean {
    return this.kind === "win32" && this.code === code;
  }
}
