/**
 * The kubelet client against the fake kubelet over real sockets and real TLS: the endpoint it derives from
 * the configuration, and every connection and auth mode.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createKubeletClient, kubeletEndpoint } from "../../src/kubelet/client.ts";
import { testConfig } from "./_config.ts";
import { PODS_TEXT, useClientTestEnv } from "./_client_env.ts";

describe("kubelet endpoint", () => {
  it("uses 127.0.0.1 over HTTP for the read-only port and ignores the node name", () => {
    const ep = kubeletEndpoint(testConfig({ kubeletReadOnlyPort: 10255, nodeName: "node-1" }));
    assert.equal(ep.url, "http://127.0.0.1:10255/pods");
    assert.equal(ep.secure, false);
  });
  it("uses the node name on the secure port", () => {
    assert.equal(kubeletEndpoint(testConfig({ nodeName: "node-1" })).url, "https://node-1:10250/pods");
  });
  it("brackets IPv6 literals", () => {
    const ep = kubeletEndpoint(testConfig({ nodeName: "fd00::1", kubeletSecurePort: 1 }));
    assert.equal(ep.url, "https://[fd00::1]:1/pods");
    assert.equal(ep.host, "fd00::1");
  });
  it("falls back to 127.0.0.1 without a node name", () => {
    assert.equal(kubeletEndpoint(testConfig()).url, "https://127.0.0.1:10250/pods");
  });
});

describe("kubelet client over real sockets", () => {
  const env = useClientTestEnv();

  describe("connection and auth modes", () => {
    it("read-only port: plain HTTP, TLS and auth settings ignored", async () => {
      const k = await env.start({});
      const client = await createKubeletClient({
        config: testConfig({
          kubeletReadOnlyPort: k.port,
          kubeletCaPath: `${env.dir}/no-such-ca`,
          tokenPath: `${env.dir}/no-such-token`,
          nodeName: "ignored.example",
        }),
      });
      assert.equal(client.url, `http://127.0.0.1:${k.port}/pods`);
      assert.equal(await client.fetchPods(), PODS_TEXT);
      assert.equal(k.requests.at(-1)?.authorization, null);
    });

    it("secure port with a bearer token and a node name matching the certificate", async () => {
      const token = await env.writeFile("tok-1\n");
      const k = await env.startWithToken(token);
      const client = await createKubeletClient({
        config: env.secure(k, { tokenPath: token, nodeName: "localhost" }),
      });
      assert.equal(client.url, `https://localhost:${k.port}/pods`);
      assert.equal(await client.fetchPods(), PODS_TEXT);
      assert.equal(k.requests.at(-1)?.authorization, "Bearer tok-1");
    });

    it("secure port with a client certificate (no token sent)", async () => {
      const token = await env.writeFile("unused-token");
      const k = await env.startWithClientCa({ kind: "client-cert" });
      const client = await createKubeletClient({
        config: env.secure(k, {
          nodeName: "localhost",
          tokenPath: token,
          ...env.clientCertPaths(env.certs.client),
        }),
      });
      assert.equal(await client.fetchPods(), PODS_TEXT);
      assert.equal(k.requests.at(-1)?.clientCertCn, "spire-agent");
      assert.equal(k.requests.at(-1)?.authorization, null);
    });

    it("anonymous: neither token nor client certificate", async () => {
      const token = await env.writeFile("should-not-be-sent");
      const k = await env.startWithClientCa({ kind: "anonymous" });
      const client = await createKubeletClient({
        config: env.secure(k, {
          nodeName: "localhost",
          tokenPath: token,
          useAnonymousAuthentication: true,
          ...env.clientCertPaths(env.certs.client),
        }),
      });
      assert.equal(await client.fetchPods(), PODS_TEXT);
      assert.equal(k.requests.at(-1)?.authorization, null);
      assert.equal(k.requests.at(-1)?.clientCertCn, null);
    });

    it("127.0.0.1 without a node name: certificate name checked against the machine's hostname", async () => {
      const token = await env.writeFile("tok-h");
      const k = await env.start({ tls: env.certs.host, auth: { kind: "token", tokenPath: token } });
      const client = await createKubeletClient({
        config: env.secure(k, { tokenPath: token }),
        hostname: "kubelet-host.test",
      });
      assert.equal(client.url, `https://127.0.0.1:${k.port}/pods`);
      assert.equal(await client.fetchPods(), PODS_TEXT);
    });

    it("a kubelet presenting an intermediate CA with its certificate", async () => {
      const inter = await env.pki.issueIntermediateCa("client-test-inter");
      const leaf = await env.pki.issueServerCert("via-inter", { dns: ["localhost"], issuer: inter });
      const token = await env.writeFile("tok-i");
      const k = await env.start({ tls: { cert: leaf.cert + inter.cert, key: leaf.key } });
      const client = await createKubeletClient({
        config: env.secure(k, { tokenPath: token, nodeName: "localhost" }),
      });
      assert.equal(await client.fetchPods(), PODS_TEXT);
    });

    it("an empty token file sends no Authorization header", async () => {
      const token = await env.writeFile("  \n");
      const k = await env.start({ tls: env.certs.localhost });
      const client = await createKubeletClient({
        config: env.secure(k, { tokenPath: token, nodeName: "localhost" }),
      });
      assert.equal(await client.fetchPods(), PODS_TEXT);
      assert.equal(k.requests.at(-1)?.authorization, null);
    });
  });
});
