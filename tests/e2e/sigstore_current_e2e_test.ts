/**
 * The top-level `sigstore` block (current SPIRE form, issue 14) end to end on Linux: a real process in a real
 * kubepods cgroup, the plugin loaded as spire-agent loads it with the `SIGSTORE_*` trust files in its
 * environment, a fake kubelet over verified TLS whose pod list gives the container an `imageID` in a real
 * registry (Debian's docker-registry on 127.0.0.1, one anonymous and one requiring htpasswd Basic auth), and
 * images signed and attested in cosign's exact format (`.sig` and `.att` manifests) by the offline sigstore
 * fixture. Every case asserts the exact selectors or the exact error. Skipped, with the reason, where cgroups
 * cannot be created or the registry is not installed (a failure in CI).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { PluginHost } from "../../src/testing/plugin_host.ts";
import { registryTestGate, startTestRegistry, type TestRegistry } from "../../src/testing/registry.ts";
import {
  pushCosignAttestations,
  type PushedSignedImage,
  pushSignedImage,
} from "../../src/testing/signed_images.ts";
import {
  type AttestImageOptions,
  createSigstoreFixture,
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
} from "./_sigstore.ts";
import { cgroupSupport, startWorkload, type Workload } from "./_workload.ts";

const { hierarchies, skip: cgroupSkip } = await cgroupSupport("sigstore current e2e: ");
const gate = await registryTestGate(true);
if (gate.mustFail) it("docker-registry is installed (CI requires it)", () => assert.fail(gate.mustFail!));

const NODE = "node-sig14";
const REPO = "web/app";
const AUTH = { username: "puller", password: `pw-${crypto.randomUUID()}` };

interface BlockOptions {
  readonly subjects?: readonly string[];
  readonly skipped?: readonly string[];
  readonly ignoreTlog?: boolean;
  readonly ignoreAttestations?: boolean;
  readonly credentials?: { readonly registry: string; readonly username: string; readonly password: string };
}

describe("the top-level sigstore block end to end: real cgroup + TLS kubelet + real registry + plugin", {
  skip: cgroupSkip || gate.skip,
}, () => {
  let tls: TlsKubelet;
  let registry: TestRegistry;
  let authRegistry: TestRegistry;
  let fx: SigstoreFixture;
  let trust: TrustFiles;
  let workload: Workload;
  let host: PluginHost | undefined;
  const hosts: PluginHost[] = [];
  const rekorUrl = closedPortUrl();

  function block(o: BlockOptions = {}): string {
    const subjects = o.subjects ?? [FIXTURE_SUBJECT];
    const lines = [
      "sigstore {",
      `  rekor_url = "${rekorUrl.replace(/\/$/, "")}"`,
      "  allowed_identities = {",
      `    "${FIXTURE_ISSUER}" = [${subjects.map((s) => JSON.stringify(s)).join(", ")}]`,
      "  }",
      `  skipped_images = ${JSON.stringify(o.skipped ?? [])}`,
      `  ignore_tlog = ${o.ignoreTlog ?? false}`,
      `  ignore_attestations = ${o.ignoreAttestations ?? false}`,
    ];
    if (o.credentials) {
      lines.push(
        "  registry_credentials = {",
        `    "${o.credentials.registry}" = { username = "${o.credentials.username}", password = "${o.credentials.password}" }`,
        "  }",
      );
    }
    lines.push("}");
    return lines.join("\n");
  }

  const hcl = (o: BlockOptions = {}) =>
    tls.hcl(['poll_retry_interval = "50ms"', "max_poll_attempts = 2", block(o)]);

  before(async () => {
    tls = await startTlsKubelet({ token: "sig14-token", prefix: "k8s-attestor-sig14e2e-" });
    registry = await startTestRegistry();
    authRegistry = await startTestRegistry({ auth: AUTH });
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
      await authRegistry?.stop();
      await tls?.stop();
    }
  });

  const runImage = (imageId: string) => _runImage(tls.kubelet, workload, NODE, imageId);

  const baseSelectors = (imageId: string) => _baseSelectors(workload, NODE, imageId);

  /** Pushes a fresh image signed once (`sign`) and attested once (`attest`, null: no `.att`). */
  async function publish(
    options: {
      sign?: Omit<SignImageOptions, "digest">;
      attest?: Omit<AttestImageOptions, "digest"> | null;
      to?: TestRegistry;
    } = {},
  ): Promise<PushedSignedImage> {
    const to = options.to ?? registry;
    const image = await pushSignedImage(to, to.host, REPO, fx, [options.sign ?? {}]);
    if (options.attest !== null) {
      const attested = await fx.attestImage({ ...(options.attest ?? {}), digest: image.image.digest });
      await pushCosignAttestations(to, REPO, image.image.digest, [attested]);
    }
    return image;
  }

  /** Upstream v1.15.3's selectors of an image with one verified signature (logged in Rekor). */
  function sigstoreSelectors(image: PushedSignedImage, attestations = true): string[] {
    const s = image.signatures[0];
    return [
      "image-signature:verified",
      ...(attestations ? ["image-attestations:verified"] : []),
      `image-signature-subject:${FIXTURE_SUBJECT}`,
      `image-signature-issuer:${FIXTURE_ISSUER}`,
      `image-signature-value:${s.signature.signatureB64}`,
      `image-signature-log-id:${fx.rekor.logId}`,
      `image-signature-log-index:${s.rekorEntry.entry.logIndex}`,
      `image-signature-integrated-time:${FIXTURE_INTEGRATED_TIME}`,
      `image-signature-signed-entry-timestamp:${s.rekorEntry.entry.verification.signedEntryTimestamp}`,
    ];
  }

  const expected = (imageId: string, sigstore: string[]) => [...baseSelectors(imageId), ...sigstore].sort();

  async function attestFails(imageId: string, message: string | RegExp): Promise<void> {
    await runImage(imageId);
    await assert.rejects(host!.client.attest(workload.pid), (err: { code: number; details: string }) => {
      if (typeof message === "string") assert.equal(err.details, message);
      else assert.match(err.details, message);
      assert.equal(err.code, 13, "INTERNAL");
      return true;
    });
  }

  async function withConfig(o: BlockOptions, body: () => Promise<void>): Promise<void> {
    await host!.client.configure(hcl(o));
    try {
      await body();
    } finally {
      await host!.client.configure(hcl());
    }
  }

  it("signed and attested: upstream's exact selectors, no container-ID prefix", async () => {
    const image = await publish();
    await runImage(image.imageId);
    assert.deepEqual(
      await host!.client.attest(workload.pid),
      expected(image.imageId, sigstoreSelectors(image)),
    );
  });

  it("regex identity that matches, and one that does not", async () => {
    const image = await publish();
    await withConfig({ subjects: ["signer@example\\.(com|org)"] }, async () => {
      await runImage(image.imageId);
      assert.deepEqual(
        await host!.client.attest(workload.pid),
        expected(image.imageId, sigstoreSelectors(image)),
      );
    });
    await withConfig({ subjects: ["mallory@.*"] }, async () => {
      await attestFails(
        image.imageId,
        `failed to verify signatures for image ${JSON.stringify(image.imageId)}: no matching signatures: ` +
          `${image.signatures[0].layer.digest}: none of the expected identities matched what was in the ` +
          `certificate, got subjects ["${FIXTURE_SUBJECT}"] with issuer "${FIXTURE_ISSUER}"`,
      );
    });
  });

  it("a missing .att fails by default; ignore_attestations does without it", async () => {
    const image = await publish({ attest: null });
    await attestFails(
      image.imageId,
      `failed to verify image attestations for image ${JSON.stringify(image.imageId)}: no matching ` +
        "attestations: no attestations found",
    );
    await withConfig({ ignoreAttestations: true }, async () => {
      await runImage(image.imageId);
      assert.deepEqual(
        await host!.client.attest(workload.pid),
        expected(image.imageId, sigstoreSelectors(image, false)),
      );
      await new Promise((r) => setTimeout(r, 200));
      const att = `/v2/${REPO}/manifests/sha256-${image.image.digest.slice(7)}.att`;
      const attRequests = registry.requests().filter((r) => r.uri === att);
      assert.deepEqual(attRequests.map((r) => r.status), [404], "only the default config asked for the .att");
    });
  });

  it("an attestation of another image does not count", async () => {
    const other = `sha256:${"7".repeat(64)}`;
    const image = await publish({ attest: { subjectDigest: other } });
    await attestFails(
      image.imageId,
      new RegExp(
        `^failed to verify image attestations for image ${
          JSON.stringify(image.imageId).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
        }: no matching attestations: sha256:[a-f0-9]{64}: `,
      ),
    );
  });

  it("ignore_tlog: signature and attestation without Rekor, no log selectors", async () => {
    const now = Date.now();
    const leafValidity = { notBefore: new Date(now - 5 * 60_000), notAfter: new Date(now + 10 * 60_000) };
    const image = await publish({
      sign: { leafValidity, bundle: false },
      attest: { leafValidity, bundle: false },
    });
    // Without ignore_tlog, a signature without a bundle is looked up in Rekor, which is not reachable.
    await attestFails(image.imageId, /^failed to verify signatures for image .*: no matching signatures: /);
    await withConfig({ ignoreTlog: true }, async () => {
      await runImage(image.imageId);
      assert.deepEqual(
        await host!.client.attest(workload.pid),
        expected(image.imageId, [
          "image-signature:verified",
          "image-attestations:verified",
          `image-signature-subject:${FIXTURE_SUBJECT}`,
          `image-signature-issuer:${FIXTURE_ISSUER}`,
          `image-signature-value:${image.signatures[0].signature.signatureB64}`,
        ]),
      );
    });
  });

  it("a skipped image: no sigstore selector and no registry request", async () => {
    const image = await publish({ attest: null });
    await withConfig({ skipped: [image.imageId] }, async () => {
      await new Promise((r) => setTimeout(r, 200));
      const before = registry.requests().length;
      await runImage(image.imageId);
      assert.deepEqual(await host!.client.attest(workload.pid), baseSelectors(image.imageId).sort());
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(registry.requests().slice(before), [], "the registry was not asked");
    });
  });

  it("registry_credentials against a registry requiring Basic auth; none or wrong ones fail", async () => {
    const image = await publish({ to: authRegistry });
    await attestFails(image.imageId, /Basic credentials/);
    await withConfig(
      { credentials: { registry: authRegistry.host, ...AUTH, password: "wrong" } },
      async () => {
        await attestFails(image.imageId, /401|unauthori[sz]ed|rejected/i);
      },
    );
    await withConfig({ credentials: { registry: authRegistry.host, ...AUTH } }, async () => {
      await runImage(image.imageId);
      assert.deepEqual(
        await host!.client.attest(workload.pid),
        expected(image.imageId, sigstoreSelectors(image)),
      );
    });
    assert.ok(!host!.stderrLines.some((l) => l.includes(AUTH.password)), "the password is never logged");
  });

  it("both sigstore blocks together: Configure fails and the previous configuration stays", async () => {
    await assert.rejects(
      host!.client.configure(`${hcl()}\n${sigstoreHcl({ rekorUrl })}`),
      (err: { details: string }) => {
        assert.match(err.details, /sigstore and experimental\.sigstore cannot both be set/);
        return true;
      },
    );
    const image = await publish();
    await runImage(image.imageId);
    assert.deepEqual(
      await host!.client.attest(workload.pid),
      expected(image.imageId, sigstoreSelectors(image)),
    );
  });
});
