import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Config } from "../../src/config/types.ts";
import { AttestorError } from "../../src/errors.ts";
import { nullLogger } from "../../src/log.ts";
import { testConfig } from "../kubelet/_config.ts";
import { createAttestorPlugin } from "../../src/plugin/plugin.ts";
import { createRuntime } from "../../src/runtime.ts";
import { fakeBuildConfig, FakeRuntime, hostOnlyPlatform } from "./fakes.ts";

const core = { trustDomain: "example.org" };
const signal = () => new AbortController().signal;
/** A real configuration that reads no file and opens no connection when applied. */
const READ_ONLY = "kubelet_read_only_port = 10255";
const NOT_CONFIGURED = { reason: "not-configured", message: "not configured" };
const SHUTTING_DOWN = { reason: "shutting-down", message: "the plugin is shutting down" };

/** The real plugin (builder and runtime) on a platform whose locator finds no container. */
const realPlugin = () => createAttestorPlugin({ logger: nullLogger, platform: hostOnlyPlatform() });
/** The plugin over the stand-in builder and a recording runtime. */
const fakePlugin = (runtime: FakeRuntime, getenv: (name: string) => string | undefined = () => undefined) =>
  createAttestorPlugin({ buildConfig: fakeBuildConfig, runtime, logger: nullLogger, getenv });

describe("createAttestorPlugin", () => {
  it("refuses Attest before a successful Configure with the runtime's not-configured", async () => {
    const plugin = realPlugin();
    await assert.rejects(plugin.attest(1, signal()), NOT_CONFIGURED);
    await plugin.deinit();
  });

  it("without a runtime given, runs the real one on the platform (no UNIMPLEMENTED scaffolding)", async () => {
    const located: number[] = [];
    const plugin = createAttestorPlugin({ logger: nullLogger, platform: hostOnlyPlatform(located) });
    await plugin.configure(READ_ONLY, core);
    assert.deepEqual(
      await plugin.attest(4242, signal()),
      [],
      "a process outside containers has no selectors",
    );
    assert.deepEqual(located, [4242], "the platform's locator ran");
    await plugin.deinit();
  });

  it("keeps no configuration state of its own: the runtime's state is the plugin's", async () => {
    const runtime = createRuntime({ platform: hostOnlyPlatform(), logger: nullLogger });
    const plugin = createAttestorPlugin({ logger: nullLogger, runtime });
    // An embedder that configures the runtime directly gets answers through the plugin at once.
    await runtime.apply(testConfig({ kubeletReadOnlyPort: 10255 }));
    assert.deepEqual(await plugin.attest(7, signal()), []);
    await plugin.deinit();
    await assert.rejects(plugin.attest(7, signal()), SHUTTING_DOWN);
  });

  it("after deinit: never configured stays not configured, configured is shutting down", async () => {
    const fresh = realPlugin();
    await fresh.deinit();
    await assert.rejects(fresh.attest(1, signal()), NOT_CONFIGURED);
    await assert.rejects(fresh.configure(READ_ONLY, core), SHUTTING_DOWN);
    await assert.rejects(fresh.attest(1, signal()), NOT_CONFIGURED);

    const used = realPlugin();
    await used.configure(READ_ONLY, core);
    await used.deinit();
    await assert.rejects(used.attest(1, signal()), SHUTTING_DOWN);
  });

  it("uses the real configuration builder by default", async () => {
    const plugin = realPlugin();
    await assert.rejects(plugin.configure("no_such_key = 1", core), {
      reason: "bad-config",
      message: /^invalid configuration: .*no_such_key/,
    });
    assert.equal(plugin.validate(READ_ONLY, core).valid, true);
    await plugin.deinit();
  });

  it("applies the config to the runtime and delegates Attest with the caller's signal", async () => {
    const runtime = new FakeRuntime();
    const plugin = fakePlugin(runtime);
    await plugin.configure("node=a", core);
    const s = signal();
    assert.deepEqual(await plugin.attest(7, s), ["pid:7", "node:a"]);
    assert.equal(runtime.signals[0], s);
    assert.equal(runtime.applied.length, 1);
    assert.equal(runtime.applied[0].trustDomain, "example.org");
  });

  it("passes getenv to the builder", async () => {
    const runtime = new FakeRuntime();
    const plugin = fakePlugin(runtime, (n) => n === "MY_NODE_NAME" ? "envnode" : undefined);
    await plugin.configure("", core);
    assert.equal(runtime.applied[0].nodeName, "envnode");
  });

  it("rejects a bad config with bad-config listing every problem and keeps the previous config", async () => {
    const runtime = new FakeRuntime();
    const plugin = fakePlugin(runtime);
    await plugin.configure("node=first", core);
    await assert.rejects(
      plugin.configure("problem:a is wrong\nproblem:b is wrong", core),
      (e: unknown) =>
        e instanceof AttestorError && e.reason === "bad-config" &&
        e.message === "invalid configuration (2 problems): a is wrong; b is wrong",
    );
    await assert.rejects(plugin.configure("problem:only one", core), {
      message: "invalid configuration: only one",
    });
    assert.equal(runtime.applied.length, 1, "a rejected config never reaches the runtime");
    assert.deepEqual(await plugin.attest(1, signal()), ["pid:1", "node:first"]);
  });

  it("keeps the previous config when the runtime cannot apply the new one", async () => {
    const runtime = new FakeRuntime();
    const plugin = fakePlugin(runtime);
    await plugin.configure("node=first", core);
    runtime.failApply = new AttestorError("bad-config", "kubelet_ca_path: cannot read /nope");
    await assert.rejects(plugin.configure("node=second", core), {
      reason: "bad-config",
      message: "kubelet_ca_path: cannot read /nope",
    });
    runtime.failApply = new Error("boom");
    await assert.rejects(plugin.configure("node=third", core), {
      reason: "internal",
      message: "applying the configuration failed: boom",
    });
    runtime.failApply = null;
    assert.deepEqual(await plugin.attest(1, signal()), ["pid:1", "node:first"]);
  });

  it("stays unconfigured when the first Configure fails", async () => {
    const plugin = realPlugin();
    await assert.rejects(plugin.configure("no_such_key = 1", core), { reason: "bad-config" });
    await assert.rejects(plugin.attest(1, signal()), NOT_CONFIGURED);
    await plugin.deinit();
  });

  it("turns a throwing builder into internal", async () => {
    const plugin = createAttestorPlugin({
      buildConfig: () => {
        throw new Error("bug");
      },
      runtime: new FakeRuntime(),
      logger: nullLogger,
    });
    await assert.rejects(plugin.configure("", core), {
      reason: "internal",
      message: "building the configuration failed: bug",
    });
  });

  it("validates without side effects", () => {
    const runtime = new FakeRuntime();
    const plugin = fakePlugin(runtime);
    assert.deepEqual(plugin.validate("problem:a\nproblem:b", core), { valid: false, notes: ["a", "b"] });
    assert.deepEqual(plugin.validate("node=x", core), { valid: true, notes: [] });
    assert.equal(runtime.applied.length, 0, "Validate does not configure");
  });

  it("applies concurrent Configure calls in request order", async () => {
    const order: string[] = [];
    const runtime = new FakeRuntime();
    runtime.apply = async (config: Config) => {
      // The first apply is the slowest; a later one must still win.
      await new Promise((r) => setTimeout(r, config.nodeName === "one" ? 20 : 1));
      order.push(config.nodeName);
      runtime.applied.push(config);
    };
    const plugin = fakePlugin(runtime);
    await Promise.all([plugin.configure("node=one", core), plugin.configure("node=two", core)]);
    assert.deepEqual(order, ["one", "two"]);
    assert.deepEqual(await plugin.attest(1, signal()), ["pid:1", "node:two"]);
  });

  it("closes the runtime on deinit", async () => {
    const runtime = new FakeRuntime();
    const plugin = fakePlugin(runtime);
    await plugin.deinit();
    assert.equal(runtime.closed, 1);
  });
});
