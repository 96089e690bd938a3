/**
 * Cost of image-signature verification (issue 11): the per-signature check alone (certificate path, SCT,
 * signature, identity, payload, Rekor SET: all offline), a cold verification of a signed image against the
 * real registry (Debian's docker-registry on 127.0.0.1: every round trip it needs, counted and printed), and a
 * cached verification (the same image again on the same verifier: no registry request).
 *
 * The image is pushed in cosign's exact format by `src/testing/signed_images.ts` with one signature from the
 * offline sigstore fixture. Without `/usr/bin/docker-registry` only the per-signature check is measured.
 *
 * Run: `deno bench -A --no-prompt bench/sigstore_bench.ts`
 *
 * @module
 */

import { dirname } from "node:path";
import { nullLogger } from "../src/log.ts";
import { createRegistryClient } from "../src/oci/registry.ts";
import type { VerifierSettings } from "../src/sigstore/verifier.ts";
import { createSigstoreVerifier, type SigstoreVerifier } from "../src/sigstore/verifier.ts";
import { verifySignature } from "../src/sigstore/verify_signature.ts";
import { registryTestGate, startTestRegistry } from "../src/testing/registry.ts";
import { pushSignedImage } from "../src/testing/signed_images.ts";
import { createSigstoreFixture, FIXTURE_ISSUER, FIXTURE_SUBJECT } from "../src/testing/sigstore_fixtures.ts";

const fx = await createSigstoreFixture();
const settings: VerifierSettings = {
  skipSignatureVerificationImageList: [],
  allowedSubjects: new Map([[FIXTURE_ISSUER, [FIXTURE_SUBJECT]]]),
  rekorUrl: "https://rekor.invalid/",
  enforceSct: true,
};
const CONTAINER_ID = `containerd://${"c".repeat(64)}`;

const offlineDigest = `sha256:${"a".repeat(64)}`;
const offline = await fx.signImage({ digest: offlineDigest });
const context = {
  trust: fx.trust,
  policy: { allowedSubjects: settings.allowedSubjects, enforceSct: true },
  imageDigest: offlineDigest,
  rekorUrl: settings.rekorUrl,
};
await verifySignature(offline.signature, context); // fails loudly here if the fixture does not verify

Deno.bench({
  name: "verifySignature: one cosign keyless signature (chain, SCT, signature, identity, payload, SET)",
  group: "per signature",
  async fn() {
    await verifySignature(offline.signature, context);
  },
});

const gate = await registryTestGate();
if (gate.skip) {
  console.error(`sigstore_bench: cold and cached verifications not measured: ${gate.skip}`);
} else {
  const registry = await startTestRegistry();
  // The bench has no teardown hook: end the registry (its kill is synchronous) and remove its directory at exit.
  globalThis.addEventListener("unload", () => {
    void registry.stop();
    try {
      Deno.removeSync(dirname(registry.storageDir), { recursive: true });
    } catch {
      // already gone
    }
  });
  const signed = await pushSignedImage(registry, registry.host, "bench/app", fx, [{}]);
  const requests: string[] = [];
  const client = createRegistryClient({
    getEnv: () => undefined,
    fetch: (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      requests.push(`${init?.method ?? "GET"} ${url.pathname}`);
      return fetch(input, init);
    },
  });
  const newVerifier = (): SigstoreVerifier =>
    createSigstoreVerifier({
      settings,
      trust: fx.trust,
      registry: client,
      checkSignature: verifySignature,
      logger: nullLogger,
    });
  const container = { imageId: signed.imageId, containerId: CONTAINER_ID };

  const probe = newVerifier();
  const selectors = await probe.selectorsFor(container);
  if (selectors.length !== 5) {
    throw new Error(`bench setup: unexpected selectors ${JSON.stringify(selectors)}`);
  }
  console.error(
    `cold verification: ${requests.length} registry round trips: ${requests.join(", ")}` +
      ` (then 0 while cached)`,
  );
  requests.length = 0;
  await probe.selectorsFor(container);
  if (requests.length !== 0) throw new Error(`bench setup: a cached verification asked the registry`);

  Deno.bench({
    name: "cold: a new verifier (empty cache) verifies the image against docker-registry on 127.0.0.1",
    group: "image verification",
    baseline: true,
    async fn() {
      await newVerifier().selectorsFor(container);
    },
  });

  const warm = newVerifier();
  await warm.selectorsFor(container);
  Deno.bench({
    name: "cached: the same image again on the same verifier",
    group: "image verification",
    async fn() {
      await warm.selectorsFor(container);
    },
  });
}
