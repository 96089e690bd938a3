/**
 * The kubelet client's credentials: loading errors with upstream's texts, path resolution, the token re-read
 * after a 401, and reloading on reload_interval (keeping the last good credentials).
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createKubeletClient } from "../../src/kubelet/client.ts";
import { testConfig } from "./_config.ts";
import { captureLogger, PODS_TEXT, rejectsWith, useClientTestEnv } from "./_client_env.ts";

describe("kubelet client: credentials", () => {
  const env = useClientTestEnv();

  describe("credential loading errors (upstream texts)", () => {
    it("missing token file", async () => {
      const missing = `${env.dir}/no-such-token`;
      await rejectsWith(
        createKubeletClient({
          config: testConfig({ kubeletCaPath: env.pki.ca.certPath, tokenPath: missing }),
        }),
        "bad-config",
        new RegExp(`^unable to load token: open ${missing}: no such file or directory$`),
      );
    });
    it("missing CA", async () => {
      await rejectsWith(
        createKubeletClient({ config: testConfig({ kubeletCaPath: `${env.dir}/no-ca` }) }),
        "bad-config",
        /^unable to load kubelet CA: open .*no-ca: no such file or directory$/,
      );
    });
    it("CA without PEM blocks, and with a key block", async () => {
      await rejectsWith(
        createKubeletClient({ config: testConfig({ kubeletCaPath: await env.writeFile("not pem") }) }),
        "bad-config",
        /^unable to parse kubelet CA: no PEM blocks$/,
      );
      await rejectsWith(
        createKubeletClient({ config: testConfig({ kubeletCaPath: env.certs.client.keyPath }) }),
        "bad-config",
        /^unable to parse kubelet CA: expected block type "CERTIFICATE"; got "PRIVATE KEY"$/,
      );
    });
    it("certificate without key and key without certificate", async () => {
      const base = { kubeletCaPath: env.pki.ca.certPath };
      await rejectsWith(
        createKubeletClient({ config: testConfig({ ...base, certificatePath: env.certs.client.certPath }) }),
        "bad-config",
        /^the private key path is required with the certificate path$/,
      );
      await rejectsWith(
        createKubeletClient({ config: testConfig({ ...base, privateKeyPath: env.certs.client.keyPath }) }),
        "bad-config",
        /^the certificate path is required with the private key path$/,
      );
    });
    it("unreadable certificate or key, and a key that does not match", async () => {
      const base = { kubeletCaPath: env.pki.ca.certPath };
      await rejectsWith(
        createKubeletClient({
          config: testConfig({
            ...base,
            certificatePath: `${env.dir}/nc`,
            privateKeyPath: env.certs.client.keyPath,
          }),
        }),
        "bad-config",
        /^unable to load certificate: open .*nc: no such file or directory$/,
      );
      await rejectsWith(
        createKubeletClient({
          config: testConfig({
            ...base,
            certificatePath: env.certs.client.certPath,
            privateKeyPath: `${env.dir}/nk`,
          }),
        }),
        "bad-config",
        /^unable to load private key: open .*nk: no such file or directory$/,
      );
      const err = await rejectsWith(
        createKubeletClient({
          config: testConfig({
            ...base,
            certificatePath: env.certs.client.certPath,
            privateKeyPath: env.certs.rogueClient.keyPath,
          }),
        }),
        "bad-config",
        /^unable to load keypair: tls: private key does not match public key$/,
      );
      assert.ok(!err.message.includes("PRIVATE KEY"));
    });
    it("resolves every path through resolvePath", async () => {
      const token = await env.writeFile("tok-r");
      const k = await env.startWithToken(token);
      const seen: string[] = [];
      const client = await createKubeletClient({
        config: env.secure(k, { nodeName: "localhost", kubeletCaPath: "ca.pem", tokenPath: "token" }),
        resolvePath: (p) => {
          seen.push(p);
          return p === "ca.pem" ? env.pki.ca.certPath : token;
        },
      });
      assert.deepEqual(seen.sort(), ["ca.pem", "token"]);
      assert.equal(await client.fetchPods(), PODS_TEXT);
    });
  });

  describe("token rotation and reload", () => {
    it("after a 401 re-reads the token file and retries once", async () => {
      const kubeletToken = await env.writeFile("old-token");
      const clientToken = await env.writeFile("old-token");
      const k = await env.startWithToken(kubeletToken);
      const { lines, logger } = captureLogger();
      const client = await createKubeletClient({
        config: env.secure(k, { tokenPath: clientToken, nodeName: "localhost" }),
        logger,
      });
      assert.equal(await client.fetchPods(), PODS_TEXT);
      await Deno.writeTextFile(kubeletToken, "new-token");
      await Deno.writeTextFile(clientToken, "new-token\n");
      assert.equal(await client.fetchPods(), PODS_TEXT);
      assert.deepEqual(
        k.requests.map((r) => [r.status, r.authorization]),
        [[200, "Bearer old-token"], [401, "Bearer old-token"], [200, "Bearer new-token"]],
      );
      assert.ok(lines.every((l) => !l.includes("old-token") && !l.includes("new-token")));
    });

    it("a 401 with an unchanged token fails without retry and without the token in the error", async () => {
      const kubeletToken = await env.writeFile("kubelet-wants-this");
      const clientToken = await env.writeFile("secret-client-token");
      const k = await env.startWithToken(kubeletToken);
      const client = await createKubeletClient({
        config: env.secure(k, { tokenPath: clientToken, nodeName: "localhost" }),
      });
      const err = await rejectsWith(
        client.fetchPods(),
        "kubelet-rejected",
        /^unexpected status code on pods response: 401 Unauthorized \(GET https:\/\/localhost:\d+\/pods\)$/,
      );
      assert.ok(!err.message.includes("secret-client-token"));
      assert.equal(k.requestCount, 1);
    });

    it("reloads on reload_interval and keeps the last good credentials on a bad reload", async () => {
      const kubeletToken = await env.writeFile("tok-a");
      const clientToken = await env.writeFile("tok-a");
      const k = await env.startWithToken(kubeletToken);
      const { lines, logger } = captureLogger();
      let now = 1_000_000;
      const client = await createKubeletClient({
        config: env.secure(k, { tokenPath: clientToken, nodeName: "localhost", reloadIntervalMs: 60_000 }),
        logger,
        now: () => now,
      });
      await Deno.remove(clientToken);
      now += 60_000;
      assert.equal(await client.fetchPods(), PODS_TEXT);
      now += 1;
      assert.equal(await client.fetchPods(), PODS_TEXT);
      const warns = lines.map((l) => JSON.parse(l)).filter((e) => e["@level"] === "warn");
      assert.equal(warns.length, 1, "one warning per distinct failure");
      assert.match(warns[0].error, /^unable to load token: open .*: no such file or directory$/);
      assert.ok(k.requests.every((r) => r.authorization === "Bearer tok-a"));

      await Deno.writeTextFile(clientToken, "tok-b");
      await Deno.writeTextFile(kubeletToken, "tok-b");
      assert.equal(await client.fetchPods(), PODS_TEXT);
      assert.deepEqual(k.requests.at(-1), {
        path: "/pods",
        authorization: "Bearer tok-b",
        clientCertCn: null,
        status: 200,
        connection: k.requests[0].connection, // a new token needs no new connection
      });
      assert.ok(!k.requests.some((r) => r.status === 401), "the reload, not a 401, picked up the new token");
      assert.ok(lines.every((l) => !l.includes("tok-a") && !l.includes("tok-b")));
    });

    it("does not reload before reload_interval has passed", async () => {
      const token = await env.writeFile("tok-x");
      const k = await env.start({ tls: env.certs.localhost });
      let now = 0;
      const client = await createKubeletClient({
        config: env.secure(k, { tokenPath: token, nodeName: "localhost", reloadIntervalMs: 1000 }),
        now: () => now,
      });
      await Deno.writeTextFile(token, "tok-y");
      now = 999;
      await client.fetchPods();
      now = 1000;
      await client.fetchPods();
      assert.deepEqual(k.requests.map((r) => r.authorization), ["Bearer tok-x", "Bearer tok-y"]);
    });
  });
});
