/**
 * The real {@linkcode WinApi}: `kernel32.dll` and `ntdll.dll` through `Deno.dlopen` (x64 only). The
 * libraries are opened on the first call of {@linkcode createFfiWinApi}, never at import time, so this
 * module can be imported (and type-checked) on Linux. Needs `--allow-ffi`.
 *
 * Out-parameters live in one long-lived scratch buffer larger than V8's on-heap typed-array limit, so
 * their addresses do not move while a call runs. Struct offsets are in `structs.ts`.
 *
 * @module
 */

import {
  decodeFiletime,
  decodeHandleTableEx,
  decodeProcessEntryW,
  decodeUnicodeStringAt,
  DUPLICATE_SAME_ACCESS,
  FILETIME_SIZE,
  initProcessEntryW,
  isBufferTooSmall,
  isNtError,
  OBJECT_NAME_INFORMATION,
  OBJECT_TYPE_INFORMATION,
  type ProcessEntry,
  PROCESSENTRY32W_SIZE,
  SYSTEM_EXTENDED_HANDLE_INFORMATION,
  TH32CS_SNAPPROCESS,
  UNICODE_STRING_SIZE,
  Win32Error,
} from "./structs.ts";
import { type Handle, type HandleTableResult, type WinApi, WinApiError } from "./winapi.ts";

const KERNEL32 = {
  CreateToolhelp32Snapshot: { parameters: ["u32", "u32"], result: "pointer" },
  Process32FirstW: { parameters: ["pointer", "buffer"], result: "i32" },
  Process32NextW: { parameters: ["pointer", "buffer"], result: "i32" },
  OpenProcess: { parameters: ["u32", "i32", "u32"], result: "pointer" },
  GetCurrentProcess: { parameters: [], result: "pointer" },
  GetCurrentProcessId: { parameters: [], result: "u32" },
  CreateJobObjectW: { parameters: ["pointer", "pointer"], result: "pointer" },
  DuplicateHandle: {
    parameters: ["pointer", "pointer", "pointer", "buffer", "u32", "i32", "u32"],
    result: "i32",
  },
  IsProcessInJob: { parameters: ["pointer", "pointer", "buffer"], result: "i32" },
  GetProcessTimes: {
    parameters: ["pointer", "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  CloseHandle: { parameters: ["pointer"], result: "i32" },
  GetLastError: { parameters: [], result: "u32" },
} as const;

const NTDLL = {
  NtQuerySystemInformation: { parameters: ["u32", "buffer", "u32", "buffer"], result: "i32" },
  NtQueryObject: { parameters: ["pointer", "u32", "buffer", "u32", "buffer"], result: "i32" },
} as const;

type Kernel32 = Deno.DynamicLibrary<typeof KERNEL32>["symbols"];
type Ntdll = Deno.DynamicLibrary<typeof NTDLL>["symbols"];

const INVALID_HANDLE_VALUE = 0xFFFF_FFFF_FFFF_FFFFn;
/** First buffer for `NtQueryObject`; names are at most 32 KiB characters, so one retry always fits. */
const OBJECT_INFO_BUFFER = 16 * 1024;
const OBJECT_INFO_MAX = 64 * 1024 + 1024;

// Scratch layout: [0, 1024) PROCESSENTRY32W, 1024 out-handle (8), 1032 out-BOOL (4), 1040 ReturnLength (4),
// [1048, 1080) the four FILETIMEs of GetProcessTimes (creation, exit, kernel, user; 8 bytes each).
const SCRATCH_SIZE = 4096;
const OFF_HANDLE = 1024;
const OFF_BOOL = 1032;
const OFF_RETLEN = 1040;
const OFF_TIMES = 1048;

let libraries: { k32: Kernel32; nt: Ntdll } | undefined;

function open(): { k32: Kernel32; nt: Ntdll } {
  if (!libraries) {
    if (Deno.build.os !== "windows") {
      throw new Error(`the Windows API is only available on Windows (this is ${Deno.build.os})`);
    }
    const k32 = Deno.dlopen("kernel32.dll", KERNEL32).symbols;
    const nt = Deno.dlopen("ntdll.dll", NTDLL).symbols;
    libraries = { k32, nt };
  }
  return libraries;
}

function toPointer(handle: Handle): Deno.PointerValue {
  return Deno.UnsafePointer.create(handle);
}

function fromPointer(pointer: Deno.PointerValue): Handle {
  return pointer === null ? 0n : BigInt(Deno.UnsafePointer.value(pointer));
}

/**
 * Opens `kernel32.dll` and `ntdll.dll` (once per process) and returns the real Windows API.
 *
 * @example
 * ```ts ignore
 * import { createFfiWinApi } from "./winapi_ffi.ts";
 * const api = createFfiWinApi();
 * console.log(api.currentProcessId() === Deno.pid);
 * ```
 *
 * @returns The API.
 * @throws {Error} When not running on Windows, or when a library or symbol cannot be loaded.
 */
export function createFfiWinApi(): WinApi {
  const { k32, nt } = open();
  const scratch = new Uint8Array(SCRATCH_SIZE);
  const scratchView = new DataView(scratch.buffer);
  const entryBytes = scratch.subarray(0, PROCESSENTRY32W_SIZE);
  const outHandle = scratch.subarray(OFF_HANDLE, OFF_HANDLE + 8);
  const outBool = scratch.subarray(OFF_BOOL, OFF_BOOL + 4);
  const retLen = scratch.subarray(OFF_RETLEN, OFF_RETLEN + 4);
  const times = [0, 1, 2, 3].map((i) =>
    scratch.subarray(OFF_TIMES + i * FILETIME_SIZE, OFF_TIMES + (i + 1) * FILETIME_SIZE)
  );
  let objectBuffer = new Uint8Array(OBJECT_INFO_BUFFER);

  const lastError = (call: string) => WinApiError.win32(call, k32.GetLastError());

  const processEntry = (
    call: "Process32FirstW" | "Process32NextW",
    snapshot: Handle,
  ): ProcessEntry | null => {
    initProcessEntryW(entryBytes);
    if (k32[call](toPointer(snapshot), entryBytes) !== 0) return decodeProcessEntryW(entryBytes);
    const code = k32.GetLastError();
    // ERROR_NO_MORE_FILES ends the list; 0 means the last-error was cleared between the two FFI calls.
    if (code === Win32Error.NO_MORE_FILES || (code === 0 && call === "Process32NextW")) return null;
    throw WinApiError.win32(call, code);
  };

  const queryObject = (handle: Handle, infoClass: number, call: string): string => {
    for (let attempt = 0; attempt < 2; attempt++) {
      scratchView.setUint32(OFF_RETLEN, 0, true);
      const status = nt.NtQueryObject(
        toPointer(handle),
        infoClass,
        objectBuffer,
        objectBuffer.byteLength,
        retLen,
      );
      if (!isNtError(status) && !isBufferTooSmall(status)) {
        if (objectBuffer.byteLength < UNICODE_STRING_SIZE) throw WinApiError.ntstatus(call, status);
        const base = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(objectBuffer)));
        try {
          return decodeUnicodeStringAt(objectBuffer, base, 0);
        } catch (err) {
          throw new Error(`${call}: ${(err as Error).message}`);
        }
      }
      const needed = scratchView.getUint32(OFF_RETLEN, true);
      if (!isBufferTooSmall(status) || needed <= objectBuffer.byteLength || needed > OBJECT_INFO_MAX) {
        throw WinApiError.ntstatus(call, status);
      }
      objectBuffer = new Uint8Array(needed);
    }
    throw new Error(`${call}: the result did not fit after growing the buffer`);
  };

  return {
    currentProcess: () => fromPointer(k32.GetCurrentProcess()),
    currentProcessId: () => k32.GetCurrentProcessId(),
    createJobObject() {
      const h = fromPointer(k32.CreateJobObjectW(null, null));
      if (h === 0n) throw lastError("CreateJobObjectW");
      return h;
    },
    createProcessSnapshot() {
      const h = fromPointer(k32.CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0));
      if (h === INVALID_HANDLE_VALUE || h === 0n) throw lastError("CreateToolhelp32Snapshot");
      return h;
    },
    firstProcess: (snapshot) => processEntry("Process32FirstW", snapshot),
    nextProcess: (snapshot) => processEntry("Process32NextW", snapshot),
    openProcess(access, pid) {
      const h = fromPointer(k32.OpenProcess(access, 0, pid));
      if (h === 0n) throw lastError("OpenProcess");
      return h;
    },
    closeHandle(handle) {
      if (k32.CloseHandle(toPointer(handle)) === 0) throw lastError("CloseHandle");
    },
    queryHandleTable(bufferSize, keepOwner): HandleTableResult {
      const buffer = new Uint8Array(bufferSize);
      scratchView.setUint32(OFF_RETLEN, 0, true);
      const status = nt.NtQuerySystemInformation(
        SYSTEM_EXTENDED_HANDLE_INFORMATION,
        buffer,
        bufferSize,
        retLen,
      );
      const returnLength = scratchView.getUint32(OFF_RETLEN, true);
      if (isBufferTooSmall(status)) return { ok: false, status: status >>> 0, returnLength };
      if (isNtError(status)) throw WinApiError.ntstatus("NtQuerySystemInformation", status);
      try {
        return { ok: true, entries: decodeHandleTableEx(buffer, returnLength || bufferSize, keepOwner) };
      } catch (err) {
        throw new Error(`NtQuerySystemInformation: ${(err as Error).message}`);
      }
    },
    duplicateHandle(sourceProcess, handle, targetProcess) {
      outHandle.fill(0);
      const ok = k32.DuplicateHandle(
        toPointer(sourceProcess),
        toPointer(handle),
        toPointer(targetProcess),
        outHandle,
        0,
        0,
        DUPLICATE_SAME_ACCESS,
      );
      if (ok === 0) throw lastError("DuplicateHandle");
      return scratchView.getBigUint64(OFF_HANDLE, true);
    },
    objectTypeName: (handle) =>
      queryObject(handle, OBJECT_TYPE_INFORMATION, "NtQueryObject(ObjectTypeInformation)"),
    objectName: (handle) =>
      queryObject(handle, OBJECT_NAME_INFORMATION, "NtQueryObject(ObjectNameInformation)"),
    isProcessInJob(process, job) {
      outBool.fill(0);
      if (k32.IsProcessInJob(toPointer(process), toPointer(job), outBool) === 0) {
        throw lastError("IsProcessInJob");
      }
      return scratchView.getInt32(OFF_BOOL, true) !== 0;
    },
    processCreationTime(process) {
      scratch.fill(0, OFF_TIMES, OFF_TIMES + 4 * FILETIME_SIZE);
      if (k32.GetProcessTimes(toPointer(process), times[0], times[1], times[2], times[3]) === 0) {
        throw lastError("GetProcessTimes");
      }
      return decodeFiletime(times[0]);
    },
  };
}
