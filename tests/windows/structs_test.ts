import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  decodeHandleTableEx,
  decodeProcessEntryW,
  decodeUnicodeStringAt,
  decodeUtf16leZ,
  encodeUtf16le,
  initProcessEntryW,
  isBufferTooSmall,
  isNtError,
  PROCESSENTRY32W_SIZE,
} from "../../src/platform/windows/structs.ts";
import { ntStatusText, win32ErrorText, WinApiError } from "../../src/platform/windows/winapi.ts";

function dv(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

describe("PROCESSENTRY32W", () => {
  it("sets dwSize to 568 and clears the rest", () => {
    const buf = new Uint8Array(600).fill(0xAA);
    initProcessEntryW(buf);
    assert.equal(dv(buf).getUint32(0, true), 568);
    assert.ok(buf.subarray(4, PROCESSENTRY32W_SIZE).every((b) => b === 0));
    assert.equal(buf[PROCESSENTRY32W_SIZE], 0xAA, "bytes past the struct are untouched");
  });

  it("reads the PID at 8, the parent PID at 32 and szExeFile at 44", () => {
    const buf = new Uint8Array(PROCESSENTRY32W_SIZE);
    initProcessEntryW(buf);
    dv(buf).setUint32(8, 0xDEADBEEF, true);
    dv(buf).setUint32(32, 77, true);
    buf.set(encodeUtf16le("vmcompute.exe\0garbage"), 44);
    assert.deepEqual(decodeProcessEntryW(buf), { pid: 0xDEADBEEF, parentPid: 77, exeFile: "vmcompute.exe" });
  });

  it("reads a name that fills all 260 characters without a terminator", () => {
    const buf = new Uint8Array(PROCESSENTRY32W_SIZE);
    const name = "ä".repeat(260);
    buf.set(encodeUtf16le(name), 44);
    dv(buf).setUint32(564, 0x00410041, true); // padding after the array is not part of the name
    assert.equal(decodeProcessEntryW(buf).exeFile, name);
  });

  it("rejects a short buffer", () => {
    assert.throws(() => decodeProcessEntryW(new Uint8Array(100)), RangeError);
    assert.throws(() => initProcessEntryW(new Uint8Array(100)), RangeError);
  });
});

/** Builds a SYSTEM_HANDLE_INFORMATION_EX buffer. */
function table(
  entries: Array<{ pid: bigint; handle: bigint; access: number; type: number }>,
  count = entries.length,
): Uint8Array {
  const buf = new Uint8Array(16 + 40 * entries.length);
  const v = dv(buf);
  v.setBigUint64(0, BigInt(count), true);
  v.setBigUint64(8, 0n, true);
  entries.forEach((e, i) => {
    const at = 16 + 40 * i;
    v.setBigUint64(at, 0xFFFF_8000_1234_5678n, true); // Object (ignored)
    v.setBigUint64(at + 8, e.pid, true);
    v.setBigUint64(at + 16, e.handle, true);
    v.setUint32(at + 24, e.access, true);
    v.setUint16(at + 28, 0xFFFF, true); // CreatorBackTraceIndex (ignored)
    v.setUint16(at + 30, e.type, true);
    v.setUint32(at + 32, 0xFFFF_FFFF, true); // HandleAttributes (ignored)
  });
  return buf;
}

describe("SYSTEM_HANDLE_INFORMATION_EX", () => {
  const rows = [
    { pid: 4n, handle: 0x4n, access: 0x1F0FFF, type: 7 },
    { pid: 3n, handle: 0xABCn, access: 0x1F001F, type: 6 },
    { pid: 0x1_0000_0000n, handle: 0x8n, access: 1, type: 6 }, // not a valid PID: skipped
  ];

  it("decodes the entries at their x64 offsets", () => {
    const buf = table(rows);
    assert.deepEqual(decodeHandleTableEx(buf, buf.byteLength), [
      { ownerPid: 4, handle: 4n, grantedAccess: 0x1F0FFF, objectTypeIndex: 7 },
      { ownerPid: 3, handle: 0xABCn, grantedAccess: 0x1F001F, objectTypeIndex: 6 },
    ]);
  });

  it("filters by owner", () => {
    const buf = table(rows);
    assert.deepEqual(decodeHandleTableEx(buf, buf.byteLength, (pid) => pid === 3).map((e) => e.handle), [
      0xABCn,
    ]);
  });

  it("decodes an empty table", () => {
    const buf = table([]);
    assert.deepEqual(decodeHandleTableEx(buf, 16), []);
  });

  it("refuses a count larger than the data instead of over-reading", () => {
    const buf = table(rows, 4);
    assert.throws(() => decodeHandleTableEx(buf, buf.byteLength), /claims 4 entries but only 3 fit/);
    // the reported length limits what is read even when the buffer is larger
    const full = table(rows);
    assert.throws(() => decodeHandleTableEx(full, 16 + 40), /claims 3 entries but only 1 fit/);
    assert.throws(() => decodeHandleTableEx(new Uint8Array(8), 8), /shorter than its 16-byte header/);
  });
});

describe("UNICODE_STRING", () => {
  const base = 0x7FF0_0000_1000n;

  function objectInfo(text: string, pointerOffset = 16n, lengthOverride?: number): Uint8Array {
    const chars = encodeUtf16le(text);
    const buf = new Uint8Array(16 + chars.byteLength + 64);
    const v = dv(buf);
    v.setUint16(0, lengthOverride ?? chars.byteLength, true);
    v.setUint16(2, chars.byteLength + 2, true);
    v.setBigUint64(8, base + pointerOffset, true);
    buf.set(chars, 16);
    return buf;
  }

  it("reads exactly Length bytes from inside the buffer", () => {
    assert.equal(decodeUnicodeStringAt(objectInfo("Job"), base), "Job");
    // no NUL needed: the next bytes are ignored
    const buf = objectInfo("\\Container_abc");
    buf.fill(0x41, 16 + 28);
    assert.equal(decodeUnicodeStringAt(buf, base), "\\Container_abc");
  });

  it("returns '' for an unnamed object (Length 0, null Buffer)", () => {
    const buf = new Uint8Array(16);
    assert.equal(decodeUnicodeStringAt(buf, base), "");
  });

  it("rejects pointers and lengths outside the buffer and odd lengths", () => {
    assert.throws(() => decodeUnicodeStringAt(objectInfo("Job", -8n), base), /outside the output buffer/);
    assert.throws(() => decodeUnicodeStringAt(objectInfo("Job", 4096n), base), /outside the output buffer/);
    assert.throws(
      () => decodeUnicodeStringAt(objectInfo("Job", 16n, 4000), base),
      /outside the output buffer/,
    );
    assert.throws(() => decodeUnicodeStringAt(objectInfo("Job", 16n, 5), base), /odd/);
    const nullBuffer = objectInfo("Job");
    dv(nullBuffer).setBigUint64(8, 0n, true);
    assert.throws(() => decodeUnicodeStringAt(nullBuffer, base), /outside the output buffer/);
    assert.throws(() => decodeUnicodeStringAt(new Uint8Array(8), base), /header lies outside/);
  });
});

describe("UTF-16LE helpers", () => {
  it("round-trips non-ASCII text and stops at NUL", () => {
    const text = "Zürich-日本-\u{1F600}";
    assert.equal(decodeUtf16leZ(encodeUtf16le(text)), text);
    assert.equal(decodeUtf16leZ(encodeUtf16le("ab\0cd")), "ab");
    assert.equal(decodeUtf16leZ(new Uint8Array(0)), "");
  });
});

describe("status and error text", () => {
  it("classifies NTSTATUS values, signed or unsigned", () => {
    assert.equal(isNtError(0), false);
    assert.equal(isNtError(0x80000005), false, "warning");
    assert.equal(isNtError(0xC0000004), true);
    assert.equal(isNtError(0xC0000004 | 0), true, "as a signed i32 from FFI");
    assert.equal(isBufferTooSmall(0xC0000004 | 0), true);
    assert.equal(isBufferTooSmall(0xC0000023), true);
    assert.equal(isBufferTooSmall(0x80000005), true);
    assert.equal(isBufferTooSmall(0xC0000022), false);
  });

  it("renders Win32 errors and NTSTATUS with their numbers", () => {
    assert.equal(win32ErrorText(5), "Access is denied. (Win32 error 5)");
    assert.equal(win32ErrorText(12345), "Win32 error 12345");
    assert.equal(ntStatusText(0xC0000022 | 0), "STATUS_ACCESS_DENIED (NTSTATUS 0xC0000022)");
    assert.equal(ntStatusText(0xC0001234), "NTSTATUS 0xC0001234");
    const e = WinApiError.ntstatus("NtQueryObject", 0xC0000022 | 0);
    assert.equal(e.code, 0xC0000022);
    assert.equal(e.accessDenied, true);
    assert.equal(WinApiError.win32("OpenProcess", 87).isWin32(87), true);
    assert.equal(WinApiError.win32("OpenProcess", 87).accessDenied, false);
  });
});
