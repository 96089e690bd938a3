import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { AttestorError } from "../../src/errors.ts";
import { createUnixLocator } from "../../src/platform/unix/locator.ts";
import { unixPlatform } from "../../src/platform/unix/mod.ts";
import { MAX_CGROUP_FILE_BYTES } from "../../src/platform/unix/cgroup.ts";
import { runLocate } from "../../src/cli/locate.ts";
import { nullLogger } from "../../src/log.ts";
import { captureLogger } from "./_capture.ts";
import { kubepodsPath } from "../../src/testing/cgroups.ts";
import { procStatLine } from "../../src/testing/fake_proc.ts";

const PROC_ROOT = fileURLToPath(new URL("../testdata/proc/", import.meta.url));
const CID = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00";
const UID = "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d";

async function rejection(p: Promise<unknown>): Promise<AttestorError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof AttestorError, `not an AttestorError: ${err}`);
    return err;
  }
  assert.fail("expected a rejection");
}

describe("createUnixLocator: errors and bounds", () => {
  let root = "";
  const pidDir = (pid: number) => join(root, "proc", String(pid));
  async function writeProc(pid: number, files: Record<string, string | Uint8Array>) {
    await Deno.mkdir(pidDir(pid), { recursive: true });
    for (const [name, content] of Object.entries(files)) {
      if (typeof content === "string") await Deno.writeTextFile(join(pidDir(pid), name), content);
      else await Deno.writeFile(join(pidDir(pid), name), content);
    }
  }
  /** Puts `pid` and PID 1 in the same (initial) user namespace, so the mountinfo fallback may run. */
  async function initialUserNamespace(pid: number) {
    for (const p of [1, pid]) {
      await Deno.mkdir(join(pidDir(p), "ns"), { recursive: true });
      await Deno.remove(join(pidDir(p), "ns", "user")).catch(() => {});
      await Deno.symlink("user:[4026531837]", join(pidDir(p), "ns", "user"));
    }
    await Deno.writeTextFile(join(pidDir(pid), "uid_map"), "         0          0 4294967295\n");
  }
  before(async () => {
    root = await Deno.makeTempDir({ prefix: "locator_test_" });
  });
  after(async () => {
    await Deno.remove(root, { recursive: true });
  });

  it("rejects invalid PIDs with bad-request", async () => {
    const locator = createUnixLocator({ procRoot: root });
    for (const pid of [0, -1, 1.5, Number.NaN, 2 ** 60]) {
      const err = await rejection(locator.locate(pid));
      assert.equal(err.reason, "bad-request", String(pid));
    }
  });

  it("reports a PID without a directory as process-gone naming the PID", async () => {
    const err = await rejection(createUnixLocator({ procRoot: root }).locate(424242));
    assert.equal(err.reason, "process-gone");
    assert.match(err.message, /^process 424242 does not exist/);
  });

  it("treats a regular file in place of the process directory as process-gone", async () => {
    await Deno.mkdir(join(root, "proc"), { recursive: true });
    await Deno.writeTextFile(join(root, "proc", "77"), "");
    assert.equal((await rejection(createUnixLocator({ procRoot: root }).locate(77))).reason, "process-gone");
  });

  it("rejects a line over 64 KiB naming the file and line, and accepts 65535 bytes", async () => {
    await writeProc(10, { cgroup: `0::/\n1:pids:/${"a".repeat(65535)}\n` });
    const err = await rejection(createUnixLocator({ procRoot: root }).locate(10));
    assert.equal(err.reason, "malformed-input");
    assert.equal(
      err.message,
      `unable to obtain cgroups: "${pidDir(10)}/cgroup" line 2: line is longer than 65535 bytes ` +
        "(bufio.Scanner: token too long)",
    );
    await writeProc(11, { cgroup: `0::/${"a".repeat(65531)}\n1:pids:/kubepods/pod${UID}/${CID}\n` });
    assert.deepEqual(await createUnixLocator({ procRoot: root }).locate(11), {
      podUid: UID,
      containerId: CID,
    });
  });

  it("rejects an oversized cgroup file without reading it all", async () => {
    const line = `1:pids:/kubepods/pod${UID}/${CID}\n`;
    await writeProc(12, { cgroup: line.repeat(Math.ceil((MAX_CGROUP_FILE_BYTES + 1) / line.length)) });
    const err = await rejection(createUnixLocator({ procRoot: root }).locate(12));
    assert.equal(err.reason, "malformed-input");
    assert.equal(
      err.message,
      `unable to obtain cgroups: "${pidDir(12)}/cgroup" is larger than 1048576 bytes`,
    );
  });

  it("rejects a long mountinfo line in the fallback", async () => {
    await writeProc(13, {
      cgroup: "0::/\n",
      mountinfo: `1 2 0:1 /${"x".repeat(70000)} /m rw - cgroup2 c rw\n`,
    });
    await initialUserNamespace(13);
    const err = await rejection(createUnixLocator({ procRoot: root }).locate(13));
    assert.equal(err.reason, "malformed-input");
    assert.match(
      err.message,
      /^failed to parse mount info at ".*\/proc\/13\/mountinfo": line 1: .*token too long/,
    );
  });

  it("reports an unreadable cgroup file (a directory) as os-failed naming the file", async () => {
    await Deno.mkdir(join(pidDir(14), "cgroup"), { recursive: true });
    const err = await rejection(createUnixLocator({ procRoot: root }).locate(14));
    assert.equal(err.reason, "os-failed");
    assert.ok(
      err.message.startsWith(`unable to obtain cgroups: reading "${pidDir(14)}/cgroup": `),
      err.message,
    );
  });

  it("decodes invalid UTF-8 without creating or hiding IDs", async () => {
    const encode = (s: string) => new TextEncoder().encode(s);
    // In the pod segment: no longer a kubelet layout, and the pod it names is refused, not hidden.
    await writeProc(15, {
      cgroup: new Uint8Array([...encode("1:pids:/kubepods/"), 0xff, 0xfe, ...encode(`pod${UID}/${CID}\n`)]),
    });
    const err = await rejection(createUnixLocator({ procRoot: root }).locate(15));
    assert.equal(err.reason, "outside-pod-cgroups");
    assert.ok(
      err.message.includes(`names pod ${UID} but is not under the kubelet's pod cgroups`),
      err.message,
    );
    // Below the container segment: never read, so the container's identity stands.
    await writeProc(17, {
      cgroup: new Uint8Array([
        ...encode(`1:pids:/kubepods/pod${UID}/${CID}/`),
        0xff,
        0xfe,
        ...encode(`pod${UID}\n`),
      ]),
    });
    assert.deepEqual(await createUnixLocator({ procRoot: root }).locate(17), {
      podUid: UID,
      containerId: CID,
    });
  });

  it("honours an aborted signal", async () => {
    await writeProc(16, { cgroup: "0::/\n" });
    const err = await rejection(createUnixLocator({ procRoot: root }).locate(16, AbortSignal.abort()));
    assert.equal(err.reason, "cancelled");
    assert.equal(err.message, "context canceled");
    // A deadline is reported as one, as the core reports it.
    const timeout = AbortSignal.abort(new DOMException("signal timed out", "TimeoutError"));
    const late = await rejection(createUnixLocator({ procRoot: root }).locate(16, timeout));
    assert.equal(late.reason, "deadline-exceeded");
    assert.equal(late.message, "context deadline exceeded");
  });
});

describe("createUnixLocator: relocate (the re-check's lookup)", () => {
  let root = "";
  const POD_A = "aaaaaaaa-1111-4111-8111-aaaaaaaaaaaa";
  const POD_B = "bbbbbbbb-2222-4222-8222-bbbbbbbbbbbb";
  const CID_A = "a".repeat(64);
  const CID_B = "b".repeat(64);
  async function place(pid: number, podUid: string, containerId: string, startTime: number) {
    const dir = join(root, "proc", String(pid));
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(
      join(dir, "cgroup"),
      `0::${kubepodsPath("systemd", "besteffort", podUid, containerId)}\n`,
    );
    await Deno.writeTextFile(join(dir, "stat"), `${procStatLine(pid, "w", startTime)}\n`);
  }
  before(async () => {
    root = await Deno.makeTempDir({ prefix: "locator_relocate_test_" });
  });
  after(async () => {
    await Deno.remove(root, { recursive: true });
  });

  it("unchanged: the same location and start time as locate", async () => {
    const locator = createUnixLocator({ procRoot: root });
    await place(601, POD_A, CID_A, 100);
    const first = await locator.locate(601);
    assert.deepEqual(await locator.relocate!(601, first), first);
  });

  it("another process now holds the PID: its start time is returned, never the first one", async () => {
    // The PID was reused between the lookups (here: by a process of another pod). `locate` would bracket
    // its own reads; `relocate` returns the start time read after the cgroup file, which differs from the
    // first lookup's and makes the re-check refuse (tests/core/recheck_test.ts, tests/e2e/recheck_e2e_test.ts).
    const locator = createUnixLocator({ procRoot: root });
    await place(602, POD_A, CID_A, 100);
    const first = await locator.locate(602);
    await place(602, POD_B, CID_B, 200);
    assert.deepEqual(await locator.relocate!(602, first), {
      podUid: POD_B,
      containerId: CID_B,
      startTime: "200",
    });
  });

  it("the stat file is read once, after the cgroup file: an opening start time is taken from the first lookup", async () => {
    const locator = createUnixLocator({ procRoot: root });
    await place(603, POD_A, CID_A, 100);
    // A first location whose start time differs from the file's: locate would read both from the file;
    // relocate must not read an opening value of its own (it returns the file's, for the caller to compare).
    const relocated = await locator.relocate!(603, { podUid: POD_A, containerId: CID_A, startTime: "99" });
    assert.equal(relocated.startTime, "100");
  });

  it("a process gone since the first lookup is process-gone", async () => {
    const locator = createUnixLocator({ procRoot: root });
    await place(604, POD_A, CID_A, 100);
    const first = await locator.locate(604);
    await Deno.remove(join(root, "proc", "604"), { recursive: true });
    assert.equal((await rejection(locator.relocate!(604, first))).reason, "process-gone");
  });

  it("an aborted signal ends it", async () => {
    const locator = createUnixLocator({ procRoot: root });
    await place(605, POD_A, CID_A, 100);
    const first = await locator.locate(605);
    assert.equal((await rejection(locator.relocate!(605, first, AbortSignal.abort()))).reason, "cancelled");
  });
});

describe("createUnixLocator: remembered cgroup decisions", () => {
  let root = "";
  const POD_A = "aaaaaaaa-1111-4111-8111-aaaaaaaaaaaa";
  const POD_B = "bbbbbbbb-2222-4222-8222-bbbbbbbbbbbb";
  const CID_A = "a".repeat(64);
  const CID_B = "b".repeat(64);
  async function place(pid: number, podUid: string, containerId: string, startTime = 100) {
    await Deno.mkdir(join(root, "proc", String(pid)), { recursive: true });
    const path = kubepodsPath("systemd", "besteffort", podUid, containerId);
    await Deno.writeTextFile(join(root, "proc", String(pid), "cgroup"), `0::${path}\n`);
    await Deno.writeTextFile(
      join(root, "proc", String(pid), "stat"),
      `${procStatLine(pid, "w", startTime)}\n`,
    );
  }
  before(async () => {
    root = await Deno.makeTempDir({ prefix: "locator_memo_test_" });
  });
  after(async () => {
    await Deno.remove(root, { recursive: true });
  });

  it("a process that moves gets the decision of its new cgroup file, never the remembered one", async () => {
    const locator = createUnixLocator({ procRoot: root });
    await place(501, POD_A, CID_A);
    assert.deepEqual(await locator.locate(501), { podUid: POD_A, containerId: CID_A, startTime: "100" });
    assert.deepEqual(await locator.locate(501), { podUid: POD_A, containerId: CID_A, startTime: "100" });
    await place(501, POD_B, CID_B, 200);
    assert.deepEqual(await locator.locate(501), { podUid: POD_B, containerId: CID_B, startTime: "200" });
    await place(501, POD_A, CID_A, 300);
    assert.deepEqual(await locator.locate(501), { podUid: POD_A, containerId: CID_A, startTime: "300" });
  });

  it("an equal cgroup file gives an equal, separate answer; a refused one is refused every time", async () => {
    const locator = createUnixLocator({ procRoot: root });
    await place(502, POD_A, CID_A, 1);
    await place(503, POD_A, CID_A, 2);
    const first = await locator.locate(502);
    const second = await locator.locate(503);
    assert.deepEqual([first.containerId, second.containerId], [CID_A, CID_A]);
    assert.notEqual(first, second);
    // A path that names a pod outside the kubelet's pod cgroups is refused (anchor.ts), on every lookup.
    await Deno.writeTextFile(join(root, "proc", "503", "cgroup"), `0::/evil/pod${POD_B}/${CID_B}\n`);
    for (let i = 0; i < 2; i++) {
      const err = await rejection(locator.locate(503));
      assert.match(err.message, new RegExp(POD_B));
    }
  });
});

describe("createUnixLocator: verbose logs", () => {
  it("logs every cgroup line and the decision at debug level", async () => {
    const { logger, entries } = captureLogger();
    const root = join(PROC_ROOT, "containerd-systemd-hybrid-guaranteed");
    const got = await createUnixLocator({ procRoot: root, verbose: true, logger }).locate(777);
    const considered = entries.filter((e) => e["@message"] === "PID cgroup entry considered");
    assert.deepEqual(considered.map((e) => e.line), [...Array(13).keys()].map((i) => i + 1));
    assert.ok(considered.every((e) => e["@level"] === "debug" && e.pid === 777));
    assert.equal(considered.find((e) => e.line === 10)?.cgroup_path, "/"); // rdma at /
    assert.equal(considered.find((e) => e.line === 10)?.action, "ignored");
    assert.equal(considered[0].action, "replaced");
    const decision = entries.at(-1)!;
    assert.equal(decision["@message"], "Container locator decision");
    assert.equal(decision.source, "cgroup");
    assert.equal(decision.container_id, got.containerId);
    assert.ok(
      !entries.some((e) => String(e["@message"]).startsWith("PID mount")),
      "mountinfo must not be read",
    );
  });

  it("logs skipped and considered mounts in the fallback", async () => {
    const { logger, entries } = captureLogger();
    const root = join(PROC_ROOT, "cgroupns-v1-mountinfo-fallback-systemd");
    await createUnixLocator({ procRoot: root, verbose: true, logger }).locate(9005);
    const mounts = entries.filter((e) => String(e["@message"]).startsWith("PID mount"));
    assert.ok(mounts.some((e) => e.reason === "not a cgroup mount"));
    assert.ok(mounts.some((e) => e.reason === "cgroup mount at /" && e.type === "cgroup2"));
    assert.equal(mounts.filter((e) => e["@message"] === "PID mount considered").length, 4);
    assert.equal(entries.at(-1)!.source, "mountinfo");
  });

  it("logs the conflicting entry before failing", async () => {
    const { logger, entries } = captureLogger();
    const root = join(PROC_ROOT, "conflict-container-id");
    await rejection(createUnixLocator({ procRoot: root, verbose: true, logger }).locate(301));
    const last = entries.at(-1)!;
    assert.equal(last.action, "conflict");
    assert.equal(last.line, 2);
  });

  it("logs nothing at debug level when not verbose, but warns on an ambiguous legacy path", async () => {
    const { logger, entries } = captureLogger();
    await createUnixLocator({ procRoot: join(PROC_ROOT, "containerd-cgroupfs-v1-burstable"), logger }).locate(
      4242,
    );
    assert.equal(entries.length, 0);
    await createUnixLocator({
      procRoot: join(PROC_ROOT, "static-pod-crio-both-legacy-rules"),
      useNewContainerLocator: false,
      logger,
    }).locate(401);
    assert.deepEqual(entries.map((e) => [e["@level"], e["@message"]]), [
      ["warn", "More than one regex matches for cgroup; ignoring it"],
    ]);
  });
});

describe("unixPlatform", () => {
  it("describes the unix platform and passes paths through", async () => {
    assert.equal(unixPlatform.name, "unix");
    assert.equal(unixPlatform.transport, "unix");
    assert.equal(unixPlatform.resolveConfigPath("/var/run/secrets/x"), "/var/run/secrets/x");
    const locator = unixPlatform.createLocator({
      useNewContainerLocator: true,
      verbose: false,
      logger: nullLogger,
    });
    const self = await locator.locate(Deno.pid); // the real /proc
    assert.ok(self.containerId === null || /^[0-9A-Fa-f]{64}$/.test(self.containerId));
  });
});

describe("runLocate arguments", () => {
  const cases: [string[], RegExp][] = [
    [[], /^missing --pid; usage: locate --pid <N>/],
    [["--pid"], /argument missing/],
    [["--pid", "0"], /--pid must be a positive 32-bit integer, got "0"/],
    [["--pid", "12a"], /--pid must be a positive 32-bit integer/],
    [["--pid", "4294967296"], /--pid must be a positive 32-bit integer/],
    [["--pid", "1", "--bogus"], /Unknown option '--bogus'/],
    [["--pid", "1", "extra"], /Unexpected argument 'extra'/],
    [["--pid", "1", "--proc-root", ""], /--proc-root must not be empty/],
  ];
  for (const [args, pattern] of cases) {
    it(`rejects ${JSON.stringify(args)}`, async () => {
      let out = "";
      const code = await runLocate(args, { stdout: (s) => (out += s) });
      assert.equal(code, 1);
      const parsed = JSON.parse(out);
      assert.deepEqual(Object.keys(parsed), ["error"]);
      assert.match(parsed.error, pattern);
    });
  }
  it("writes verbose logs to stderr and keeps stdout to one line", async () => {
    let out = "", err = "";
    const root = join(PROC_ROOT, "kind-macos-unified");
    const code = await runLocate(["--pid", "8081", "--proc-root", root, "--verbose"], {
      stdout: (s) => (out += s),
      stderr: (s) => (err += s),
    });
    assert.equal(code, 0);
    assert.equal(out.split("\n").length, 2);
    const lines = err.trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(lines.filter((l) => l["@message"] === "PID cgroup entry considered").length, 13);
    assert.equal(lines.find((l) => l.line === 13)?.action, "ignored"); // the 0::/docker/<node>/… line
  });
});

describe("locate as a process", () => {
  const script = fileURLToPath(new URL("../../src/cli/locate.ts", import.meta.url));
  async function run(args: string[]) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-prompt", script, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { code: out.code, stdout: new TextDecoder().decode(out.stdout) };
  }
  it("exits 0 with the JSON object", async () => {
    const root = join(PROC_ROOT, "crio-no-pod-uid-v2");
    const { code, stdout } = await run(["--pid", "6003", "--proc-root", root]);
    assert.equal(code, 0);
    const { podUid, containerId } = JSON.parse(stdout);
    assert.equal(podUid, null);
    assert.match(containerId, /^[0-9a-f]{64}$/);
  });
  it("exits 1 with the error object", async () => {
    const root = join(PROC_ROOT, "conflict-container-id");
    const { code, stdout } = await run(["--pid", "301", "--proc-root", root]);
    assert.equal(code, 1);
    assert.match(
      JSON.parse(stdout).error,
      /^multiple container IDs found \("[0-9a-f]{64}", "[0-9a-f]{64}"\)$/,
    );
  });
});
