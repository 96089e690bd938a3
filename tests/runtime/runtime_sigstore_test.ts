/**
 * The runtime's sigstore wiring, in process: a real fake kubelet on a real socket, the real verifier and
 * factory, an in-memory registry and a scripted signature check. Each Configure loads the trust again and
 * starts with an empty cache; a trust failure fails Configure naming the file and keeps the previous
 * configuration; without a verifier factory a sigstore block is refused.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { demoPodList, randomContainerId } from "../../src/demo/pods.ts";
import type { Config } from "../../src/config/types.ts";
import { AttestorError } from "../../src/errors.ts";
import type { Platform } from "../../src/platform/types.ts";
import { createRuntime } from "../../src/runtime.ts";
import { createSigstoreVerifierFactory } from "../../src/sigstore/factory.ts";
import type { TrustLoader, TrustLoadOptions } from "../../src/sigstore/types.ts";
import { type FakeKubelet, startFakeKubelet } from "../../src/testing/fake_kubelet.ts";
import { testConfig } from "../kubelet/_config.ts";
import { capturingLogger, type LogLine } from "../core/fakes.ts";
import { MemoryRegistry, pushSignedImage, scriptedCheck, TRUST } from "../sigstore/_fakes.ts";

const POD_UID = crypto.randomUUID();
const CONTAINER_ID = randomContainerId();
const PID = 4242;
const REG = "registry.example.com";
const REPO = "web/app";

const platform: Platform = {
  name: "unix",
  transport: "unix",
  createLocator: () => ({
    locate: () => Promise.resolve({ podUid: POD_UID, containerId: CONTAINER_ID, startTime: "4242" }),
  }),
  resolveConfigPath: (p) => p,
};

/** The demo pod list with the workload container's imageID replaced. */
function podsWithImage(imageId: string) {
  const list = demoPodList({ podUid: POD_UID, containerId: CONTAINER_ID, nodeName: "node-1" });
  let found = 0;
  for (const item of list.items as { status: { containerStatuses: Record<string, unknown>[] } }[]) {
    for (const s of item.status.containerStatuses ?? []) {
      if (s.containerID === `containerd://${CONTAINER_ID}`) {
        s.imageID = imageId;
        found++;
      }
    }
  }
  assert.equal(found, 1);
  return list;
}

function sigstoreConfig(k: FakeKubelet, overrides: Partial<NonNullable<Config["sigstore"]>> = {}): Config {
  return testConfig({
    kubeletReadOnlyPort: k.port,
    maxPollAttempts: 2,
    sigstore: {
      skipSignatureVerificationImageList: [],
      allowedSubjects: new Map([["https://issuer.example", ["alice@example.com"]]]),
      rekorUrl: "https://rekor.example/",
      enforceSct: true,
      ...overrides,
    },
  });
}

describe("runtime: sigstore", () => {
  const kubelets: FakeKubelet[] = [];
  after(async () => {
    for (const k of kubelets) await k.stop();
  });
  const signal = () => AbortSignal.timeout(20_000);

  function parts(loadTrust?: TrustLoader) {
    const registry = new MemoryRegistry();
    const loads: TrustLoadOptions[] = [];
    const loader: TrustLoader = loadTrust ?? ((options) => {
      loads.push(options);
      return Promise.resolve(TRUST);
    });
    const factory = createSigstoreVerifierFactory({
      registry,
      checkSignature: scriptedCheck(),
      loadTrust: loader,
    });
    return { registry, loads, factory };
  }

  it("signed image: the signature selectors; each Configure has its own cache", async () => {
    const { registry, loads, factory } = parts();
    const digest = pushSignedImage(registry, REG, REPO, [{
      payload: "ok:alice@example.com",
      signature: "SIG",
    }]);
    const k = await startFakeKubelet({ pods: podsWithImage(`${REG}/${REPO}@${digest}`) });
    kubelets.push(k);
    const lines: LogLine[] = [];
    const runtime = createRuntime({
      platform,
      logger: capturingLogger(lines),
      sigstore: factory,
      env: (name) =>
        ({ TUF_ROOT: "/srv/tuf", SIGSTORE_ROOT_FILE: "/etc/fulcio.pem" } as Record<string, string>)[name],
    });
    try {
      await runtime.apply(sigstoreConfig(k));
      assert.equal(loads.length, 1);
      assert.equal(loads[0].tufCachePath, "/srv/tuf");
      assert.equal(loads[0].env("SIGSTORE_ROOT_FILE"), "/etc/fulcio.pem");
      assert.ok(!lines.some((l) => /not implemented yet/.test(l.message)));
      assert.ok(lines.some((l) => l.message === "Sigstore image signature verification enabled"));
      const selectors = await runtime.attest(PID, signal());
      const cid = `containerd://${CONTAINER_ID}`;
      for (
        const v of [
          `${cid}:image-signature-subject:alice@example.com`,
          `${cid}:image-signature-content:SIG`,
          `${cid}:image-signature-logid:c0d23d6a`,
          `${cid}:image-signature-integrated-time:1700000000`,
          "sigstore-validation:passed",
        ]
      ) assert.ok(selectors.includes(v), v);
      assert.deepEqual(selectors, [...selectors].sort(), "sorted with the others");
      const afterFirst = registry.requests.length;
      assert.deepEqual(await runtime.attest(PID, signal()), selectors);
      assert.equal(registry.requests.length, afterFirst, "cached");
      await runtime.apply(sigstoreConfig(k));
      assert.equal(loads.length, 2, "trust loaded again");
      assert.deepEqual(await runtime.attest(PID, signal()), selectors);
      assert.equal(registry.requests.length, 2 * afterFirst, "the new configuration verified again");
    } finally {
      await runtime.close();
    }
  });

  it("an unsigned image fails the attestation; container selectors disabled: no verification", async () => {
    const { registry, factory } = parts();
    const digest = pushSignedImage(registry, REG, REPO, null);
    const k = await startFakeKubelet({ pods: podsWithImage(`${REG}/${REPO}@${digest}`) });
    kubelets.push(k);
    const runtime = createRuntime({ platform, logger: capturingLogger([]), sigstore: factory });
    try {
      await runtime.apply(sigstoreConfig(k));
      await assert.rejects(runtime.attest(PID, signal()), (err) => {
        assert.ok(err instanceof AttestorError);
        assert.equal(err.reason, "signature-unverified");
        assert.equal(err.message, `no signatures found for image ${REG}/${REPO}@${digest}`);
        return true;
      });
      const requests = registry.requests.length;
      await runtime.apply({ ...sigstoreConfig(k), disableContainerSelectors: true });
      const selectors = await runtime.attest(PID, signal());
      assert.ok(selectors.includes("ns:demo"));
      assert.ok(!selectors.some((s) => s.includes("sigstore") || s.includes("image-signature")));
      assert.equal(registry.requests.length, requests);
    } finally {
      await runtime.close();
    }
  });

  it("a trust failure fails Configure naming the file; the previous configuration stays in force", async () => {
    const k = await startFakeKubelet({ pods: podsWithImage(`${REG}/${REPO}:v1`) });
    kubelets.push(k);
    const failing = parts(() =>
      Promise.reject(new AttestorError("bad-config", "SIGSTORE_ROOT_FILE /etc/bad.pem: no PEM certificate"))
    );
    const runtime = createRuntime({ platform, logger: capturingLogger([]), sigstore: failing.factory });
    try {
      await runtime.apply(testConfig({ kubeletReadOnlyPort: k.port, maxPollAttempts: 2 }));
      await assert.rejects(runtime.apply(sigstoreConfig(k)), {
        reason: "bad-config",
        message:
          "experimental.sigstore: cannot load the sigstore trust material: SIGSTORE_ROOT_FILE /etc/bad.pem: no PEM certificate",
      });
      // The previous configuration (no sigstore block): a tag-only image still attests.
      assert.ok((await runtime.attest(PID, signal())).includes("ns:demo"));
    } finally {
      await runtime.close();
    }
  });

  it("without a verifier factory a sigstore block is refused at Configure", async () => {
    const k = await startFakeKubelet({ pods: podsWithImage(`${REG}/${REPO}:v1`) });
    kubelets.push(k);
    const runtime = createRuntime({ platform, logger: capturingLogger([]), sigstore: null });
    try {
      await assert.rejects(runtime.apply(sigstoreConfig(k)), {
        reason: "bad-config",
        message: "experimental.sigstore: image signature verification is not available in this build",
      });
      assert.equal(runtime.kubeletUrl, null);
    } finally {
      await runtime.close();
    }
  });

  it("a tag-only image fails the attestation under a sigstore block", async () => {
    const { factory, registry } = parts();
    const k = await startFakeKubelet({ pods: podsWithImage(`${REG}/${REPO}:v1`) });
    kubelets.push(k);
    const runtime = createRuntime({ platform, logger: capturingLogger([]), sigstore: factory });
    try {
      await runtime.apply(sigstoreConfig(k));
      await assert.rejects(runtime.attest(PID, signal()), {
        reason: "signature-unverified",
        message: /carries no digest/,
      });
      assert.deepEqual(registry.requests, []);
    } finally {
      await runtime.close();
    }
  });
});
