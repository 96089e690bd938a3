import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Deadline, ServiceError } from "@grpc/grpc-js";
import { EventEmitter } from "node:events";
import { AttestorError } from "../../src/errors.ts";
import { nullLogger } from "../../src/log.ts";
import { listen, type PluginListener } from "../../src/plugin/listener.ts";
import { createAttestorPlugin } from "../../src/plugin/plugin.ts";
import { callAbortSignal, createPluginServer, type PluginServer } from "../../src/plugin/server.ts";
import { type Handshake, PluginClient, rawExchange } from "../../src/testing/plugin_host.ts";
import { fakeBuildConfig, FakeRuntime } from "./fakes.ts";

/** grpc-go's rule for a response content-type (`http2_client.go` operateHeaders). */
const GRPC_CONTENT_TYPE = /^application\/grpc([+;].*)?$/;

const isStatus = (code: number, details?: string) => (e: unknown) => {
  const err = e as ServiceError;
  assert.equal(err.code, code, `code (details: ${err.details})`);
  if (details !== undefined) assert.equal(err.details, details);
  return true;
};

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

interface Fixture {
  runtime: FakeRuntime;
  server: PluginServer;
  listener: PluginListener;
  client: PluginClient;
  handshake: Handshake;
  shutdowns: number;
}

async function startFixture(): Promise<Fixture> {
  const runtime = new FakeRuntime();
  const plugin = createAttestorPlugin({
    buildConfig: fakeBuildConfig,
    runtime,
    logger: nullLogger,
    getenv: () => undefined,
  });
  const fixture = { runtime, shutdowns: 0 } as Fixture;
  fixture.server = createPluginServer({
    plugin,
    logger: nullLogger,
    onShutdownRequested: () => fixture.shutdowns++,
  });
  fixture.listener = await listen({
    transport: "unix",
    getenv: () => undefined,
    logger: nullLogger,
    onConnection: (s) => fixture.server.injectConnection(s),
  });
  fixture.handshake = { line: "", network: "unix", address: fixture.listener.address };
  fixture.client = new PluginClient(`unix:${fixture.listener.address}`);
  return fixture;
}

async function stopFixture(f: Fixture): Promise<void> {
  f.client.close();
  f.server.close();
  await f.listener.close();
}

describe("plugin gRPC server over a real unix socket (handlers: services_test.ts)", () => {
  let f: Fixture;
  before(async () => f = await startFixture());
  after(() => stopFixture(f));

  it("Configure applies a good config; Attest returns the runtime's values", async () => {
    await f.client.configure("node=n1", "example.org");
    assert.equal(f.runtime.applied.at(-1)?.trustDomain, "example.org");
    assert.deepEqual(await f.client.attest(42), ["pid:42", "node:n1"]);
  });

  it("sends the status of what a handler threw (domain code kept, unknown errors INTERNAL)", async () => {
    f.runtime.failAttest = new AttestorError("process-gone", "process 99 does not exist");
    await assert.rejects(f.client.attest(99), isStatus(5, "process 99 does not exist"));
    f.runtime.failAttest = new RangeError("oops");
    await assert.rejects(f.client.attest(99), isStatus(13, "internal error (details are in the plugin log)"));
    f.runtime.failAttest = null;
  });

  it("aborts the attest signal when the call deadline passes", async () => {
    f.runtime.hang = true;
    const before = f.runtime.aborts.length;
    try {
      await assert.rejects(f.client.attest(5, { timeoutMs: 50 }), isStatus(4));
      await until(() => f.runtime.aborts.length > before, "the abort");
      const reason = f.runtime.aborts.at(-1);
      assert.ok(reason instanceof AttestorError);
      assert.ok(reason.reason === "deadline-exceeded" || reason.reason === "cancelled", reason.reason);
    } finally {
      f.runtime.hang = false;
    }
  });

  it("aborts the attest signal when the host cancels the call", async () => {
    f.runtime.hang = true;
    const before = f.runtime.aborts.length;
    const controller = new AbortController();
    try {
      const call = f.client.attest(6, { signal: controller.signal });
      await until(() => f.runtime.signals.length > 0 && !f.runtime.signals.at(-1)!.aborted, "the call");
      controller.abort();
      await assert.rejects(call, isStatus(1));
      await until(() => f.runtime.aborts.length > before, "the abort");
      assert.deepEqual(
        [
          (f.runtime.aborts.at(-1) as AttestorError).reason,
          (f.runtime.aborts.at(-1) as AttestorError).message,
        ],
        ["cancelled", "context canceled"],
      );
    } finally {
      f.runtime.hang = false;
    }
    assert.deepEqual(await f.client.attest(7), ["pid:7", "node:n1"], "still serving after a cancellation");
  });

  it("serves concurrent Attest calls", async () => {
    const pids = Array.from({ length: 50 }, (_, i) => 1000 + i);
    const results = await Promise.all(pids.map((pid) => f.client.attest(pid)));
    assert.deepEqual(results, pids.map((pid) => [`pid:${pid}`, "node:n1"]));
  });

  it("holds the broker stream open and records the host's ConnInfo", async () => {
    const broker = f.client.openBroker();
    let ended = false;
    broker.on("data", () => {});
    broker.on("error", () => ended = true);
    broker.on("end", () => ended = true);
    broker.write({ serviceId: 1, network: "unix", address: "/tmp/plugin123", knock: undefined });
    await until(() => f.server.brokerConnInfo(1) !== undefined, "the ConnInfo");
    assert.deepEqual(
      { ...f.server.brokerConnInfo(1) },
      { serviceId: 1, network: "unix", address: "/tmp/plugin123", knock: undefined },
    );
    assert.deepEqual(
      await f.client.attest(8),
      ["pid:8", "node:n1"],
      "other calls flow while the broker is open",
    );
    assert.equal(ended, false);
    broker.cancel();
  });

  it("holds the stdio stream open without sending anything", async () => {
    const stdio = f.client.openStdio();
    let events = 0;
    stdio.on("data", () => events++);
    stdio.on("error", () => events++);
    stdio.on("end", () => events++);
    const metadata = new Promise((resolve) => stdio.once("metadata", resolve));
    await metadata;
    await f.client.health("plugin");
    assert.equal(events, 0);
    stdio.cancel();
  });

  it("answers an unknown method with Trailers-Only UNIMPLEMENTED carrying a gRPC content-type", async () => {
    const res = await rawExchange(f.handshake, "/no.such.Service/Method", new Uint8Array());
    assert.equal(res.headers[":status"], 200);
    assert.match(String(res.headers["content-type"]), GRPC_CONTENT_TYPE);
    assert.equal(res.headers["grpc-status"], "12");
    assert.equal(res.trailers, null, "Trailers-Only: status in the only HEADERS frame");
    assert.equal(res.data.length, 0);
    await assert.rejects(f.client.raw("/no.such.Service/Method", new Uint8Array()), isStatus(12));
  });

  it("sends domain errors as Trailers-Only with content-type and an ASCII grpc-message", async () => {
    // ConfigureRequest{hcl_configuration: "problem:é"}; the builder echoes the problem text.
    const hcl = new TextEncoder().encode("problem:caf\u00e9");
    const res = await rawExchange(
      f.handshake,
      "/spire.service.common.config.v1.Config/Configure",
      new Uint8Array([0x12, hcl.length, ...hcl]),
    );
    assert.match(String(res.headers["content-type"]), GRPC_CONTENT_TYPE);
    assert.equal(res.headers["grpc-status"], "3");
    const message = String(res.headers["grpc-message"]);
    assert.match(message, /^[\x20-\x7e]*$/, "printable ASCII on the wire");
    assert.equal(decodeURIComponent(message), "invalid configuration: caf?");
  });

  it("sends exactly one (empty) message and grpc-status 0 in trailers for an empty unary response", async () => {
    const res = await rawExchange(
      f.handshake,
      "/spire.service.common.config.v1.Config/Configure",
      new Uint8Array(),
    );
    // "" with no core configuration is accepted by the fake builder.
    assert.match(String(res.headers["content-type"]), GRPC_CONTENT_TYPE);
    assert.deepEqual([...res.data], [0, 0, 0, 0, 0]);
    assert.equal(res.trailers?.["grpc-status"], "0");
    await f.client.configure("node=n1", "example.org");
  });

  it("Deinit closes the runtime; Shutdown replies and asks the process to stop", async () => {
    await f.client.deinit();
    assert.equal(f.runtime.closed, 1);
    await f.client.shutdown();
    assert.equal(f.shutdowns, 1);
  });
});

describe("callAbortSignal (no socket: a stand-in call)", () => {
  const fakeCall = (deadline: Deadline) => Object.assign(new EventEmitter(), { getDeadline: () => deadline });

  it("aborts with CANCELLED when the host cancels the call, and not after release", () => {
    const call = fakeCall(Infinity);
    const first = callAbortSignal(call);
    call.emit("cancelled");
    assert.deepEqual([first.signal.reason.reason, first.signal.reason.message], [
      "cancelled",
      "context canceled",
    ]);
    first.release();
    const second = callAbortSignal(call);
    second.release();
    call.emit("cancelled");
    assert.equal(second.signal.aborted, false, "released: the listener is gone");
    assert.equal(call.listenerCount("cancelled"), 0);
  });

  it("aborts with DEADLINE_EXCEEDED when the deadline passes (also one already past)", async () => {
    for (const deadline of [Date.now() + 20, new Date(Date.now() - 1000)]) {
      const { signal, release } = callAbortSignal(fakeCall(deadline));
      await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
      assert.deepEqual([signal.reason.reason, signal.reason.message], [
        "deadline-exceeded",
        "context deadline exceeded",
      ]);
      release();
    }
  });

  it("sets no timer without a deadline or with one beyond what a timer holds", async () => {
    for (const deadline of [Infinity, Date.now() + 2 ** 31 + 60_000]) {
      const { signal, release } = callAbortSignal(fakeCall(deadline));
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(signal.aborted, false, String(deadline));
      release();
    }
  });
});
