/**
 * Image signatures end to end on Linux (issue 11): a real process in a real kubepods cgroup, the plugin
 * loaded as spire-agent loads it with the `SIGSTORE_*` trust files in its environment and an
 * `experimental.sigstore` block, a fake kubelet over verified TLS whose pod list gives the container an
 * `imageID` in a real registry (Debian's docker-registry on 127.0.0.1), and images signed in cosign's exact
 * format by the offline sigstore fixture. Every case asserts the exact selectors or the exact error.
 * Skipped, with the reason, where cgroups cannot be created or the registry is not installed (a failure in
 * CI).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { PluginHost } from "../../src/testing/plugin_host.ts";
import { registryTestGate, startTestRegistry, type TestRegistry } from "../../src/testing/registry.ts";
import { copySignatures, type PushedSignedImage, pushSignedImage } from "../../src/testing/signed_images.ts";
import {
  createSigstoreFixture,
  FIXTURE_CLOCK,
  FIXTURE_INTEGRATED_TIME,
  FIXTURE_ISSUER,
  FIXTURE_SUBJECT,
  type SignImageOptions,
  type SigstoreFixture,
  type TrustFiles,
} from "../../src/testing/sigstore_fixtures.ts";
import { startTlsKubelet, type TlsKubelet } from "../../src/testing/tls_kubelet.ts";
import { disposeAll, unloadCleanly } from "./_agent.ts";
import {
  baseSelectors as _baseSelectors,
  closedPortUrl,
  runImage as _runImage,
  sigstoreHcl,
  URI_SUBJECT,
} from "./_sigstore.ts";
import { cgroupSupport, startWorkload, type Workload } from "./_workload.ts";

const { hierarchies, skip: cgroupSkip } = await cgroupSupport("sigstore e2e: ");
const gate = await registryTestGate();
if (gate.mustFail) it("docker-registry is installed (CI requires it)", () => assert.fail(gate.mustFail!));

const NODE = "node-sig";
const REPO = "web/app";

describe("image signatures end to end: real cgroup + TLS kubelet + real registry + plugin", {
  skip: cgroupSkip || gate.skip,
}, () => {
  let tls: TlsKubelet;
  let registry: TestRegistry;
  let fx: SigstoreFixture;
  let trust: TrustFiles;
  let workload: Workload;
  let host: PluginHost | undefined;
  const hosts: PluginHost[] = [];
  const rekorUrl = closedPortUrl();
  const containerId = () => `containerd://${workload.containerId}`;

  const hcl = (options: { enforceSct?: boolean; skip?: readonly string[] } = {}) =>
    tls.hcl(['poll_retry_interval = "50ms"', "max_poll_attempts = 2", sigstoreHcl({ rekorUrl, ...options })]);

  before(async () => {
    tls = await startTlsKubelet({ token: "sig-token", prefix: "k8s-attestor-sige2e-" });
    registry = await startTestRegistry();
    fx = await createSigstoreFixture();
    trust = await fx.writeTrustFiles(join(tls.dir, "trust"));
    workload = await startWorkload(hierarchies[0]);
    host = await PluginHost.start({ env: { MY_NODE_NAME: undefined, ...trust.env } });
    hosts.push(host);
    await host.load({ hcl: hcl(), trustDomain: "example.org" });
  });

  after(async () => {
    try {
      if (host && !host.exited) await unloadCleanly(host);
    } finally {
      await disposeAll(hosts);
      await workload?.stop();
      await registry?.stop();
      await tls?.stop();
    }
  });

  const runImage = (imageId: string) => _runImage(tls.kubelet, workload, NODE, imageId);

  const baseSelectors = (imageId: string) => _baseSelectors(workload, NODE, imageId);

  /** The four selectors of one verified signature by `subject`, written out. */
  function signatureSelectors(image: PushedSignedImage, index: number, subject = FIXTURE_SUBJECT): string[] {
    const c = containerId();
    return [
      `${c}:image-signature-subject:${subject}`,
      `${c}:image-signature-content:${image.signatures[index].signature.signatureB64}`,
      `${c}:image-signature-logid:${fx.rekor.logId}`,
      `${c}:image-signature-integrated-time:${FIXTURE_INTEGRATED_TIME}`,
    ];
  }

  function expected(imageId: string, ...signatures: string[][]): string[] {
    // The plugin's list is de-duplicated: signatures logged together share a log ID and integrated time.
    return [...new Set([...baseSelectors(imageId), ...signatures.flat(), "sigstore-validation:passed"])]
      .sort();
  }

  function sign(signs: readonly Omit<SignImageOptions, "digest">[]): Promise<PushedSignedImage> {
    return pushSignedImage(registry, registry.host, REPO, fx, signs);
  }

  /** Attests the workload running `imageId` and expects the INTERNAL error `message` exactly. */
  async function attestFails(imageId: string, message: string): Promise<void> {
    await runImage(imageId);
    await assert.rejects(host!.client.attest(workload.pid), (err: { code: number; details: string }) => {
      assert.equal(err.details, message);
      assert.equal(err.code, 13, "INTERNAL");
      return true;
    });
  }

  /** The error of an image whose only signature was rejected with `reason`. */
  function oneRejected(image: PushedSignedImage, reason: string): string {
    return `no signature of image ${image.imageId} passed verification (1 rejected): ` +
      `${image.signatures[0].layer.digest}: ${reason}`;
  }

  async function rejects(sign_: Omit<SignImageOptions, "digest">, reason: (i: PushedSignedImage) => string) {
    const image = await sign([sign_]);
    await attestFails(image.imageId, oneRejected(image, reason(image)));
  }

  it("signed by an allowed identity: the signature's selectors and sigstore-validation:passed", async () => {
    const image = await sign([{}]);
    await runImage(image.imageId);
    assert.deepEqual(
      await host!.client.attest(workload.pid),
      expected(image.imageId, signatureSelectors(image, 0)),
    );
  });

  it("several signatures, some invalid: the selectors of the valid ones only", async () => {
    const image = await sign([
      { tamperPayload: true },
      {},
      { identity: { subject: "mallory@example.com" } },
      { identity: { subject: URI_SUBJECT, san: "uri" } },
      { ca: "rogue" },
    ]);
    await runImage(image.imageId);
    assert.deepEqual(
      await host!.client.attest(workload.pid),
      expected(image.imageId, signatureSelectors(image, 1), signatureSelectors(image, 3, URI_SUBJECT)),
    );
  });

  it("unsigned: the attestation fails", async () => {
    const image = await sign([]);
    await attestFails(image.imageId, `no signatures found for image ${image.imageId}`);
  });

  it("wrong subject", () =>
    rejects(
      { identity: { subject: "mallory@example.com" } },
      () => `identity: subject "mallory@example.com" not allowed for issuer "${FIXTURE_ISSUER}"`,
    ));

  it("wrong issuer", () =>
    rejects(
      { identity: { issuer: "https://evil.example", subject: FIXTURE_SUBJECT } },
      () => 'identity: signature issuer "https://evil.example" not in allow-list',
    ));

  it("tampered payload", () =>
    rejects(
      { tamperPayload: true },
      () => "bad-signature: the signature over the payload does not verify with the certificate's key",
    ));

  it("a valid signature copied from another image", async () => {
    const original = await sign([{}]);
    const target = await registry.pushImage(REPO, null);
    await copySignatures(registry, REPO, target.digest, original);
    const imageId = `${registry.host}/${REPO}@${target.digest}`;
    await attestFails(
      imageId,
      `no signature of image ${imageId} passed verification (1 rejected): ${
        original.signatures[0].layer.digest
      }: ` +
        `wrong-image: the payload signs image ${original.image.digest}, not ${target.digest}`,
    );
    // The signature is valid on its own image.
    await runImage(original.imageId);
    assert.deepEqual(
      await host!.client.attest(workload.pid),
      expected(original.imageId, signatureSelectors(original, 0)),
    );
  });

  it("certificate expired before the integrated time", () =>
    rejects(
      { integratedTime: FIXTURE_CLOCK.getTime() / 1000 + 3600 },
      () =>
        "expired: the certificate (valid 2026-01-01T00:00:00.000Z to 2026-01-01T00:10:00.000Z) was not valid at " +
        "the Rekor integrated time 2026-01-01T01:00:00.000Z",
    ));

  it("SET from an unknown Rekor key", () =>
    rejects(
      { rekorKey: "unknown" },
      () => `tlog: the Rekor log ${fx.otherLog.logId} is not trusted (no Rekor key with that log ID)`,
    ));

  it("SET from a wrong key claiming the trusted log ID", () =>
    rejects(
      { rekorKey: "wrong" },
      () => `tlog: the SignedEntryTimestamp does not verify with the Rekor key of log ${fx.rekor.logId}`,
    ));

  it("untrusted CA", async () => {
    const image = await sign([{ ca: "rogue" }]);
    await runImage(image.imageId);
    await assert.rejects(host!.client.attest(workload.pid), (err: { code: number; details: string }) => {
      assert.equal(err.code, 13);
      assert.ok(
        err.details.startsWith(
          oneRejected(image, "untrusted-chain: certificate chain: no certificate path to a trusted root"),
        ),
        err.details,
      );
      return true;
    });
  });

  it("no CodeSigning usage", () =>
    rejects({ codeSigning: false }, () => "no-code-signing: the certificate lacks the CodeSigning usage"));

  it("no bundle and Rekor unreachable", async () => {
    const image = await sign([{ bundle: false }]);
    await runImage(image.imageId);
    await assert.rejects(host!.client.attest(workload.pid), (err: { code: number; details: string }) => {
      assert.equal(err.code, 13);
      assert.ok(
        err.details.startsWith(
          oneRejected(image, `no-bundle: the Rekor index request to ${rekorUrl} failed: `),
        ),
        err.details,
      );
      return true;
    });
  });

  it("tag-only image ID: the attestation fails without a registry request", async () => {
    await registry.pushImage(REPO, "v1");
    const imageId = `${registry.host}/${REPO}:v1`;
    const before = registry.requests().length;
    await attestFails(
      imageId,
      `image ID ${
        JSON.stringify(imageId)
      } carries no digest (a tag-only image cannot be verified: its content ` +
        "is not fixed)",
    );
    assert.equal(registry.requests().length, before);
  });

  it("no SCT, and re-Configure changing enforce_sct (each Configure starts with an empty cache)", async () => {
    const image = await sign([{ sct: "none" }]);
    const noSct = oneRejected(image, "sct: SCT: the certificate has no embedded SCT");
    await attestFails(image.imageId, noSct);
    await host!.client.configure(hcl({ enforceSct: false }));
    await runImage(image.imageId);
    assert.deepEqual(
      await host!.client.attest(workload.pid),
      expected(image.imageId, signatureSelectors(image, 0)),
    );
    await host!.client.configure(hcl({ enforceSct: true }));
    await attestFails(image.imageId, noSct);
  });

  it("skip-listed by digest or by full image ID: only sigstore-validation:passed, no registry request", async () => {
    const unsigned = await sign([]);
    const other = await sign([]);
    try {
      await host!.client.configure(hcl({ skip: [unsigned.image.digest, other.imageId] }));
      // Let the access log catch up with the pushes.
      await new Promise((r) => setTimeout(r, 200));
      for (const image of [unsigned, other]) {
        const before = registry.requests().length;
        await runImage(image.imageId);
        assert.deepEqual(await host!.client.attest(workload.pid), expected(image.imageId));
        await new Promise((r) => setTimeout(r, 200));
        assert.deepEqual(registry.requests().slice(before), [], "the registry was not asked");
      }
    } finally {
      await host!.client.configure(hcl());
    }
  });

  it("concurrent attestations of one image share one verification (one .sig request)", async () => {
    const image = await sign([{}]);
    await runImage(image.imageId);
    const want = expected(image.imageId, signatureSelectors(image, 0));
    const results = await Promise.all([1, 2, 3].map(() => host!.client.attest(workload.pid)));
    assert.deepEqual(results, [want, want, want]);
    const sigTag = `/v2/${REPO}/manifests/sha256-${image.image.digest.slice(7)}.sig`;
    // The access log is written once a response is complete: give it a moment.
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(
      registry.requests().filter((r) => r.uri === sigTag && r.method === "GET").map((r) => r.status),
      [200],
    );
  });

  it("a verified image is served from the cache once the registry is gone", async () => {
    const image = await sign([{}, { identity: { subject: URI_SUBJECT, san: "uri" } }]);
    await runImage(image.imageId);
    const want = expected(
      image.imageId,
      signatureSelectors(image, 0),
      signatureSelectors(image, 1, URI_SUBJECT),
    );
    assert.deepEqual(await host!.client.attest(workload.pid), want);
    await registry.stop();
    assert.deepEqual(await host!.client.attest(workload.pid), want);
    // An image not in the cache now fails: the registry is really gone.
    const unknown = `${image.imageId.slice(0, -64)}${"f".repeat(64)}`;
    await runImage(unknown);
    const digest = `sha256:${"f".repeat(64)}`;
    await assert.rejects(host!.client.attest(workload.pid), (err: { code: number; details: string }) => {
      assert.equal(err.code, 13, "INTERNAL");
      assert.ok(
        err.details.startsWith(
          `fetching manifest ${digest} of ${REPO} from registry ${registry.host}: request to ` +
            `${registry.baseUrl}/v2/${REPO}/manifests/${digest} failed: `,
        ),
        err.details,
      );
      return true;
    });
  });
});
