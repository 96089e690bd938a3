/**
 * The gRPC handlers as plain functions, in process, with no listener and no grpc-js call (the way hono
 * tests its handlers): each handler with plain request objects, settled by `settleUnary` into the status the
 * host would receive. The real plugin, configuration builder and runtime (on the real platform, or with a
 * locator that finds no container) where the behaviour is theirs; a recording runtime or a scripted plugin
 * where a failure has to be provoked. What needs a socket (deadlines, cancellation, streams, frames) is in
 * server_test.ts, process_test.ts and the Go host tests.
 */
import { Buffer } from "node:buffer";
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { HealthCheckResponse_ServingStatus } from "../../src/gen/grpc/health/v1/health.ts";
import { AttestorError, type ErrorReason } from "../../src/errors.ts";
import type { Logger } from "../../src/log.ts";
import { nullLogger } from "../../src/log.ts";
import { platformFor } from "../../src/platform/mod.ts";
import { createAttestorPlugin } from "../../src/plugin/plugin.ts";
import {
  createPluginServices,
  PLUGIN_SERVICE_NAMES,
  type PluginServices,
  settleUnary,
} from "../../src/plugin/services.ts";
import type { AttestorPlugin } from "../../src/plugin/types.ts";
import { type RecordedLine, recordingLogger } from "../../src/testing/recording_logger.ts";
import { fakeBuildConfig, FakeRuntime, hostOnlyPlatform } from "./fakes.ts";

const { SERVING, SERVICE_UNKNOWN } = HealthCheckResponse_ServingStatus;
const CORE = { trustDomain: "example.org" };
/** A real configuration that reads no file and opens no connection when applied. */
const READ_ONLY = { hclConfiguration: "kubelet_read_only_port = 10255", coreConfiguration: CORE };
const signal = () => AbortSignal.timeout(20_000);

/** The real plugin (builder and runtime) on `platform`, behind the handlers. */
function realServices(platform = platformFor(), logger: Logger = nullLogger): PluginServices {
  const plugin = createAttestorPlugin({ logger, platform, getenv: () => undefined });
  return createPluginServices({ plugin, logger });
}

/** Settles a handler call and returns the gRPC code and details the host would receive. */
async function statusOf(run: () => unknown): Promise<[number, string]> {
  const outcome = await settleUnary("Test/Call", nullLogger, run);
  assert.notEqual(outcome.error, null, `expected an error, got ${JSON.stringify(outcome.response)}`);
  return [outcome.error!.code, outcome.error!.details];
}

describe("services: Health", () => {
  const services = realServices();

  it('Check answers SERVING for "plugin" and "", NOT_FOUND naming any other service', async () => {
    assert.deepEqual(services.health.check({ service: "plugin" }), { status: SERVING });
    assert.deepEqual(services.health.check({ service: "" }), { status: SERVING });
    assert.deepEqual(
      await statusOf(() => services.health.check({ service: "other" })),
      [5, 'unknown service "other"'],
    );
  });

  it("List names both served names; Watch sends SERVICE_UNKNOWN for another", () => {
    assert.deepEqual(services.health.list({}), {
      statuses: { "": { status: SERVING }, plugin: { status: SERVING } },
    });
    assert.deepEqual(services.health.watch({ service: "plugin" }), { status: SERVING });
    assert.deepEqual(services.health.watch({ service: "other" }), { status: SERVICE_UNKNOWN });
  });
});

describe("services: Init", () => {
  it("answers exactly the WorkloadAttestor and Config service names and records the host's", async () => {
    const services = realServices();
    assert.deepEqual(services.hostServiceNames(), []);
    assert.deepEqual(
      services.init.init({ hostServiceNames: ["spire.hostservice.common.metrics.v1.Metrics"] }),
      {
        pluginServiceNames: [
          "spire.plugin.agent.workloadattestor.v1.WorkloadAttestor",
          "spire.service.common.config.v1.Config",
        ],
      },
    );
    assert.deepEqual(PLUGIN_SERVICE_NAMES, services.init.init({ hostServiceNames: [] }).pluginServiceNames);
    assert.deepEqual(services.hostServiceNames(), []);
    await services.init.deinit({});
  });
});

describe("services: Config and WorkloadAttestor with the real plugin", () => {
  it('Attest before a successful Configure is FAILED_PRECONDITION "not configured"', async () => {
    const services = realServices();
    assert.deepEqual(await statusOf(() => services.workloadAttestor.attest({ pid: 1 }, signal())), [
      9,
      "not configured",
    ]);
    const [code] = await statusOf(() =>
      services.config.configure({ ...READ_ONLY, hclConfiguration: "x = {" })
    );
    assert.equal(code, 3);
    assert.deepEqual(await statusOf(() => services.workloadAttestor.attest({ pid: 1 }, signal())), [
      9,
      "not configured",
    ], "a refused Configure configures nothing");
    await services.init.deinit({});
  });

  it("Configure refuses bad plugin_data with INVALID_ARGUMENT naming the problem; Validate lists it", async () => {
    const services = realServices();
    const bad = {
      hclConfiguration: "no_such_key = 1\nkubelet_read_only_port = 10255",
      coreConfiguration: CORE,
    };
    const [code, details] = await statusOf(() => services.config.configure(bad));
    assert.equal(code, 3);
    assert.match(details, /^invalid configuration: .*no_such_key/);
    const validated = services.config.validate(bad);
    assert.equal(validated.valid, false);
    assert.equal(validated.notes.length, 1);
    assert.match(validated.notes[0], /no_such_key/);
    assert.deepEqual(services.config.validate(READ_ONLY), { valid: true, notes: [] });
    // A caller in process may send anything: a non-text configuration is a clear refusal, not a crash.
    const notText = { hclConfiguration: 42 as unknown as string, coreConfiguration: CORE };
    assert.deepEqual(await statusOf(() => services.config.configure(notText)), [
      3,
      "invalid configuration: the configuration is not text",
    ]);
    assert.deepEqual(services.config.validate(notText), {
      valid: false,
      notes: ["the configuration is not text"],
    });
    await services.init.deinit({});
  });

  it("Validate notes are clipped to 4 KiB with the original length", () => {
    const services = realServices();
    const key = "k".repeat(10_000);
    const { valid, notes } = services.config.validate({
      hclConfiguration: `${key} = 1`,
      coreConfiguration: CORE,
    });
    assert.equal(valid, false);
    assert.ok(notes.every((n) => new TextEncoder().encode(n).length <= 4096), "every note within 4 KiB");
    assert.ok(notes.some((n) => /…\(truncated, \d+ bytes\)$/.test(n)), notes.join(" | ").slice(0, 300));
  });

  it("Attest refuses a PID that is not a process ID, and a process that does not exist", async () => {
    const services = realServices();
    await services.config.configure(READ_ONLY);
    for (const pid of [0, -1, 1.5]) {
      assert.deepEqual(await statusOf(() => services.workloadAttestor.attest({ pid }, signal())), [
        3,
        `invalid pid ${pid}: must be a positive integer`,
      ]);
    }
    const [code, details] = await statusOf(() =>
      services.workloadAttestor.attest({ pid: 2 ** 31 - 1 }, signal())
    );
    assert.equal(code, 5);
    assert.match(details, /^process 2147483647 does not exist/);
    await services.init.deinit({});
  });

  it("Attest answers the real runtime's selectors once configured: none for a process outside containers", async () => {
    const located: number[] = [];
    const services = realServices(hostOnlyPlatform(located));
    await services.config.configure(READ_ONLY);
    assert.deepEqual(await services.workloadAttestor.attest({ pid: 4242 }, signal()), { selectorValues: [] });
    assert.deepEqual(located, [4242]);
    await services.init.deinit({});
  });

  it('after Deinit, Attest and Configure are UNAVAILABLE "the plugin is shutting down"', async () => {
    const services = realServices(hostOnlyPlatform());
    await services.config.configure(READ_ONLY);
    await services.init.deinit({});
    assert.deepEqual(await statusOf(() => services.workloadAttestor.attest({ pid: 1 }, signal())), [
      14,
      "the plugin is shutting down",
    ]);
    assert.deepEqual(await statusOf(() => services.config.configure(READ_ONLY)), [
      14,
      "the plugin is shutting down",
    ]);
  });

  it("Configure without core configuration hands the builder no trust domain", async () => {
    const runtime = new FakeRuntime();
    const plugin = createAttestorPlugin({ buildConfig: fakeBuildConfig, runtime, logger: nullLogger });
    const services = createPluginServices({ plugin, logger: nullLogger });
    await services.config.configure({ hclConfiguration: "node=n2", coreConfiguration: undefined });
    assert.equal(runtime.applied.at(-1)?.trustDomain, "");
    await services.config.configure({ hclConfiguration: "node=n1", coreConfiguration: CORE });
    assert.equal(runtime.applied.at(-1)?.trustDomain, "example.org");
  });

  it("Attest hands the plugin the caller's signal", async () => {
    const runtime = new FakeRuntime();
    const plugin = createAttestorPlugin({ buildConfig: fakeBuildConfig, runtime, logger: nullLogger });
    const services = createPluginServices({ plugin, logger: nullLogger });
    const s = signal();
    assert.deepEqual(await services.workloadAttestor.attest({ pid: 3 }, s), {
      selectorValues: ["pid:3", "node:undefined"],
    });
    assert.equal(runtime.signals[0], s);
  });

  it("AttestReference is FAILED_PRECONDITION before Configure (it used to answer UNIMPLEMENTED)", async () => {
    const services = realServices();
    const reference = {
      typeUrl: "type.googleapis.com/spiffe.broker.WorkloadPIDReference",
      value: Buffer.from([8, 1]),
    };
    for (const request of [{ reference }, { reference: undefined }]) {
      assert.deepEqual(
        await statusOf(() => services.workloadAttestor.attestReference(request, signal(), [])),
        [9, "not configured"],
      );
    }
  });

  it("AttestReference hands the reference, the broker caller IDs and the signal to the plugin", async () => {
    const runtime = new FakeRuntime();
    const plugin = createAttestorPlugin({ buildConfig: fakeBuildConfig, runtime, logger: nullLogger });
    const services = createPluginServices({ plugin, logger: nullLogger });
    const s = signal();
    const reference = { typeUrl: "t", value: Buffer.from([1]) };
    assert.deepEqual(
      await services.workloadAttestor.attestReference({ reference }, s, ["spiffe://example.org/b"]),
      { selectorValues: ["ref:t", "caller:spiffe://example.org/b"] },
    );
    assert.deepEqual(runtime.references, [{
      reference: { typeUrl: "t", value: Buffer.from([1]) },
      brokerCallerIds: ["spiffe://example.org/b"],
    }]);
    assert.equal(runtime.signals[0], s);
    await services.workloadAttestor.attestReference({ reference: undefined }, s, []);
    assert.equal(runtime.references[1].reference, null);
  });
});

describe("services: go-plugin controller and broker", () => {
  it("Shutdown answers an empty message; the broker keeps the latest ConnInfo per service id", () => {
    const services = realServices();
    assert.deepEqual(services.controller.shutdown({}), {});
    assert.equal(services.broker.connInfo(1), undefined);
    services.broker.receive({ serviceId: 1, network: "unix", address: "/tmp/a", knock: undefined });
    services.broker.receive({ serviceId: 2, network: "unix", address: "/tmp/b", knock: undefined });
    services.broker.receive({ serviceId: 1, network: "unix", address: "/tmp/c", knock: undefined });
    assert.equal(services.broker.connInfo(1)?.address, "/tmp/c");
    assert.equal(services.broker.connInfo(2)?.address, "/tmp/b");
  });
});

/** A plugin whose every method throws `thrown`. */
function throwingPlugin(thrown: unknown): AttestorPlugin {
  return {
    configure: () => Promise.reject(thrown),
    validate: () => {
      throw thrown;
    },
    attest: () => Promise.reject(thrown),
    attestReference: () => Promise.reject(thrown),
    deinit: () => Promise.reject(thrown),
  };
}

describe("services: error mapping per handler (settleUnary)", () => {
  /** One reason per gRPC code the plugin sends (every row is in tests/plugin/grpc_status_test.ts). */
  const GRPC_CODE: ReadonlyArray<[ErrorReason, number]> = [
    ["cancelled", 1],
    ["bad-config", 3],
    ["pod-not-listed", 4],
    ["process-gone", 5],
    ["os-denied", 7],
    ["not-configured", 9],
    ["unsupported", 12],
    ["internal", 13],
    ["fetcher-closed", 14],
  ];
  const handlers = (services: PluginServices) => ({
    "Config/Configure": () => services.config.configure(READ_ONLY),
    "Config/Validate": () => services.config.validate(READ_ONLY),
    "WorkloadAttestor/Attest": () => services.workloadAttestor.attest({ pid: 1 }, signal()),
    "Init/Deinit": () => services.init.deinit({}),
  });

  it("every handler answers a domain error with its reason's code and its message, on one ASCII line", async () => {
    for (const [reason, grpcCode] of GRPC_CODE) {
      const thrown = new AttestorError(reason, `refused (${reason})\nsecond line é`);
      const services = createPluginServices({ plugin: throwingPlugin(thrown), logger: nullLogger });
      for (const [method, call] of Object.entries(handlers(services))) {
        assert.deepEqual(await statusOf(call), [grpcCode, `refused (${reason}); second line ?`], method);
      }
    }
  });

  it("every handler answers an unexpected error INTERNAL with a fixed text and logs it with its stack", async () => {
    const lines: RecordedLine[] = [];
    const logger = recordingLogger(lines);
    const services = createPluginServices({
      plugin: throwingPlugin(new RangeError("secret detail")),
      logger,
    });
    for (const [method, call] of Object.entries(handlers(services))) {
      lines.length = 0;
      const outcome = await settleUnary(method, logger, call);
      assert.deepEqual(
        [outcome.error?.code, outcome.error?.details],
        [13, "internal error (details are in the plugin log)"],
        method,
      );
      assert.equal(lines.length, 1);
      assert.equal(lines[0].level, "error");
      assert.equal(lines[0].message, "call failed with an unexpected error");
      assert.equal(lines[0].fields.method, method);
      assert.equal(lines[0].fields.error, "secret detail");
      assert.match(String(lines[0].fields.stack), /RangeError: secret detail/);
    }
  });

  it("logs a refusal with its reason and code at debug level, INTERNAL at error level; a response as is", async () => {
    const lines: RecordedLine[] = [];
    const logger = recordingLogger(lines);
    await settleUnary("Config/Configure", logger, () => {
      throw new AttestorError("bad-config", "bad");
    });
    await settleUnary("Init/Deinit", logger, () => Promise.reject(new AttestorError("os-failed", "broken")));
    assert.deepEqual(lines, [
      {
        level: "debug",
        message: "call failed",
        fields: { method: "Config/Configure", reason: "bad-config", code: "INVALID_ARGUMENT", error: "bad" },
      },
      {
        level: "error",
        message: "call failed",
        fields: { method: "Init/Deinit", reason: "os-failed", code: "INTERNAL", error: "broken" },
      },
    ]);
    assert.deepEqual(await settleUnary("Init/Deinit", logger, () => Promise.resolve({})), {
      response: {},
      error: null,
    });
    assert.equal(lines.length, 2, "a success is not logged");
  });
});
