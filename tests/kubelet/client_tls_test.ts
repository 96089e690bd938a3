/**
 * The kubelet client's TLS checks against the fake kubelet over real TLS: the configured CA only, the node name
 * or the machine's hostname, expiry, client certificates, and skip_kubelet_verification.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createKubeletClient, type KubeletClient } from "../../src/kubelet/client.ts";
import type { FakeKubelet } from "../../src/testing/fake_kubelet.ts";
import { BOOTSTRAP_TOKEN, captureLogger, PODS_TEXT, rejectsWith, useClientTestEnv } from "./_client_env.ts";

/** The handshake failed: an `unable to perform request` error, and the kubelet never saw a request. */
async function refusedBeforeAnyRequest(client: KubeletClient, k: FakeKubelet): Promise<void> {
  await rejectsWith(
    client.fetchPods(),
    "kubelet-unreachable",
    /^unable to perform request: https:\/\/localhost:\d+\/pods: /,
  );
  assert.equal(k.requestCount, 0);
}

describe("kubelet client: TLS", () => {
  const env = useClientTestEnv();

  describe("TLS failures", () => {
    it("rejects a kubelet certificate from another CA", async () => {
      const token = await env.writeFile(BOOTSTRAP_TOKEN);
      const k = await env.start({ tls: env.certs.localhost });
      const client = await createKubeletClient({
        config: env.secure(k, {
          tokenPath: token,
          nodeName: "localhost",
          kubeletCaPath: env.pki.rogueCa.certPath,
        }),
      });
      await refusedBeforeAnyRequest(client, k);
    });

    it("rejects a certificate not valid for the node name", async () => {
      const token = await env.writeFile(BOOTSTRAP_TOKEN);
      const k = await env.start({ tls: env.certs.host });
      const client = await createKubeletClient({
        config: env.secure(k, { tokenPath: token, nodeName: "localhost" }),
      });
      await rejectsWith(
        client.fetchPods(),
        "kubelet-unreachable",
        /not valid for node name "localhost"|localhost/,
      );
      assert.equal(k.requestCount, 0);
    });

    it("rejects a certificate not valid for the machine's hostname on 127.0.0.1", async () => {
      const token = await env.writeFile(BOOTSTRAP_TOKEN);
      const k = await env.start({ tls: env.certs.host });
      const client = await createKubeletClient({
        config: env.secure(k, { tokenPath: token }),
        hostname: "other.test",
      });
      await rejectsWith(
        client.fetchPods(),
        "kubelet-unreachable",
        /^unable to perform request: https:\/\/127\.0\.0\.1:\d+\/pods: kubelet certificate is not valid for hostname "other\.test"/,
      );
      assert.equal(k.requestCount, 0);
    });

    it("does not accept an IP SAN for 127.0.0.1 in place of the hostname", async () => {
      const token = await env.writeFile(BOOTSTRAP_TOKEN);
      const k = await env.start({ tls: env.certs.ip });
      const client = await createKubeletClient({
        config: env.secure(k, { tokenPath: token }),
        hostname: "vm.test",
      });
      await rejectsWith(client.fetchPods(), "kubelet-unreachable", /not valid for hostname "vm\.test"/);
    });

    it("rejects an expired kubelet certificate", async () => {
      const token = await env.writeFile(BOOTSTRAP_TOKEN);
      const k = await env.start({ tls: env.certs.expired });
      const client = await createKubeletClient({
        config: env.secure(k, { tokenPath: token, nodeName: "localhost" }),
      });
      // Deno reports this as "unable to verify the first certificate"; the same cert passes when verification
      // is skipped, so the rejection is about its validity period.
      await refusedBeforeAnyRequest(client, k);
      const skipping = await createKubeletClient({
        config: env.secure(k, { tokenPath: token, nodeName: "localhost", skipKubeletVerification: true }),
      });
      assert.equal(await skipping.fetchPods(), PODS_TEXT);
    });

    it("fails the handshake with a client certificate from another CA", async () => {
      const k = await env.startWithClientCa({ kind: "client-cert" });
      const client = await createKubeletClient({
        config: env.secure(k, {
          nodeName: "localhost",
          ...env.clientCertPaths(env.certs.rogueClient),
        }),
      });
      await refusedBeforeAnyRequest(client, k);
    });

    it("skip_kubelet_verification accepts a bad certificate, never reads the CA and warns once", async () => {
      const token = await env.writeFile(BOOTSTRAP_TOKEN);
      const k = await env.start({ tls: env.certs.rogue, auth: { kind: "token", tokenPath: token } });
      const { lines, logger } = captureLogger();
      const client = await createKubeletClient({
        config: env.secure(k, {
          tokenPath: token,
          skipKubeletVerification: true,
          kubeletCaPath: `${env.dir}/missing-ca`,
        }),
        hostname: "does-not-match.test",
        logger,
      });
      assert.equal(await client.fetchPods(), PODS_TEXT);
      assert.equal(await client.fetchPods(), PODS_TEXT);
      const warnings = lines.filter((l) => JSON.parse(l)["@level"] === "warn");
      assert.equal(warnings.length, 1);
      assert.match(warnings[0], /verification is disabled/);
    });
  });
});
