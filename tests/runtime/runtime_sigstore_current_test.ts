/**
 * The runtime's wiring of the top-level `sigstore` block, in process: a real fake kubelet on a real socket,
 * the real current-form factory and verifier, an in-memory registry holding an image signed and attested
 * by the offline sigstore fixture. Upstream's selectors are added (also with `disable_container_selectors`,
 * as upstream v1.15.3), each Configure gets its own registry client (the block's credentials) and trust,
 * a trust failure fails Configure with the `sigstore:` prefix, and without a factory the block is refused.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { demoPodList, randomContainerId } from "../../src/demo/pods.ts";
import type { Config, SigstoreCurrentConfig } from "../../src/config/types.ts";
import { AttestorError } from "../../src/errors.ts";
import type { Platform } from "../../src/platform/types.ts";
import { createRuntime } from "../../src/runtime.ts";
import { createCurrentSigstoreVerifierFactory } from "../../src/sigstore/factory.ts";
import { attestationTag, signatureTag } from "../../src/sigstore/cosign_layers.ts";
import type { TrustLoader } from "../../src/sigstore/types.ts";
import { type FakeKubelet, startFakeKubelet } from "../../src/testing/fake_kubelet.ts";
import {
  type CosignLayerDescriptor,
  createSigstoreFixture,
  FIXTURE_ISSUER,
  FIXTURE_SUBJECT,
  type SigstoreFixture,
} from "../../src/testing/sigstore_fixtures.ts";
import { testConfig } from "../kubelet/_config.ts";
import { capturingLogger, type LogLine } from "../core/fakes.ts";
import { MemoryRegistry, OCI_MANIFEST, pushSignedImage, sha256 } from "../sigstore/_fakes.ts";

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

function podsWithImage(imageId: string) {
  const list = demoPodList({ podUid: POD_UID, containerId: CONTAINER_ID, nodeName: "node-1" });
  for (const item of list.items as { status: { containerStatuses: Record<string, unknown>[] } }[]) {
    for (const s of item.status.containerStatuses ?? []) {
      if (s.containerID === `containerd://${CONTAINER_ID}`) s.imageID = imageId;
    }
  }
  return list;
}

function putLayers(reg: MemoryRegistry, tag: string, layer: CosignLayerDescriptor, blob: Uint8Array) {
  assert.equal(reg.putBlob(REG, REPO, blob), layer.digest);
  reg.putManifest(REG, REPO, tag, {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha256("{}"), size: 2 },
    layers: [layer],
  });
}

function currentConfig(k: FakeKubelet, overrides: Partial<SigstoreCurrentConfig> = {}): Config {
  return testConfig({
    kubeletReadOnlyPort: k.port,
    maxPollAttempts: 2,
    sigstoreCurrent: {
      allowedIdentities: new Map([[FIXTURE_ISSUER, [FIXTURE_SUBJECT]]]),
      skippedImages: [],
      rekorUrl: "http://127.0.0.1:9/",
      ignoreSct: false,
      ignoreTlog: false,
      ignoreAttestations: false,
      registryCredentials: new Map([[REG, { username: "u", password: "p" }]]),
      ignoredCredentials: [],
      ...overrides,
    },
  });
}

describe("runtime: the top-level sigstore block", () => {
  let fx: SigstoreFixture;
  const kubelets: FakeKubelet[] = [];
  before(async () => {
    fx = await createSigstoreFixture();
  });
  after(async () => {
    for (const k of kubelets) await k.stop();
  });
  const signal = () => AbortSignal.timeout(20_000);

  it("upstream's selectors, also with disable_container_selectors; a registry client per Configure", async () => {
    const registry = new MemoryRegistry();
    const digest = pushSignedImage(registry, REG, REPO, null);
    const signed = await fx.signImage({ digest });
    putLayers(registry, signatureTag(digest), signed.layer, signed.payload);
    const attested = await fx.attestImage({ digest });
    putLayers(registry, attestationTag(digest), attested.layer, attested.envelope);
    const k = await startFakeKubelet({ pods: podsWithImage(`${REG}/${REPO}@${digest}`) });
    kubelets.push(k);
    const clients: SigstoreCurrentConfig[] = [];
    let loads = 0;
    const factory = createCurrentSigstoreVerifierFactory({
      registryFor: (settings) => {
        clients.push(settings);
        return registry;
      },
      loadTrust: () => {
        loads++;
        return Promise.resolve(fx.trust);
      },
    });
    const lines: LogLine[] = [];
    const runtime = createRuntime({ platform, logger: capturingLogger(lines), sigstoreCurrent: factory });
    try {
      await runtime.apply(currentConfig(k));
      assert.ok(!lines.some((l) => /not implemented yet/.test(l.message)), "the old warning is gone");
      assert.ok(lines.some((l) => l.message === "Sigstore image signature verification enabled"));
      assert.equal(clients.length, 1);
      assert.deepEqual([...clients[0].registryCredentials.keys()], [REG]);
      const selectors = await runtime.attest(PID, signal());
      for (
        const v of [
          "image-signature:verified",
          "image-attestations:verified",
          `image-signature-subject:${FIXTURE_SUBJECT}`,
          `image-signature-issuer:${FIXTURE_ISSUER}`,
          `image-signature-value:${signed.signature.signatureB64}`,
        ]
      ) assert.ok(selectors.includes(v), v);
      assert.ok(selectors.includes("container-name:app"));
      assert.ok(!selectors.some((s) => s.startsWith("containerd://")), "no container-ID prefix");
      assert.deepEqual(selectors, [...selectors].sort(), "sorted with the others");

      await runtime.apply({ ...currentConfig(k), disableContainerSelectors: true });
      assert.equal(loads, 2, "trust loaded again");
      assert.equal(clients.length, 2, "a registry client per Configure");
      const pods = await runtime.attest(PID, signal());
      assert.ok(!pods.some((s) => s.startsWith("container-")), "container selectors disabled");
      assert.ok(pods.includes("image-signature:verified"), "verified anyway, as upstream v1.15.3");
      assert.ok(pods.includes("image-attestations:verified"));
    } finally {
      await runtime.close();
    }
  });

  it("a trust failure fails Configure with the sigstore: prefix", async () => {
    const k = await startFakeKubelet({ pods: podsWithImage(`${REG}/${REPO}:v1`) });
    kubelets.push(k);
    const loadTrust: TrustLoader = () =>
      Promise.reject(new AttestorError("bad-config", "SIGSTORE_ROOT_FILE /etc/bad.pem: no PEM certificate"));
    const factory = createCurrentSigstoreVerifierFactory({
      registryFor: () => new MemoryRegistry(),
      loadTrust,
    });
    const runtime = createRuntime({ platform, logger: capturingLogger([]), sigstoreCurrent: factory });
    try {
      await assert.rejects(runtime.apply(currentConfig(k)), {
        reason: "bad-config",
        message:
          "sigstore: cannot load the sigstore trust material: SIGSTORE_ROOT_FILE /etc/bad.pem: no PEM certificate",
      });
      assert.equal(runtime.kubeletUrl, null);
    } finally {
      await runtime.close();
    }
  });

  it("without a factory the block is refused at Configure", async () => {
    const k = await startFakeKubelet({ pods: podsWithImage(`${REG}/${REPO}:v1`) });
    kubelets.push(k);
    const runtime = createRuntime({ platform, logger: capturingLogger([]), sigstoreCurrent: null });
    try {
      await assert.rejects(runtime.apply(currentConfig(k)), {
        reason: "bad-config",
        message: "sigstore: image signature verification is not available in this build",
      });
    } finally {
      await runtime.close();
    }
  });
});
