/**
 * The plugin as a real process under the fake spire-agent (`tests/support/host.ts`): the full load /
 * call / unload sequence, 40 loads in a row, and the process-contract edge cases.
 */
import { after, afterEach, before, describe, it } from "node:test";
import { WorkloadPIDReference } from "../../src/gen/spiffe/broker/api.ts";
import assert from "node:assert/strict";
import * as net from "node:net";
import { dirname } from "node:path";
import type { ServiceError } from "@grpc/grpc-js";
import { buildConfig } from "../../src/config/build.ts";
import { NOT_A_COMMAND_MESSAGE } from "../../src/plugin/serve.ts";
import {
  classifyLogLine,
  type LoadOptions,
  PluginHost,
  type PluginHostOptions,
  rawExchange,
  runPluginOnce,
  sourcePluginCommand,
} from "../../src/testing/plugin_host.ts";
import { type FakeKubelet, startFakeKubelet } from "../../src/testing/fake_kubelet.ts";

const NOT_CONFIGURED = "not configured";

/** A fake kubelet on the read-only port, so that Configure succeeds (its pod list is empty). */
let kubelet: FakeKubelet;
/** A configuration the plugin accepts. */
const goodConfig = () => `kubelet_read_only_port = ${kubelet.port}\n`;

const isStatus = (code: number, details?: string) => (e: unknown) => {
  const err = e as ServiceError;
  assert.equal(err.code, code, `code (details: ${err.details})`);
  if (details !== undefined) assert.equal(err.details, details);
  return true;
};

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

const hosts: PluginHost[] = [];
async function start(options: PluginHostOptions = {}): Promise<PluginHost> {
  const host = await PluginHost.start(options);
  hosts.push(host);
  return host;
}

/** Asserts what every orderly unload must leave behind. */
async function assertCleanExit(host: PluginHost, result: { code: number; killed: boolean }): Promise<void> {
  assert.deepEqual(
    { code: result.code, killed: result.killed },
    { code: 0, killed: false },
    host.stderrLines.join("\n"),
  );
  assert.equal(host.stdoutRaw, host.handshake.line + "\n", "stdout is exactly the handshake line");
  assert.deepEqual(host.logProblems(), [], "every stderr line is a proper hclog entry");
  assert.deepEqual(host.streamsEndedEarly, [], "broker and stdio streams stay open until unload");
  if (host.handshake.network === "unix") {
    assert.equal(await exists(host.handshake.address), false, "socket removed");
    assert.equal(await exists(dirname(host.handshake.address)), false, "socket directory removed");
  }
}

/** These cases use unix sockets, POSIX signals and socket permissions; on Windows the Wine suite covers TCP. */
const unixOnly = Deno.build.os === "windows" ? "unix sockets and POSIX signals: not on Windows" : false;

describe("plugin process under a fake spire-agent", { skip: unixOnly }, () => {
  before(async () => {
    kubelet = await startFakeKubelet();
  });
  after(async () => {
    await kubelet.stop();
  });
  afterEach(async () => {
    await Promise.all(hosts.splice(0).map((h) => h.dispose()));
  });

  it("loads, configures, answers concurrent calls and unloads cleanly", async () => {
    const host = await start();
    assert.match(host.handshake.line, /^1\|1\|unix\|\/[^|]+\/plugin\d+\|grpc\|$/);
    assert.equal((await Deno.stat(dirname(host.handshake.address))).mode! & 0o777, 0o700);
    await host.connect();
    assert.deepEqual(await host.client.init(), [
      "spire.plugin.agent.workloadattestor.v1.WorkloadAttestor",
      "spire.service.common.config.v1.Config",
    ]);
    await assert.rejects(host.client.attest(Deno.pid), isStatus(9, NOT_CONFIGURED));
    await host.client.configure(goodConfig(), "example.org");
    // The test runner is not in a container: every concurrent call succeeds with no selectors.
    const results = await Promise.all(Array.from({ length: 20 }, () => host.client.attest(Deno.pid)));
    assert.deepEqual(results, Array.from({ length: 20 }, () => []));
    // A WorkloadPIDReference takes the PID path (AttestReference used to answer UNIMPLEMENTED).
    assert.deepEqual(
      await host.client.attestReference({
        typeUrl: "type.googleapis.com/spiffe.broker.WorkloadPIDReference",
        value: Buffer.from(WorkloadPIDReference.encode({ pid: Deno.pid }).finish()),
      }),
      [],
    );
    assert.equal((await host.client.health("plugin")).status, 1);
    const result = await host.unload();
    assert.equal(result.deinitError, null);
    await assertCleanExit(host, result);
    const messages = host.logEntries().map((e) => e.message);
    assert.ok(messages.includes("plugin configured"), messages.join(", "));
  });

  it("rejects bad configuration with INVALID_ARGUMENT listing every problem, and keeps serving", async () => {
    const host = await start();
    await host.load({ hcl: goodConfig() });
    for (
      const hcl of ["kubelet_read_only_port = 1\nkubelet_secure_port = 2\nbogus_key = 1", "this is { not hcl"]
    ) {
      const { problems } = buildConfig(hcl, { trustDomain: "example.org" }, { getenv: () => undefined });
      assert.ok(problems.length > 0, `fixture "${hcl}" must be invalid`);
      const expected = problems.length === 1
        ? `invalid configuration: ${problems[0]}`
        : `invalid configuration (${problems.length} problems): ${problems.join("; ")}`;
      await assert.rejects(host.client.configure(hcl), (e: unknown) => {
        isStatus(3)(e);
        // The status message is ASCII-sanitised and newline-free; compare on that form.
        const wire = expected.replace(/\r?\n/g, "; ").replace(/[^\x20-\x7e]/g, "?");
        assert.equal((e as ServiceError).details, wire);
        return true;
      });
    }
    assert.deepEqual(await host.client.validate("kubelet_read_only_port = 1\nkubelet_secure_port = 2"), {
      valid: false,
      notes:
        buildConfig("kubelet_read_only_port = 1\nkubelet_secure_port = 2", { trustDomain: "example.org" })
          .problems,
    });
    assert.deepEqual(await host.client.attest(Deno.pid), [], "the earlier good config stays in force");
    await assertCleanExit(host, await host.unload());
  });

  it("loads and unloads 40 times in a row without a failure", async () => {
    const started = performance.now();
    const load: LoadOptions = { hcl: goodConfig(), trustDomain: "example.org" };
    for (let i = 0; i < 40; i++) {
      const host = await start();
      await host.load(load);
      assert.deepEqual(await host.client.attest(Deno.pid), []);
      await assertCleanExit(host, await host.unload());
      await host.dispose();
      hosts.splice(hosts.indexOf(host), 1);
    }
    // Informational only (no timing assertion): shows up in the test output.
    console.log(`40 load/unload cycles took ${Math.round(performance.now() - started)} ms`);
  });

  it("works with an open stdin pipe it never reads", async () => {
    const host = await start({ pipedStdin: true });
    await host.load({ hcl: goodConfig() });
    await assertCleanExit(host, await host.unload());
  });

  it("creates its socket directory under PLUGIN_UNIX_SOCKET_DIR", async () => {
    const base = await Deno.makeTempDir({ prefix: "sockdir" });
    try {
      const host = await start({ env: { PLUGIN_UNIX_SOCKET_DIR: base } });
      assert.equal(dirname(dirname(host.handshake.address)), base);
      await host.load({ hcl: goodConfig() });
      await assertCleanExit(host, await host.unload());
      assert.deepEqual([...Deno.readDirSync(base)], []);
    } finally {
      await Deno.remove(base, { recursive: true });
    }
  });

  it("in tcp mode takes the next port of a narrow range when the first is taken", async () => {
    let blocker: net.Server | null = null;
    let start0 = 0;
    for (let tries = 0; tries < 20 && !blocker; tries++) {
      start0 = 30000 + Math.floor(Math.random() * 20000);
      blocker = await new Promise<net.Server | null>((resolve) => {
        const s = net.createServer();
        s.once("error", () => resolve(null));
        s.listen(start0, "127.0.0.1", () => resolve(s));
      });
    }
    assert.ok(blocker, "could not occupy a port");
    try {
      const host = await start({
        args: ["--transport", "tcp"],
        env: { PLUGIN_MIN_PORT: String(start0), PLUGIN_MAX_PORT: String(start0 + 3) },
      });
      assert.equal(host.handshake.network, "tcp");
      const port = Number(host.handshake.address.split(":")[1]);
      assert.ok(port > start0 && port <= start0 + 3, host.handshake.line);
      assert.equal(host.handshake.line, `1|1|tcp|127.0.0.1:${port}|grpc|`);
      await host.load({ hcl: goodConfig() });
      await assertCleanExit(host, await host.unload());
    } finally {
      await new Promise((resolve) => blocker!.close(resolve));
    }
  });

  it("ignores SIGINT and keeps serving", async () => {
    const host = await start();
    await host.load({ hcl: goodConfig() });
    host.signal("SIGINT");
    for (let i = 0; i < 100 && !host.logEntries().some((e) => e.message.includes("interrupt")); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok(host.logEntries().some((e) => e.message === "plugin received interrupt signal, ignoring"));
    assert.equal((await host.client.health("plugin")).status, 1);
    assert.equal(host.exited, false);
    await assertCleanExit(host, await host.unload());
  });

  it("exits 0 on SIGTERM and removes its socket", async () => {
    const host = await start();
    await host.load({ hcl: goodConfig() });
    host.signal("SIGTERM");
    const result = await host.waitExit(2000);
    assert.deepEqual({ code: result.code, killed: result.killed }, { code: 0, killed: false });
    assert.equal(await exists(host.handshake.address), false);
    assert.equal(await exists(dirname(host.handshake.address)), false);
    assert.deepEqual(host.logProblems(), []);
  });

  it("answers an unknown method with UNIMPLEMENTED and a gRPC content-type", async () => {
    const host = await start();
    await host.load({ hcl: goodConfig() });
    const res = await rawExchange(
      host.handshake,
      "/spire.plugin.agent.workloadattestor.v1.WorkloadAttestor/Nope",
      new Uint8Array(),
    );
    assert.equal(res.headers["grpc-status"], "12");
    assert.match(String(res.headers["content-type"]), /^application\/grpc([+;].*)?$/);
    await assert.rejects(host.client.raw("/unknown.Service/Call", new Uint8Array()), isStatus(12));
    await assertCleanExit(host, await host.unload());
  });

  it("logs uncaught exceptions and unhandled rejections as hclog errors and keeps serving", async () => {
    const host = await start({
      command: sourcePluginCommand("tests/plugin/fixtures/faulty_plugin.ts"),
    });
    await host.load({ hcl: goodConfig() });
    await assert.rejects(host.client.attest(1), isStatus(14, "kubelet unreachable"));
    for (let i = 0; i < 200 && host.logEntries().filter((e) => e.level === "error").length < 2; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const errors = host.logEntries().filter((e) => e.level === "error").map((
      e,
    ) => [e.message, e.fields.error]);
    assert.deepEqual(errors.sort(), [
      ["uncaught exception", "boom from a timer"],
      ["unhandled promise rejection", "rejected and forgotten"],
    ]);
    assert.equal((await host.client.health("plugin")).status, 1, "still serving");
    await assertCleanExit(host, await host.unload());
  });

  it("exits on its own when the host connection goes away and does not come back", async () => {
    const host = await start();
    await host.load({ hcl: goodConfig() });
    host.abandon(); // the agent vanished without Deinit/Shutdown
    const result = await host.waitExit(15_000);
    assert.deepEqual({ code: result.code, killed: result.killed }, { code: 0, killed: false });
    assert.equal(await exists(host.handshake.address), false);
    assert.ok(host.logEntries().some((e) => e.fields.reason === "the host connection is gone"));
  });
});

describe("plugin process run by hand", () => {
  it("without the cookie prints a human explanation on stderr, nothing on stdout, and exits 1", async () => {
    for (const cookie of [null, "wrong", ""]) {
      const run = await runPluginOnce([], { cookie });
      assert.deepEqual(run, { code: 1, stdout: "", stderr: NOT_A_COMMAND_MESSAGE }, `cookie ${cookie}`);
    }
  });

  it("--version and --help work without the cookie", async () => {
    const version = await runPluginOnce(["--version"]);
    assert.equal(version.code, 0);
    assert.match(
      version.stdout,
      /^k8s-attestor \d+\.\d+\.\d+\ndeno 2\.\d+\.\d+ .*\ntarget \S+\nplatform \S+ \S+\n$/,
    );
    const help = await runPluginOnce(["--help"]);
    assert.equal(help.code, 0);
    for (
      const key of [
        "kubelet_secure_port",
        "node_name_env",
        "rekor_url",
        "PLUGIN_UNIX_SOCKET_DIR",
        "plugin_cmd",
      ]
    ) {
      assert.ok(help.stdout.includes(key), key);
    }
    assert.equal(help.stderr, "");
  });

  it("rejects unknown options with exit 2 and a usage hint on stderr", async () => {
    const run = await runPluginOnce(["--bogus"], { cookie: "WorkloadAttestor" });
    assert.equal(run.code, 2);
    assert.equal(run.stdout, "");
    assert.match(run.stderr, /--bogus/);
    const transport = await runPluginOnce(["--transport", "pipe"], { cookie: "WorkloadAttestor" });
    assert.equal(transport.code, 2);
    assert.equal(transport.stderr, 'k8s-attestor: --transport must be "unix" or "tcp", got "pipe"\n');
  });

  it("refuses a host that does not accept protocol version 1", async () => {
    const run = await runPluginOnce([], {
      cookie: "WorkloadAttestor",
      env: { PLUGIN_PROTOCOL_VERSIONS: "2,3" },
    });
    assert.equal(run.code, 1);
    assert.equal(run.stdout, "");
    const lines = run.stderr.trim().split("\n");
    assert.equal(lines.length, 1);
    const verdict = classifyLogLine(lines[0]);
    assert.equal(verdict.kind, "entry");
    assert.deepEqual(
      verdict.kind === "entry" && [verdict.level, verdict.message, verdict.fields.plugin_protocol_versions],
      [
        "error",
        "the host does not accept plugin protocol version 1",
        "2,3",
      ],
    );
  });
});
