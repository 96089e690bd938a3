/**
 * The attestation runtime across Configure calls (issue 9, finding 6), in process: the real kubelet client,
 * fetcher and core against two real fake kubelets on real sockets, with a scripted locator. A Configure that
 * changes the pod source is a clean cut: no answer afterwards comes from the old kubelet, including for an
 * attestation that was already waiting on it.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { demoPodList, randomContainerId } from "../../src/demo/pods.ts";
import type { Config } from "../../src/config/types.ts";
import { AttestorError } from "../../src/errors.ts";
import type { ContainerLocation, LocatorOptions, Platform } from "../../src/platform/types.ts";
import { buildConfig } from "../../src/config/build.ts";
import { createRuntime, samePodSource } from "../../src/runtime.ts";
import { type FakeKubelet, startFakeKubelet } from "../../src/testing/fake_kubelet.ts";
import { expectedWebAppSelectors } from "../testdata/demo_pod_selectors.ts";
import { testConfig } from "../kubelet/_config.ts";
import { capturingLogger, type LogLine } from "../core/fakes.ts";

const POD_UID = crypto.randomUUID();
const CONTAINER_ID = randomContainerId();
const PID = 4242;

/** A platform whose locator puts every PID in the same container; `gate` holds locate calls while set. */
function scriptedPlatform() {
  const location: ContainerLocation = { podUid: POD_UID, containerId: CONTAINER_ID, startTime: "4242" };
  const state = {
    gate: null as Promise<void> | null,
    locatorOptions: [] as LocatorOptions[],
  };
  const platform: Platform = {
    name: "unix",
    transport: "unix",
    createLocator(options) {
      state.locatorOptions.push(options);
      return {
        async locate() {
          if (state.gate) await state.gate;
          return location;
        },
      };
    },
    resolveConfigPath: (p) => p,
  };
  return { platform, state };
}

/** Starts an attest that waits in the locator until `release` is called. */
function attestHeldInLocator(
  runtime: { attest(pid: number, signal: AbortSignal): Promise<string[]> },
  state: { gate: Promise<void> | null },
) {
  let open!: () => void;
  state.gate = new Promise<void>((resolve) => open = resolve);
  const locating = runtime.attest(PID, AbortSignal.timeout(20_000));
  return {
    locating,
    release: () => {
      state.gate = null;
      open();
    },
  };
}

/** The demo pod list on node `node`: the node name shows in the selectors, so A's and B's answers differ. */
function podsOn(node: string) {
  return demoPodList({ podUid: POD_UID, containerId: CONTAINER_ID, nodeName: node });
}

const RECONFIGURED = /^the plugin was reconfigured while this attestation was in progress /;

function isReconfigured(err: unknown): true {
  assert.ok(err instanceof AttestorError, String(err));
  assert.equal(err.reason, "reconfigured");
  assert.match(err.message, RECONFIGURED);
  return true;
}

describe("runtime: Configure is a clean cut", () => {
  const kubelets: FakeKubelet[] = [];
  after(async () => {
    for (const k of kubelets) await k.stop();
  });
  const start = async (node: string) => {
    const k = await startFakeKubelet({ pods: podsOn(node) });
    kubelets.push(k);
    return k;
  };
  const configFor = (k: FakeKubelet, overrides: Partial<Config> = {}) =>
    testConfig({
      kubeletReadOnlyPort: k.port,
      pollRetryIntervalMs: 3_600_000,
      maxPollAttempts: 2,
      ...overrides,
    });
  const signal = () => AbortSignal.timeout(20_000);

  it("after Configure to kubelet B the next attest asks B and answers with B's pods", async () => {
    const [a, b] = [await start("node-a"), await start("node-b")];
    const lines: LogLine[] = [];
    const { platform } = scriptedPlatform();
    const runtime = createRuntime({ platform, logger: capturingLogger(lines) });
    try {
      await runtime.apply(configFor(a));
      assert.deepEqual(await runtime.attest(PID, signal()), expectedWebAppSelectors(POD_UID, "node-a"));
      await runtime.apply(configFor(b));
      assert.deepEqual(await runtime.attest(PID, signal()), expectedWebAppSelectors(POD_UID, "node-b"));
      assert.equal(a.requestCount, 1);
      assert.equal(b.requestCount, 1);
      assert.ok(lines.some((l) => l.message.startsWith("New pod source settings")));
    } finally {
      await runtime.close();
    }
  });

  it("Configure to B closes the connection kept alive to A; close closes B's", async () => {
    const [a, b] = [await start("node-a"), await start("node-b")];
    const { platform } = scriptedPlatform();
    const runtime = createRuntime({ platform, logger: capturingLogger([]) });
    // Well within the fake kubelet's own idle timeout (node:http's 5 s), which would close it too.
    const closedOn = async (k: FakeKubelet) => {
      for (const until = performance.now() + 2_000; k.openConnections > 0;) {
        assert.ok(performance.now() < until, "the kept-alive connection was not closed");
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    try {
      await runtime.apply(configFor(a));
      await runtime.attest(PID, signal());
      assert.equal(a.openConnections, 1, "kept alive after the answer");
      await runtime.apply(configFor(b));
      await closedOn(a);
      await runtime.attest(PID, signal());
      assert.equal(b.openConnections, 1);
    } finally {
      await runtime.close();
    }
    await closedOn(b);
  });

  it("an attest waiting on a slow kubelet A when Configure to B returns fails; the next one asks B", async () => {
    const [a, b] = [await start("node-a"), await start("node-b")];
    a.setFault({ delayMs: 2_000 });
    const { platform } = scriptedPlatform();
    const runtime = createRuntime({ platform, logger: capturingLogger([]) });
    try {
      await runtime.apply(configFor(a));
      const waiting = runtime.attest(PID, signal());
      while (a.requestCount === 0) await new Promise((r) => setTimeout(r, 5));
      const configuredAt = performance.now();
      await runtime.apply(configFor(b));
      await assert.rejects(waiting, isReconfigured);
      assert.ok(performance.now() - configuredAt < 1_500, "released at once, not when A answers");
      assert.deepEqual(await runtime.attest(PID, signal()), expectedWebAppSelectors(POD_UID, "node-b"));
      assert.equal(b.requestCount, 1);
    } finally {
      await runtime.close();
    }
  });

  it("an attest still locating when Configure changes the pod source is not answered from A's cached list", async () => {
    const [a, b] = [await start("node-a"), await start("node-b")];
    const { platform, state } = scriptedPlatform();
    const runtime = createRuntime({ platform, logger: capturingLogger([]) });
    try {
      await runtime.apply(configFor(a));
      assert.deepEqual(await runtime.attest(PID, signal()), expectedWebAppSelectors(POD_UID, "node-a"));
      const { locating, release } = attestHeldInLocator(runtime, state);
      await runtime.apply(configFor(b));
      release();
      await assert.rejects(locating, isReconfigured);
      assert.equal(a.requestCount, 1);
    } finally {
      await runtime.close();
    }
  });

  it("each setting of the pod source is a clean cut: node name, credentials, locator, selectors mode", async () => {
    const a = await start("node-a");
    const changes: Partial<Config>[] = [
      { useNewContainerLocator: false },
      { verboseContainerLocatorLogs: true },
      { disableContainerSelectors: true },
      { nodeName: "other-node" },
      { tokenPath: "/elsewhere/token" },
      { kubeletCaPath: "/elsewhere/ca.crt" },
      { useAnonymousAuthentication: true },
      { skipKubeletVerification: true },
      { certificatePath: "/c.pem", privateKeyPath: "/k.pem" },
      { kubeletSecurePort: 10251 },
      { trustDomain: "other.org" },
    ];
    for (const change of changes) {
      const { platform } = scriptedPlatform();
      const runtime = createRuntime({ platform, logger: capturingLogger([]) });
      try {
        await runtime.apply(configFor(a));
        await runtime.attest(PID, signal());
        const before = a.requestCount;
        // The read-only port ignores TLS settings, so every change here keeps kubelet A reachable.
        await runtime.apply(configFor(a, change));
        await runtime.attest(PID, signal());
        assert.equal(a.requestCount, before + 1, `${JSON.stringify(change)}: the cached list was discarded`);
      } finally {
        await runtime.close();
      }
    }
  });

  it("a Configure that changes only pacing keeps the cache and lets a running attest finish", async () => {
    const a = await start("node-a");
    const { platform, state } = scriptedPlatform();
    const runtime = createRuntime({ platform, logger: capturingLogger([]) });
    try {
      await runtime.apply(configFor(a));
      assert.deepEqual(await runtime.attest(PID, signal()), expectedWebAppSelectors(POD_UID, "node-a"));
      const { locating, release } = attestHeldInLocator(runtime, state);
      await runtime.apply(
        configFor(a, { pollRetryIntervalMs: 7_200_000, maxPollAttempts: 3, reloadIntervalMs: 1 }),
      );
      release();
      assert.deepEqual(await locating, expectedWebAppSelectors(POD_UID, "node-a"));
      assert.equal(a.requestCount, 1, "served from the kept cache");
    } finally {
      await runtime.close();
    }
  });
});

describe("samePodSource", () => {
  const base = testConfig();
  it("ignores only max_poll_attempts, poll_retry_interval and reload_interval", () => {
    assert.equal(samePodSource(base, { ...base }), true);
    assert.equal(
      samePodSource(base, { ...base, maxPollAttempts: 1, pollRetryIntervalMs: 1, reloadIntervalMs: 1 }),
      true,
    );
    assert.equal(samePodSource(base, { ...base, kubeletReadOnlyPort: 10255 }), false);
  });

  it("compares nested settings structurally, Maps included", () => {
    const sigstore = (subjects: [string, string[]][]) => ({
      skipSignatureVerificationImageList: ["sha256:aa"],
      allowedSubjects: new Map(subjects),
      rekorUrl: "https://rekor.example",
      enforceSct: true,
    });
    const one = { ...base, sigstore: sigstore([["issuer", ["a"]]]) };
    assert.equal(samePodSource(one, { ...base, sigstore: sigstore([["issuer", ["a"]]]) }), true);
    assert.equal(samePodSource(one, { ...base, sigstore: sigstore([["issuer", ["b"]]]) }), false);
    assert.equal(samePodSource(one, base), false);
  });

  it("sees a change inside the configuration's read-only maps (brokers, sigstore subjects) as built", () => {
    // buildConfig freezes maps as ImmutableMap, which is not a Map: a broker removed or narrowed, or a
    // sigstore subject changed, must still be a clean cut (no in-flight call finishes under the old grant).
    const build = (hcl: string) => {
      const { config, problems } = buildConfig(hcl, { trustDomain: "example.org" });
      assert.deepEqual(problems, []);
      return config!;
    };
    const brokers = (scope: string, ids: string[]) =>
      build(
        `experimental { broker { access_policy = "enforced" brokers = [${
          ids.map((id) => `{ id = "spiffe://example.org/${id}", pod_reference_scope = "${scope}" }`).join(
            ", ",
          )
        }] } }`,
      );
    assert.equal(samePodSource(brokers("cluster", ["a", "b"]), brokers("cluster", ["a", "b"])), true);
    assert.equal(samePodSource(brokers("cluster", ["a", "b"]), brokers("cluster", ["a"])), false);
    assert.equal(samePodSource(brokers("cluster", ["a"]), brokers("agent_node", ["a"])), false);
    const sigstore = (subject: string) =>
      build(`experimental { sigstore {
  rekor_url = "https://rekor.example"
  allowed_subjects_list { "https://issuer.example" = ["${subject}"] }
} }`);
    assert.equal(samePodSource(sigstore("a@example.org"), sigstore("a@example.org")), true);
    assert.equal(samePodSource(sigstore("a@example.org"), sigstore("b@example.org")), false);
  });
});

describe("runtime: the one owner of the configuration state", () => {
  const NOT_CONFIGURED = { reason: "not-configured", message: "not configured" };
  const SHUTTING_DOWN = { reason: "shutting-down", message: "the plugin is shutting down" };
  const signal = () => AbortSignal.timeout(20_000);

  it('before the first apply, attest is "not configured", also once closed', async () => {
    const { platform } = scriptedPlatform();
    const runtime = createRuntime({ platform, logger: capturingLogger([]) });
    await assert.rejects(runtime.attest(PID, signal()), NOT_CONFIGURED);
    await assert.rejects(runtime.attestDetailed(PID, signal()), NOT_CONFIGURED);
    await runtime.close();
    await assert.rejects(runtime.attest(PID, signal()), NOT_CONFIGURED);
    await assert.rejects(runtime.apply(testConfig()), SHUTTING_DOWN);
    assert.equal(runtime.kubeletUrl, null);
  });

  it('once configured and closed, attest and apply are "the plugin is shutting down"', async () => {
    const { platform } = scriptedPlatform();
    const runtime = createRuntime({ platform, logger: capturingLogger([]) });
    await runtime.apply(testConfig({ kubeletReadOnlyPort: 10255 }));
    await runtime.close();
    await assert.rejects(runtime.attest(PID, signal()), SHUTTING_DOWN);
    await assert.rejects(runtime.apply(testConfig({ kubeletReadOnlyPort: 10255 })), SHUTTING_DOWN);
  });
});
