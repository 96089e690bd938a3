/**
 * Windows x64 constants, struct layouts and pure decoders for the job-object lookup. Everything that knows
 * a byte offset lives here, so the layouts are checked on Linux against hand-built buffers
 * (`tests/windows/structs_test.ts`) and under Wine against the real ntdll (`tests/wine/`). No `Deno.*`
 * calls.
 *
 * @module
 */

/** `CreateToolhelp32Snapshot` flag: include all processes. */
export const TH32CS_SNAPPROCESS = 0x2;
/** `OpenProcess` right needed by `IsProcessInJob` on Windows. */
export const PROCESS_QUERY_LIMITED_INFORMATION = 0x1000;
/** The broader query right; Wine 8 requires it for `IsProcessInJob` (Windows does not). */
export const PROCESS_QUERY_INFORMATION = 0x400;
/** `OpenProcess` right needed to duplicate another process's handles. */
export const PROCESS_DUP_HANDLE = 0x40;
/** `DuplicateHandle` option: the copy gets the access of the source handle. */
export const DUPLICATE_SAME_ACCESS = 0x2;
/** `NtQuerySystemInformation` class `SystemExtendedHandleInformation`. */
export const SYSTEM_EXTENDED_HANDLE_INFORMATION = 64;
/** `NtQueryObject` class `ObjectNameInformation`. */
export const OBJECT_NAME_INFORMATION = 1;
/** `NtQueryObject` class `ObjectTypeInformation`. */
export const OBJECT_TYPE_INFORMATION = 2;

/** Win32 error codes the lookup distinguishes. */
export const Win32Error = {
  FILE_NOT_FOUND: 2,
  ACCESS_DENIED: 5,
  INVALID_HANDLE: 6,
  NO_MORE_FILES: 18,
  NOT_SUPPORTED: 50,
  INVALID_PARAMETER: 87,
} as const;

/** NTSTATUS values the lookup distinguishes (as unsigned 32-bit numbers). */
export const NtStatus = {
  SUCCESS: 0x00000000,
  BUFFER_OVERFLOW: 0x80000005,
  INFO_LENGTH_MISMATCH: 0xC0000004,
  INVALID_HANDLE: 0xC0000008,
  ACCESS_DENIED: 0xC0000022,
  BUFFER_TOO_SMALL: 0xC0000023,
  INSUFFICIENT_RESOURCES: 0xC000009A,
} as const;

/**
 * Tells whether an NTSTATUS has error severity (top two bits `11`). Success, informational and warning
 * statuses are not errors.
 *
 * @param status The status as returned by the FFI call (signed or unsigned).
 * @returns `true` for an error status.
 */
export function isNtError(status: number): boolean {
  return (status >>> 0) >= 0xC0000000;
}

/**
 * Tells whether an NTSTATUS asks the caller to retry with a bigger buffer.
 *
 * @param status The status (signed or unsigned).
 * @returns `true` for INFO_LENGTH_MISMATCH, BUFFER_TOO_SMALL and BUFFER_OVERFLOW.
 */
export function isBufferTooSmall(status: number): boolean {
  const s = status >>> 0;
  return s === NtStatus.INFO_LENGTH_MISMATCH || s === NtStatus.BUFFER_TOO_SMALL ||
    s === NtStatus.BUFFER_OVERFLOW;
}

/** `sizeof(PROCESSENTRY32W)` on x64; also the value `dwSize` must hold before `Process32FirstW`. */
export const PROCESSENTRY32W_SIZE = 568;
const PE_PID = 8;
const PE_PARENT_PID = 32;
const PE_EXE_FILE = 44;
const PE_EXE_FILE_UNITS = 260;

/** One process of a Toolhelp snapshot. */
export interface ProcessEntry {
  /** `th32ProcessID`. */
  readonly pid: number;
  /** `th32ParentProcessID`. */
  readonly parentPid: number;
  /** `szExeFile`: the executable's file name, e.g. `vmcompute.exe`. */
  readonly exeFile: string;
}

/**
 * Prepares a `PROCESSENTRY32W` buffer for `Process32FirstW`/`Process32NextW`: sets `dwSize`.
 *
 * @param bytes At least {@linkcode PROCESSENTRY32W_SIZE} bytes.
 */
export function initProcessEntryW(bytes: Uint8Array): void {
  if (bytes.byteLength < PROCESSENTRY32W_SIZE) throw new RangeError("PROCESSENTRY32W buffer too small");
  bytes.fill(0, 0, PROCESSENTRY32W_SIZE);
  view(bytes).setUint32(0, PROCESSENTRY32W_SIZE, true);
}

/**
 * Decodes a filled `PROCESSENTRY32W`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeProcessEntryW, initProcessEntryW, PROCESSENTRY32W_SIZE } from "./structs.ts";
 * const buf = new Uint8Array(PROCESSENTRY32W_SIZE);
 * initProcessEntryW(buf);
 * new DataView(buf.buffer).setUint32(8, 42, true);
 * assert.equal(decodeProcessEntryW(buf).pid, 42);
 * ```
 *
 * @param bytes The struct bytes.
 * @returns The PID, parent PID and executable name (up to the first NUL).
 */
export function decodeProcessEntryW(bytes: Uint8Array): ProcessEntry {
  if (bytes.byteLength < PROCESSENTRY32W_SIZE) throw new RangeError("PROCESSENTRY32W buffer too small");
  const v = view(bytes);
  return {
    pid: v.getUint32(PE_PID, true),
    parentPid: v.getUint32(PE_PARENT_PID, true),
    exeFile: decodeUtf16leZ(bytes.subarray(PE_EXE_FILE, PE_EXE_FILE + PE_EXE_FILE_UNITS * 2)),
  };
}

/** Size of the `SYSTEM_HANDLE_INFORMATION_EX` header (`NumberOfHandles` and `Reserved`, 8 bytes each). */
export const HANDLE_TABLE_HEADER_SIZE = 16;
/** Size of one `SYSTEM_HANDLE_TABLE_ENTRY_INFO_EX` on x64. */
export const HANDLE_TABLE_ENTRY_SIZE = 40;

/** One entry of the system handle table. */
export interface HandleEntry {
  /** `UniqueProcessId`: the process that owns the handle. */
  readonly ownerPid: number;
  /** `HandleValue`: the handle, valid only inside the owner process. */
  readonly handle: bigint;
  /** `GrantedAccess`. */
  readonly grantedAccess: number;
  /** `ObjectTypeIndex` (boot-specific; Wine uses its own numbering). */
  readonly objectTypeIndex: number;
}

/**
 * Decodes a `SYSTEM_HANDLE_INFORMATION_EX` (class 64) result. The entry count is checked against the bytes
 * actually available; a count that does not fit is an error rather than an over-read.
 *
 * @param bytes The output buffer of `NtQuerySystemInformation`.
 * @param returnLength The length the call reported; entries must fit in `min(returnLength, buffer)`.
 * @param keepOwner Optional filter on `UniqueProcessId`; entries it rejects are not materialised.
 * @returns The entries in table order.
 * @throws {RangeError} When the header is missing or the count exceeds the data.
 */
export function decodeHandleTableEx(
  bytes: Uint8Array,
  returnLength: number,
  keepOwner?: (pid: number) => boolean,
): HandleEntry[] {
  const available = Math.min(bytes.byteLength, returnLength);
  if (available < HANDLE_TABLE_HEADER_SIZE) {
    throw new RangeError(
      `handle table is ${available} bytes, shorter than its ${HANDLE_TABLE_HEADER_SIZE}-byte header`,
    );
  }
  const v = view(bytes);
  const count = v.getBigUint64(0, true);
  const capacity = BigInt(Math.floor((available - HANDLE_TABLE_HEADER_SIZE) / HANDLE_TABLE_ENTRY_SIZE));
  if (count > capacity) {
    throw new RangeError(
      `handle table claims ${count} entries but only ${capacity} fit in ${available} bytes`,
    );
  }
  const out: HandleEntry[] = [];
  const n = Number(count);
  for (let i = 0; i < n; i++) {
    const at = HANDLE_TABLE_HEADER_SIZE + i * HANDLE_TABLE_ENTRY_SIZE;
    const owner = v.getBigUint64(at + 8, true);
    if (owner > 0xFFFF_FFFFn) continue; // not a valid PID; cannot be a vmcompute process
    const ownerPid = Number(owner);
    if (keepOwner && !keepOwner(ownerPid)) continue;
    out.push({
      ownerPid,
      handle: v.getBigUint64(at + 16, true),
      grantedAccess: v.getUint32(at + 24, true),
      objectTypeIndex: v.getUint16(at + 30, true),
    });
  }
  return out;
}

/** Size of a `FILETIME` (`dwLowDateTime`, `dwHighDateTime`: two little-endian 32-bit halves). */
export const FILETIME_SIZE = 8;

/**
 * Decodes a `FILETIME`: 100 ns intervals since 1601-01-01 UTC, low half first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeFiletime } from "./structs.ts";
 * const bytes = new Uint8Array([0x00, 0x80, 0x3e, 0xd5, 0xde, 0xb1, 0x9d, 0x01]); // 1970-01-01
 * assert.equal(decodeFiletime(bytes), 116444736000000000n);
 * ```
 *
 * @param bytes At least {@linkcode FILETIME_SIZE} bytes.
 * @returns The time as an unsigned 64-bit integer.
 */
export function decodeFiletime(bytes: Uint8Array): bigint {
  if (bytes.byteLength < FILETIME_SIZE) throw new RangeError("FILETIME buffer too small");
  const v = view(bytes);
  return (BigInt(v.getUint32(4, true)) << 32n) | BigInt(v.getUint32(0, true));
}

/** Size of a `UNICODE_STRING` on x64 (`Length`, `MaximumLength`, padding, `Buffer`). */
export const UNICODE_STRING_SIZE = 16;

/**
 * Decodes the `UNICODE_STRING` at `offset` of an `NtQueryObject` output buffer. Its `Buffer` pointer must
 * point inside the same output buffer (which starts at address `base`); the characters are read from the
 * bytes we own, never through the pointer. Exactly `Length / 2` code units are read.
 *
 * @param bytes The output buffer.
 * @param base The address of `bytes[0]` in this process.
 * @param offset Where the `UNICODE_STRING` sits (0 for both object classes).
 * @returns The string; `""` for an empty or unnamed (`Length` 0) string.
 * @throws {RangeError} When the pointer or length lies outside the buffer or the length is odd.
 */
export function decodeUnicodeStringAt(bytes: Uint8Array, base: bigint, offset = 0): string {
  if (offset < 0 || offset + UNICODE_STRING_SIZE > bytes.byteLength) {
    throw new RangeError("UNICODE_STRING header lies outside the buffer");
  }
  const v = view(bytes);
  const length = v.getUint16(offset, true);
  const pointer = v.getBigUint64(offset + 8, true);
  if (length === 0) return "";
  if (length % 2 !== 0) throw new RangeError(`UNICODE_STRING length ${length} is odd`);
  const start = pointer - base;
  if (pointer === 0n || start < 0n || start + BigInt(length) > BigInt(bytes.byteLength)) {
    throw new RangeError("UNICODE_STRING buffer points outside the output buffer");
  }
  const s = Number(start);
  return utf16Decoder.decode(bytes.subarray(s, s + length));
}

const utf16Decoder = new TextDecoder("utf-16le", { fatal: false });

/**
 * Decodes UTF-16LE up to the first NUL code unit (or the end of `bytes`).
 *
 * @param bytes UTF-16LE bytes.
 * @returns The decoded string.
 */
export function decodeUtf16leZ(bytes: Uint8Array): string {
  const units = Math.floor(bytes.byteLength / 2);
  let end = 0;
  while (end < units && (bytes[end * 2] !== 0 || bytes[end * 2 + 1] !== 0)) end++;
  return utf16Decoder.decode(bytes.subarray(0, end * 2));
}

/**
 * Encodes a string as UTF-16LE (no terminator), e.g. to build a `UNICODE_STRING`.
 *
 * @param text The string.
 * @returns Its UTF-16LE bytes.
 */
export function encodeUtf16le(text: string): Uint8Array {
  const out = new Uint8Array(text.length * 2);
  const v = view(out);
  for (let i = 0; i < text.length; i++) v.setUint16(i * 2, text.charCodeAt(i), true);
  return out;
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
