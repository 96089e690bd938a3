/**
 * The real FFI layer (winapi_ffi.ts) against Wine's kernel32/ntdll: struct layouts, UTF-16 decoding,
 * buffer-size signalling and error codes. Run by scripts/test_wine.sh with deno.exe.
 *
 * @module
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { PROCESS_QUERY_LIMITED_INFORMATION, Win32Error } from "../../src/platform/windows/structs.ts";
import { WinApiError } from "../../src/platform/windows/winapi.ts";
import { createFfiWinApi } from "../../src/platform/windows/winapi_ffi.ts";

describe("winapi_ffi under Wine", () => {
  const api = createFfiWinApi();

  it("lists this process in the Toolhelp snapshot with its executable name", () => {
    const snap = api.createProcessSnapshot();
    const seen: Array<{ pid: number; exeFile: string }> = [];
    try {
      for (let e = api.firstProcess(snap); e !== null; e = api.nextProcess(snap)) seen.push(e);
    } finally {
      api.closeHandle(snap);
    }
    const self = seen.find((e) => e.pid === Deno.pid);
    assert.ok(self, `own PID ${Deno.pid} in ${JSON.stringify(seen)}`);
    assert.equal(self.exeFile.toLowerCase(), "deno.exe");
    assert.ok(seen.length >= 3, "Wine's own services are listed too");
  });

  it("reads the handle table, asking for a bigger buffer first", () => {
    // Wine difference: with a buffer smaller than header + one entry, Wine reports returnLength 0 (the
    // locator then doubles the buffer); from 56 bytes on it reports the size it needs, like Windows.
    const tiny = api.queryHandleTable(16);
    assert.equal(tiny.ok, false);
    const small = api.queryHandleTable(56);
    assert.equal(small.ok, false);
    if (small.ok) return;
    assert.ok(
      small.returnLength > 16 && (small.returnLength - 16) % 40 === 0,
      `returnLength ${small.returnLength}`,
    );
    const job = api.createJobObject();
    try {
      const full = api.queryHandleTable(small.returnLength + 64 * 1024);
      assert.ok(full.ok);
      if (!full.ok) return;
      const mine = full.entries.filter((e) => e.ownerPid === Deno.pid);
      assert.ok(mine.length > 0);
      const entry = mine.find((e) => e.handle === job);
      assert.ok(entry, `job handle ${job} among ${mine.map((e) => e.handle).join(",")}`);
      // the same type index as every other handle whose type is Job
      assert.equal(api.objectTypeName(job), "Job");
      assert.equal(api.objectName(job), "");
      const filtered = api.queryHandleTable(small.returnLength + 64 * 1024, (pid) => pid === Deno.pid);
      assert.ok(filtered.ok && filtered.entries.every((e) => e.ownerPid === Deno.pid));
    } finally {
      api.closeHandle(job);
    }
  });

  it("reads object type names of other handle types", () => {
    const self = api.openProcess(PROCESS_QUERY_LIMITED_INFORMATION, Deno.pid);
    try {
      assert.equal(api.objectTypeName(self), "Process");
    } finally {
      api.closeHandle(self);
    }
  });

  it("duplicates a handle of this process and sees that it is not in the probe job", () => {
    const job = api.createJobObject();
    const me = api.currentProcess();
    const dup = api.duplicateHandle(me, job, me);
    try {
      assert.notEqual(dup, job);
      assert.equal(api.objectTypeName(dup), "Job");
      const proc = api.openProcess(0x400, Deno.pid);
      try {
        assert.equal(api.isProcessInJob(proc, dup), false);
      } finally {
        api.closeHandle(proc);
      }
    } finally {
      api.closeHandle(dup);
      api.closeHandle(job);
    }
  });

  it("reads creation times: the same through any handle, later for a process started later", async () => {
    // FILETIME: 100 ns units since 1601-01-01; Unix time 0 is 116444736000000000.
    const toFiletime = (ms: number) => BigInt(ms) * 10_000n + 116_444_736_000_000_000n;
    const created = (pid: number) => {
      const h = api.openProcess(PROCESS_QUERY_LIMITED_INFORMATION, pid);
      try {
        return api.processCreationTime(h);
      } finally {
        api.closeHandle(h);
      }
    };
    const self = created(Deno.pid);
    assert.equal(created(Deno.pid), self, "a second handle, the same process");
    assert.ok(self > toFiletime(Date.UTC(2020, 0, 1)) && self <= toFiletime(Date.now()), String(self));
    const child = new Deno.Command("cmd.exe", {
      args: ["/c", "ping -n 30 127.0.0.1 >NUL"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      const later = created(child.pid);
      assert.ok(later > self, `${later} > ${self}`);
      assert.ok(later <= toFiletime(Date.now()));
    } finally {
      child.kill();
      await child.status;
    }
    assert.throws(
      () => api.processCreationTime(0x7FF0n),
      (err: unknown) => err instanceof WinApiError && err.call === "GetProcessTimes",
    );
  });

  it("reports Win32 errors with the call name", () => {
    assert.throws(() => api.openProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0xFFFF_FFF0), (err: unknown) => {
      assert.ok(err instanceof WinApiError);
      assert.equal(err.call, "OpenProcess");
      assert.equal(err.code, Win32Error.INVALID_PARAMETER);
      return true;
    });
    assert.throws(
      () => api.closeHandle(0x7FF0n),
      (err: unknown) => err instanceof WinApiError && err.call === "CloseHandle",
    );
  });
});
