/**
 * The process start time: parsing `/proc/<pid>/stat` with hostile `comm` values, the locator's reads of it
 * before and after the cgroup file (a process replaced or gone in between is refused), and real processes
 * that name themselves to imitate the stat fields.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { AttestorError, type ErrorReason } from "../../src/errors.ts";
import { assertSameStart, parseProcStat, startTimeOf } from "../../src/platform/unix/proc_stat.ts";
import { createUnixLocator } from "../../src/platform/unix/locator.ts";
import { procStatLine } from "../../src/testing/fake_proc.ts";

const UID = "7a3922dd-f245-418b-b786-b8773407c23a";
const CID = "2013ae98df6739460cb987929e2c03b04c3fe5ac989aa48b4448af1728f0f508";
const POD_CGROUP = `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${
  UID.replaceAll("-", "_")
}.slice/cri-containerd-${CID}.scope\n`;

function rejectsWith(fn: () => unknown, reason: ErrorReason, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof AttestorError, String(err));
    assert.equal(err.reason, reason);
    assert.match(err.message, message);
    return true;
  });
}

describe("parseProcStat", () => {
  // comm values a process can give itself (prctl(PR_SET_NAME), /proc/self/comm, or its file name).
  const hostile: Array<[string, string]> = [
    ["plain", "sleep"],
    ["empty", ""],
    ["spaces", "a b  c"],
    ["a closing parenthesis", "a)b"],
    ["only parentheses", ")))((("],
    ["imitated fields after a parenthesis", ") R 1 2 3 4 5 6"],
    ["imitated fields with an early start time", "x) Z 1 1 1 1 1"],
    ["a newline", "a\nb) S 1"],
    ["digits only", "1234567890"],
    ["an opening parenthesis with a space", "x (y"],
    ["non-ASCII", "ünï\u{1F600}"],
  ];
  for (const [name, comm] of hostile) {
    it(`finds field 22 whatever the comm holds: ${name}`, () => {
      const stat = parseProcStat(procStatLine(31337, comm, "987654321"), "/proc/31337/stat");
      assert.deepEqual(stat, { pid: "31337", state: "S", startTime: "987654321" });
    });
  }

  it("keeps start times beyond 2^53 exactly", () => {
    const big = "18446744073709551615";
    assert.equal(parseProcStat(procStatLine(1, "init", big), "f").startTime, big);
  });

  it("reads a real stat file: this process", () => {
    const text = Deno.readTextFileSync("/proc/self/stat");
    const stat = parseProcStat(text, "/proc/self/stat");
    assert.equal(stat.pid, String(Deno.pid));
    assert.match(stat.startTime, /^[0-9]+$/);
    assert.match(stat.state, /^[RS]$/);
  });

  const malformed: Array<[string, string, RegExp]> = [
    ["empty text", "", /no "\(comm\)" field/],
    ["no comm", "42 S 1 2 3", /no "\(comm\)" field/],
    ["no closing parenthesis", "42 (sleep S 1 2 3", /no "\(comm\)" field/],
    [
      "a pid that is not a number",
      procStatLine(42, "x", "1").replace(/^42/, "4x2"),
      /field 1 \(pid\) is "4x2"/,
    ],
    ["a pid with a leading zero", procStatLine(42, "x", "1").replace(/^42/, "042"), /field 1 \(pid\)/],
    ["too few fields", "42 (sleep) S 1 2 3 4 5\n", /8 fields, fewer than the 22 needed for starttime$/],
    ["no space after comm", procStatLine(42, "x", "1").replace(") S", ")S"), /no space after the comm/],
    ["a state that is not a letter", procStatLine(42, "x", "1").replace(") S", ") 7"), /field 3 \(state\)/],
    ["a negative start time", procStatLine(42, "x", "-5"), /field 22 \(starttime\) is "-5"/],
    ["a start time with a sign", procStatLine(42, "x", "+5"), /field 22 \(starttime\)/],
    ["a start time in hex", procStatLine(42, "x", "0x10"), /field 22 \(starttime\)/],
    ["an empty start time (two spaces)", procStatLine(42, "x", ""), /field 22 \(starttime\) is ""/],
    ["a start time of 21 digits", procStatLine(42, "x", "1".repeat(21)), /field 22 \(starttime\)/],
  ];
  for (const [name, text, message] of malformed) {
    it(`rejects ${name}, naming the file`, () => {
      rejectsWith(
        () => parseProcStat(text, "/proc/42/stat"),
        "malformed-input",
        new RegExp(`^unable to read process start time: "/proc/42/stat": ${message.source}`),
      );
    });
  }
});

describe("startTimeOf and assertSameStart", () => {
  it("returns the start time of the process the file names, null for a missing file", () => {
    assert.equal(startTimeOf(42, { path: "p", text: procStatLine(42, "x", "77") }), "77");
    assert.equal(startTimeOf(42, { path: "p", text: null }), null);
  });

  it("refuses a stat file of another PID", () => {
    rejectsWith(
      () => startTimeOf(42, { path: "/proc/42/stat", text: procStatLine(43, "x", "77") }),
      "malformed-input",
      /"\/proc\/42\/stat": field 1 \(pid\) is 43, not 42$/,
    );
  });

  it("accepts equal start times and refuses different ones, naming both", () => {
    assertSameStart(7, "100", "100");
    assertSameStart(7, null, null);
    for (const [a, b] of [["100", "101"], ["100", null], [null, "100"]] as const) {
      rejectsWith(
        () => assertSameStart(7, a, b),
        "process-changed",
        new RegExp(
          `^process 7 was replaced while it was being located: .* started at ${a ?? "unknown"} .* ${
            b ?? "unknown"
          } after$`,
        ),
      );
    }
  });
});

describe("the locator reads the start time before and after the cgroup file", () => {
  /**
   * A proc root whose cgroup file is a FIFO: the locator's read of it blocks until the test writes, so the
   * test acts exactly between the first start-time read and the cgroup read.
   */
  async function withFifoRoot(
    pid: number,
    between: (dir: string) => Promise<void>,
  ): Promise<{ result?: unknown; error?: AttestorError }> {
    const root = await Deno.makeTempDir({ prefix: "k8s-attestor-stat-" });
    try {
      const dir = join(root, "proc", String(pid));
      await Deno.mkdir(dir, { recursive: true });
      await Deno.writeTextFile(join(dir, "stat"), procStatLine(pid, "app", "5000"));
      const fifo = join(dir, "cgroup");
      const mk = await new Deno.Command("mkfifo", { args: [fifo] }).output();
      assert.equal(mk.code, 0, "mkfifo");
      const located = createUnixLocator({ procRoot: root }).locate(pid);
      // Opening the FIFO for writing completes once the locator has opened it for reading, i.e. after its
      // first read of the stat file.
      const writer = await Deno.open(fifo, { write: true });
      await between(dir);
      await writer.write(new TextEncoder().encode(POD_CGROUP));
      writer.close();
      try {
        return { result: await located };
      } catch (err) {
        assert.ok(err instanceof AttestorError, String(err));
        return { error: err };
      }
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  }

  it("an unchanged process: the location and its start time", async () => {
    const out = await withFifoRoot(2001, async () => {});
    assert.deepEqual(out.result, { podUid: UID, containerId: CID, startTime: "5000" });
  });

  it("the PID given to another process while the cgroup file was read → process-changed", async () => {
    const out = await withFifoRoot(2002, async (dir) => {
      await Deno.writeTextFile(join(dir, "stat"), procStatLine(2002, "app", "5001"));
    });
    assert.equal(out.error?.reason, "process-changed", String(out.error ?? out.result));
    assert.equal(
      out.error?.message,
      "process 2002 was replaced while it was being located: PID 2002 belonged to a process started at " +
        "5000 (clock ticks since boot) before its cgroups were read and to one started at 5001 after",
    );
  });

  it("the process gone after the cgroup file was opened → process-gone", async () => {
    const out = await withFifoRoot(2003, async (dir) => {
      await Deno.rename(dir, `${dir}-gone`); // the open FIFO stays readable
    });
    assert.equal(out.error?.reason, "process-gone", String(out.error ?? out.result));
    assert.match(out.error!.message, /^process 2003 does not exist \(no directory ".*\/proc\/2003"\)$/);
  });

  it("a proc root without stat files (test fixtures) gives no start time", async () => {
    const root = await Deno.makeTempDir({ prefix: "k8s-attestor-stat-" });
    try {
      await Deno.mkdir(join(root, "proc", "2004"), { recursive: true });
      await Deno.writeTextFile(join(root, "proc", "2004", "cgroup"), POD_CGROUP);
      assert.deepEqual(await createUnixLocator({ procRoot: root }).locate(2004), {
        podUid: UID,
        containerId: CID,
      });
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  });

  it("a malformed stat file is a malformed-input error naming it", async () => {
    const root = await Deno.makeTempDir({ prefix: "k8s-attestor-stat-" });
    try {
      await Deno.mkdir(join(root, "proc", "2005"), { recursive: true });
      await Deno.writeTextFile(join(root, "proc", "2005", "cgroup"), POD_CGROUP);
      await Deno.writeTextFile(join(root, "proc", "2005", "stat"), "2005 (app S 1\n");
      await assert.rejects(createUnixLocator({ procRoot: root }).locate(2005), {
        reason: "malformed-input",
        message: new RegExp(`^unable to read process start time: ".*/proc/2005/stat": no "\\(comm\\)" field`),
      });
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  });
});

describe(
  "real processes with hostile names",
  { skip: Deno.build.os !== "linux" ? "needs /proc" : false },
  () => {
    // At most 15 bytes are kept (TASK_COMM_LEN - 1); each imitates the fields that follow comm.
    const names = [") Z 1 1 1 1 1 1", "x) R 1 2 3 4 5", "a b (c) d", "((((((((((((((("];
    for (const name of names) {
      it(`locates a shell that renamed itself ${JSON.stringify(name)}, with its real start time`, async () => {
        // The shell writes its own comm (only a process's own threads may), then waits.
        const child = new Deno.Command("sh", {
          args: ["-c", 'printf %s "$1" > /proc/$$/comm && echo ready && read x', "sh", name],
          stdin: "piped",
          stdout: "piped",
          stderr: "inherit",
        }).spawn();
        const reader = child.stdout.getReader();
        try {
          const { value } = await reader.read();
          assert.equal(new TextDecoder().decode(value), "ready\n");
          const text = Deno.readTextFileSync(`/proc/${child.pid}/stat`);
          assert.ok(text.startsWith(`${child.pid} (${name}) `), text);
          // Independent of the parser: cut the stat line after the name the test chose.
          const expected = text.slice(`${child.pid} (${name}) `.length).split(" ")[19];
          const location = await createUnixLocator().locate(child.pid);
          assert.equal(location.startTime, expected);
          assert.equal(location.containerId, null, "the test runner's cgroup is not a pod's");
        } finally {
          await child.stdin.close();
          reader.releaseLock();
          await child.stdout.cancel();
          await child.status;
        }
      });
    }
  },
);
