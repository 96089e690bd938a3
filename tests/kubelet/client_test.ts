/**
 * The kubelet client against the fake kubelet over real sockets and real TLS: every connection and auth
 * mode, credential errors, token rotation, reload, and response errors.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createKubeletClient, kubeletEndpoint } from "../../src/kubelet/client.ts";
import { AttestorError } from "../../src/errors.ts";
import { createHclogLogger } from "../../src/log.ts";
import { createTestPki, type TestPki } from "../../src/testing/certs.ts";
import { type FakeKubelet, startFakeKubelet } from "../../src/testing/fake_kubelet.ts";
import type { Config } from "../../src/config/types.ts";
import { testConfig } from "./_config.ts";
import { assertNoPiece, assertNoPieceInLogLine, ENCODINGS, TOKEN } from "./_secrets.ts";

const PODS = {
  kind: "PodList",
  apiVersion: "v1",
  items: [{ metadata: { uid: "u1", name: "p", namespace: "ns" } }],
};
const PODS_TEXT = JSON.stringify(PODS);
/** A token of a realistic shape (a one-letter token would be redacted from every error message). */
const BOOTSTRAP_TOKEN = "07401b.f395accd246ae52d";

function captureLogger() {
  const lines: string[] = [];
  return { lines, logger: createHclogLogger({ write: (l) => lines.push(l) }) };
}

async function rejectsWith(p: Promise<unknown>, code: string, pattern: RegExp): Promise<AttestorError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof AttestorError, `expected AttestorError, got ${err}`);
    assert.equal(err.code, code, err.message);
    assert.match(err.message, pattern);
    return err;
  }
  assert.fail("expected a rejection");
}

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
  let pki: TestPki;
  let dir: string;
  let certs: Record<string, { cert: string; key: string; certPath: string; keyPath: string }>;
  const kubelets: FakeKubelet[] = [];

  before(async () => {
    pki = await createTestPki();
    dir = await Deno.makeTempDir({ prefix: "k8s-attestor-client-test-" });
    certs = {
      localhost: await pki.issueServerCert("localhost", { dns: ["localhost"] }),
      host: await pki.issueServerCert("host", { dns: ["kubelet-host.test"] }),
      ip: await pki.issueServerCert("ip", { ip: ["127.0.0.1"] }),
      expired: await pki.issueServerCert("expired", { dns: ["localhost"], expired: true }),
      rogue: await pki.issueServerCert("rogue", { dns: ["localhost"], rogue: true }),
      client: await pki.issueClientCert("client"),
      rogueClient: await pki.issueClientCert("rogue-client", { rogue: true }),
    };
  });

  after(async () => {
    for (const k of kubelets) await k.stop();
    await pki.cleanup();
    await Deno.remove(dir, { recursive: true });
  });

  const start = async (options: Parameters<typeof startFakeKubelet>[0]) => {
    const k = await startFakeKubelet({ pods: PODS, ...options });
    kubelets.push(k);
    return k;
  };
  let fileNo = 0;
  const writeFile = async (content: string) => {
    const path = `${dir}/file-${fileNo++}`;
    await Deno.writeTextFile(path, content);
    return path;
  };
  const secure = (k: FakeKubelet, overrides: Partial<Config>): Config =>
    testConfig({ kubeletSecurePort: k.port, kubeletCaPath: pki.ca.certPath, ...overrides });

  describe("connection and auth modes", () => {
    it("read-only port: plain HTTP, TLS and auth settings ignored", async () => {
      const k = await start({});
      const client = await createKubeletClient({
        config: testConfig({
          kubeletReadOnlyPort: k.port,
          kubeletCaPath: `${dir}/no-such-ca`,
          tokenPath: `${dir}/no-such-token`,
          nodeName: "ignored.example",
        }),
      });
      assert.equal(client.url, `http://127.0.0.1:${k.port}/pods`);
      assert.equal(await client.fetchPods(), PODS_TEXT);
      assert.equal(k.requests.at(-1)?.authorization, null);
    });

    it("secure port with a bearer token and a node name matching the certificate", async () => {
      const token = await writeFile("tok-1\n");
      const k = await start({ tls: certs.localhost, auth: { kind: "token", tokenPath: token } });
      const client = await createKubeletClient({
        config: secure(k, { tokenPath: token, nodeName: "localhost" }),
      });
      assert.equal(client.url, `https://localhost:${k.port}/pods`);
      assert.equal(await client.fetchPods(), PODS_TEXT);
      assert.equal(k.requests.at(-1)?.authorization, "Bearer tok-1");
    });

    it("secure port with a client certificate (no token sent)", async () => {
      const token = await writeFile("unused-token");
      const k = await start({
        tls: { ...certs.localhost, clientCa: pki.ca.cert },
        auth: { kind: "client-cert" },
      });
      const client = await createKubeletClient({
        config: secure(k, {
          nodeName: "localhost",
          tokenPath: token,
          certificatePath: certs.client.certPath,
          privateKeyPath: certs.client.keyPath,
        }),
      });
      assert.equal(await client.fetchPods(), PODS_TEXT);
      assert.equal(k.requests.at(-1)?.clientCertCn, "spire-agent");
      assert.equal(k.requests.at(-1)?.authorization, null);
    });

    it("anonymous: neither token nor client certificate", async () => {
      const token = await writeFile("should-not-be-sent");
      const k = await start({
        tls: { ...certs.localhost, clientCa: pki.ca.cert },
        auth: { kind: "anonymous" },
      });
      const client = await createKubeletClient({
        config: secure(k, {
          nodeName: "localhost",
          tokenPath: token,
          useAnonymousAuthentication: true,
          certificatePath: certs.client.certPath,
          privateKeyPath: certs.client.keyPath,
        }),
      });
      assert.equal(await client.fetchPods(), PODS_TEXT);
      assert.equal(k.requests.at(-1)?.authorization, null);
      assert.equal(k.requests.at(-1)?.clientCertCn, null);
    });

    it("127.0.0.1 without a node name: certificate name checked against the machine's hostname", async () => {
      const token = await writeFile("tok-h");
      const k = await start({ tls: certs.host, auth: { kind: "token", tokenPath: token } });
      const client = await createKubeletClient({
        config: secure(k, { tokenPath: token }),
        hostname: "kubelet-host.test",
      });
      assert.equal(client.url, `https://127.0.0.1:${k.port}/pods`);
      assert.equal(await client.fetchPods(), PODS_TEXT);
    });

    it("a kubelet presenting an intermediate CA with its certificate", async () => {
      const inter = await pki.issueIntermediateCa("client-test-inter");
      const leaf = await pki.issueServerCert("via-inter", { dns: ["localhost"], issuer: inter });
      const token = await writeFile("tok-i");
      const k = await start({ tls: { cert: leaf.cert + inter.cert, key: leaf.key } });
      const client = await createKubeletClient({
        config: secure(k, { tokenPath: token, nodeName: "localhost" }),
      });
      assert.equal(await client.fetchPods(), PODS_TEXT);
    });

    it("an empty token file sends no Authorization header", async () => {
      const token = await writeFile("  \n");
      const k = await start({ tls: certs.localhost });
      const client = await createKubeletClient({
        config: secure(k, { tokenPath: token, nodeName: "localhost" }),
      });
      assert.equal(await client.fetchPods(), PODS_TEXT);
      assert.equal(k.requests.at(-1)?.authorization, null);
    });
  });

  describe("TLS failures", () => {
    it("rejects a kubelet certificate from another CA", async () => {
      const token = await writeFile(BOOTSTRAP_TOKEN);
      const k = await start({ tls: certs.localhost });
      const client = await createKubeletClient({
        config: secure(k, { tokenPath: token, nodeName: "localhost", kubeletCaPath: pki.rogueCa.certPath }),
      });
      await rejectsWith(
        client.fetchPods(),
        "UNAVAILABLE",
        /^unable to perform request: https:\/\/localhost:\d+\/pods: /,
      );
      assert.equal(k.requestCount, 0);
    });

    it("rejects a certificate not valid for the node name", async () => {
      const token = await writeFile(BOOTSTRAP_TOKEN);
      const k = await start({ tls: certs.host });
      const client = await createKubeletClient({
        config: secure(k, { tokenPath: token, nodeName: "localhost" }),
      });
      await rejectsWith(client.fetchPods(), "UNAVAILABLE", /not valid for node name "localhost"|localhost/);
      assert.equal(k.requestCount, 0);
    });

    it("rejects a certificate not valid for the machine's hostname on 127.0.0.1", async () => {
      const token = await writeFile(BOOTSTRAP_TOKEN);
      const k = await start({ tls: certs.host });
      const client = await createKubeletClient({
        config: secure(k, { tokenPath: token }),
        hostname: "other.test",
      });
      await rejectsWith(
        client.fetchPods(),
        "UNAVAILABLE",
        /^unable to perform request: https:\/\/127\.0\.0\.1:\d+\/pods: kubelet certificate is not valid for hostname "other\.test"/,
      );
      assert.equal(k.requestCount, 0);
    });

    it("does not accept an IP SAN for 127.0.0.1 in place of the hostname", async () => {
      const token = await writeFile(BOOTSTRAP_TOKEN);
      const k = await start({ tls: certs.ip });
      const client = await createKubeletClient({
        config: secure(k, { tokenPath: token }),
        hostname: "vm.test",
      });
      await rejectsWith(client.fetchPods(), "UNAVAILABLE", /not valid for hostname "vm\.test"/);
    });

    it("rejects an expired kubelet certificate", async () => {
      const token = await writeFile(BOOTSTRAP_TOKEN);
      const k = await start({ tls: certs.expired });
      const client = await createKubeletClient({
        config: secure(k, { tokenPath: token, nodeName: "localhost" }),
      });
      // Deno reports this as "unable to verify the first certificate"; the same cert passes when verification
      // is skipped, so the rejection is about its validity period.
      await rejectsWith(
        client.fetchPods(),
        "UNAVAILABLE",
        /^unable to perform request: https:\/\/localhost:\d+\/pods: /,
      );
      assert.equal(k.requestCount, 0);
      const skipping = await createKubeletClient({
        config: secure(k, { tokenPath: token, nodeName: "localhost", skipKubeletVerification: true }),
      });
      assert.equal(await skipping.fetchPods(), PODS_TEXT);
    });

    it("fails the handshake with a client certificate from another CA", async () => {
      const k = await start({
        tls: { ...certs.localhost, clientCa: pki.ca.cert },
        auth: { kind: "client-cert" },
      });
      const client = await createKubeletClient({
        config: secure(k, {
          nodeName: "localhost",
          certificatePath: certs.rogueClient.certPath,
          privateKeyPath: certs.rogueClient.keyPath,
        }),
      });
      await rejectsWith(
        client.fetchPods(),
        "UNAVAILABLE",
        /^unable to perform request: https:\/\/localhost:\d+\/pods: /,
      );
      assert.equal(k.requestCount, 0);
    });

    it("skip_kubelet_verification accepts a bad certificate, never reads the CA and warns once", async () => {
      const token = await writeFile(BOOTSTRAP_TOKEN);
      const k = await start({ tls: certs.rogue, auth: { kind: "token", tokenPath: token } });
      const { lines, logger } = captureLogger();
      const client = await createKubeletClient({
        config: secure(k, {
          tokenPath: token,
          skipKubeletVerification: true,
          kubeletCaPath: `${dir}/missing-ca`,
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

  describe("credential loading errors (upstream texts)", () => {
    it("missing token file", async () => {
      const missing = `${dir}/no-such-token`;
      await rejectsWith(
        createKubeletClient({ config: testConfig({ kubeletCaPath: pki.ca.certPath, tokenPath: missing }) }),
        "INVALID_ARGUMENT",
        new RegExp(`^unable to load token: open ${missing}: no such file or directory$`),
      );
    });
    it("missing CA", async () => {
      await rejectsWith(
        createKubeletClient({ config: testConfig({ kubeletCaPath: `${dir}/no-ca` }) }),
        "INVALID_ARGUMENT",
        /^unable to load kubelet CA: open .*no-ca: no such file or directory$/,
      );
    });
    it("CA without PEM blocks, and with a key block", async () => {
      await rejectsWith(
        createKubeletClient({ config: testConfig({ kubeletCaPath: await writeFile("not pem") }) }),
        "INVALID_ARGUMENT",
        /^unable to parse kubelet CA: no PEM blocks$/,
      );
      await rejectsWith(
        createKubeletClient({ config: testConfig({ kubeletCaPath: certs.client.keyPath }) }),
        "INVALID_ARGUMENT",
        /^unable to parse kubelet CA: expected block type "CERTIFICATE"; got "PRIVATE KEY"$/,
      );
    });
    it("certificate without key and key without certificate", async () => {
      const base = { kubeletCaPath: pki.ca.certPath };
      await rejectsWith(
        createKubeletClient({ config: testConfig({ ...base, certificatePath: certs.client.certPath }) }),
        "INVALID_ARGUMENT",
        /^the private key path is required with the certificate path$/,
      );
      await rejectsWith(
        createKubeletClient({ config: testConfig({ ...base, privateKeyPath: certs.client.keyPath }) }),
        "INVALID_ARGUMENT",
        /^the certificate path is required with the private key path$/,
      );
    });
    it("unreadable certificate or key, and a key that does not match", async () => {
      const base = { kubeletCaPath: pki.ca.certPath };
      await rejectsWith(
        createKubeletClient({
          config: testConfig({ ...base, certificatePath: `${dir}/nc`, privateKeyPath: certs.client.keyPath }),
        }),
        "INVALID_ARGUMENT",
        /^unable to load certificate: open .*nc: no such file or directory$/,
      );
      await rejectsWith(
        createKubeletClient({
          config: testConfig({
            ...base,
            certificatePath: certs.client.certPath,
            privateKeyPath: `${dir}/nk`,
          }),
        }),
        "INVALID_ARGUMENT",
        /^unable to load private key: open .*nk: no such file or directory$/,
      );
      const err = await rejectsWith(
        createKubeletClient({
          config: testConfig({
            ...base,
            certificatePath: certs.client.certPath,
            privateKeyPath: certs.rogueClient.keyPath,
          }),
        }),
        "INVALID_ARGUMENT",
        /^unable to load keypair: tls: private key does not match public key$/,
      );
      assert.ok(!err.message.includes("PRIVATE KEY"));
    });
    it("resolves every path through resolvePath", async () => {
      const token = await writeFile("tok-r");
      const k = await start({ tls: certs.localhost, auth: { kind: "token", tokenPath: token } });
      const seen: string[] = [];
      const client = await createKubeletClient({
        config: secure(k, { nodeName: "localhost", kubeletCaPath: "ca.pem", tokenPath: "token" }),
        resolvePath: (p) => {
          seen.push(p);
          return p === "ca.pem" ? pki.ca.certPath : token;
        },
      });
      assert.deepEqual(seen.sort(), ["ca.pem", "token"]);
      assert.equal(await client.fetchPods(), PODS_TEXT);
    });
  });

  describe("token rotation and reload", () => {
    it("after a 401 re-reads the token file and retries once", async () => {
      const kubeletToken = await writeFile("old-token");
      const clientToken = await writeFile("old-token");
      const k = await start({ tls: certs.localhost, auth: { kind: "token", tokenPath: kubeletToken } });
      const { lines, logger } = captureLogger();
      const client = await createKubeletClient({
        config: secure(k, { tokenPath: clientToken, nodeName: "localhost" }),
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
      const kubeletToken = await writeFile("kubelet-wants-this");
      const clientToken = await writeFile("secret-client-token");
      const k = await start({ tls: certs.localhost, auth: { kind: "token", tokenPath: kubeletToken } });
      const client = await createKubeletClient({
        config: secure(k, { tokenPath: clientToken, nodeName: "localhost" }),
      });
      const err = await rejectsWith(
        client.fetchPods(),
        "UNAVAILABLE",
        /^unexpected status code on pods response: 401 Unauthorized \(GET https:\/\/localhost:\d+\/pods\)$/,
      );
      assert.ok(!err.message.includes("secret-client-token"));
      assert.equal(k.requestCount, 1);
    });

    it("reloads on reload_interval and keeps the last good credentials on a bad reload", async () => {
      const kubeletToken = await writeFile("tok-a");
      const clientToken = await writeFile("tok-a");
      const k = await start({ tls: certs.localhost, auth: { kind: "token", tokenPath: kubeletToken } });
      const { lines, logger } = captureLogger();
      let now = 1_000_000;
      const client = await createKubeletClient({
        config: secure(k, { tokenPath: clientToken, nodeName: "localhost", reloadIntervalMs: 60_000 }),
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
      });
      assert.ok(!k.requests.some((r) => r.status === 401), "the reload, not a 401, picked up the new token");
      assert.ok(lines.every((l) => !l.includes("tok-a") && !l.includes("tok-b")));
    });

    it("does not reload before reload_interval has passed", async () => {
      const token = await writeFile("tok-x");
      const k = await start({ tls: certs.localhost });
      let now = 0;
      const client = await createKubeletClient({
        config: secure(k, { tokenPath: token, nodeName: "localhost", reloadIntervalMs: 1000 }),
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

  describe("secrets echoed in an error body (issue 9, finding 7)", () => {
    const CUT = 1024; // bytes of the body the error shows
    const echo = (encode: (s: string) => string, start: number) => (authorization: string | null) => {
      const token = (authorization ?? "").replace(/^Bearer /, "");
      return `${"-".repeat(start)}${encode(token)} is not a valid token\n${"tail ".repeat(300)}`;
    };

    for (const [name, encode] of Object.entries(ENCODINGS)) {
      it(`${name}: no piece of the token in the error or the log, wherever the echo falls around the cut`, async () => {
        const tokenPath = await writeFile(`${TOKEN}\n`);
        const k = await start({ tls: certs.localhost });
        const { lines, logger } = captureLogger();
        const client = await createKubeletClient({
          config: secure(k, { tokenPath, nodeName: "localhost" }),
          logger,
        });
        const n = encode(TOKEN).length;
        for (const start of [0, CUT - n - 1, CUT - n + 5, CUT - Math.floor(n / 2), CUT - 8, CUT - 1, CUT]) {
          k.setFault({ status: 401, body: echo(encode, start) });
          const err = await rejectsWith(
            client.fetchPods(),
            "UNAVAILABLE",
            /^unexpected status code on pods response: 401 /,
          );
          assertNoPiece(err.message, TOKEN, encode(TOKEN));
          if (start < CUT) {
            assert.ok(
              err.message.includes(`${"-".repeat(start)}[redacted]`),
              `start ${start}: ${err.message}`,
            );
          }
          assert.ok(err.message.length < CUT + 200, "still cut to about a KiB");
        }
        assert.equal(
          k.requests.at(-1)?.authorization,
          `Bearer ${TOKEN}`,
          "the kubelet did receive the token",
        );
        for (const line of lines) assertNoPieceInLogLine(line, TOKEN, encode(TOKEN));
      });
    }

    it("a retry after a 401 with a re-read token: neither the old nor the new token survives", async () => {
      const oldToken = `${TOKEN}-old`;
      const newToken = `${TOKEN}-new`;
      const tokenPath = await writeFile(oldToken);
      const k = await start({ tls: certs.localhost });
      const { lines, logger } = captureLogger();
      const client = await createKubeletClient({
        config: secure(k, { tokenPath, nodeName: "localhost" }),
        logger,
      });
      k.setFault({
        status: 401,
        body: (authorization) => {
          // The first request echoes the old token; the retry echoes both, the old one percent-encoded.
          const sent = (authorization ?? "").replace(/^Bearer /, "");
          return sent === oldToken
            ? `${"-".repeat(CUT - 10)}${oldToken}`
            : `${"-".repeat(CUT - 200)}${encodeURIComponent(oldToken)} then ${JSON.stringify(sent)}`;
        },
      });
      const before = client.fetchPods();
      await Deno.writeTextFile(tokenPath, newToken);
      const err = await rejectsWith(before, "UNAVAILABLE", /^unexpected status code on pods response: 401 /);
      assert.deepEqual(k.requests.map((r) => r.authorization), [`Bearer ${oldToken}`, `Bearer ${newToken}`]);
      assertNoPiece(err.message, oldToken, encodeURIComponent(oldToken));
      assertNoPiece(err.message, newToken, JSON.stringify(newToken));
      assert.ok(lines.some((l) => l.includes("retrying once")), "the retry was logged");
      for (const line of lines) {
        assertNoPieceInLogLine(line, oldToken, encodeURIComponent(oldToken));
        assertNoPieceInLogLine(line, newToken, JSON.stringify(newToken));
      }
    });

    it("a client key echoed back is redacted too", async () => {
      const k = await start({
        tls: { ...certs.localhost, clientCa: pki.ca.cert },
        auth: { kind: "client-cert" },
      });
      const key = certs.client.key;
      const client = await createKubeletClient({
        config: secure(k, {
          certificatePath: certs.client.certPath,
          privateKeyPath: certs.client.keyPath,
          nodeName: "localhost",
        }),
      });
      k.setFault({ status: 500, body: `${"-".repeat(CUT - 50)}${JSON.stringify(key)}` });
      const err = await rejectsWith(
        client.fetchPods(),
        "UNAVAILABLE",
        /^unexpected status code on pods response: 500 /,
      );
      assertNoPiece(err.message, key.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, ""));
      assert.ok(err.message.includes("[redacted]"));
    });
  });

  describe("response errors", () => {
    it("non-200: status, first KiB of the body and the URL", async () => {
      const k = await start({});
      const client = await createKubeletClient({ config: testConfig({ kubeletReadOnlyPort: k.port }) });
      k.setFault({ status: 503, body: "kubelet is busy\n" });
      await rejectsWith(
        client.fetchPods(),
        "UNAVAILABLE",
        new RegExp(`^unexpected status code on pods response: 503 kubelet is busy \\(GET ${client.url}\\)$`),
      );
      k.setFault({ status: 500, body: "x".repeat(5000) });
      const err = await rejectsWith(
        client.fetchPods(),
        "UNAVAILABLE",
        /^unexpected status code on pods response: 500 x+ /,
      );
      assert.equal(err.message.match(/x{2,}/)?.[0].length, 1024);
    });

    it("timeout names the URL", async () => {
      const k = await start({});
      const client = await createKubeletClient({
        config: testConfig({ kubeletReadOnlyPort: k.port }),
        timeoutMs: 50,
      });
      k.setFault({ delayMs: 5_000 });
      await rejectsWith(
        client.fetchPods(),
        "UNAVAILABLE",
        new RegExp(`^unable to perform request: ${client.url}: timed out after 50 ms$`),
      );
      k.setFault(null);
      assert.equal(await client.fetchPods(), PODS_TEXT);
    });

    it("truncated body", async () => {
      const k = await start({});
      const client = await createKubeletClient({ config: testConfig({ kubeletReadOnlyPort: k.port }) });
      k.setFault({ truncate: true });
      await rejectsWith(
        client.fetchPods(),
        "UNAVAILABLE",
        new RegExp(`^unable to read pods response: ${client.url}: `),
      );
    });

    it("body over the cap", async () => {
      const k = await start({});
      const client = await createKubeletClient({
        config: testConfig({ kubeletReadOnlyPort: k.port }),
        maxBodyBytes: PODS_TEXT.length - 1,
      });
      await rejectsWith(client.fetchPods(), "UNAVAILABLE", /exceeds the limit of \d+ bytes/);
      const exact = await createKubeletClient({
        config: testConfig({ kubeletReadOnlyPort: k.port }),
        maxBodyBytes: PODS_TEXT.length,
      });
      assert.equal(await exact.fetchPods(), PODS_TEXT);
    });

    it("garbage JSON is returned as text (parsing is the caller's job)", async () => {
      const k = await start({});
      const client = await createKubeletClient({ config: testConfig({ kubeletReadOnlyPort: k.port }) });
      k.setFault({ garbage: true });
      assert.equal(await client.fetchPods(), "{this is not json");
    });

    it("connection refused", async () => {
      const k = await startFakeKubelet({});
      const port = k.port;
      await k.stop();
      const client = await createKubeletClient({ config: testConfig({ kubeletReadOnlyPort: port }) });
      await rejectsWith(
        client.fetchPods(),
        "UNAVAILABLE",
        new RegExp(`^unable to perform request: ${client.url}: .+`),
      );
    });

    it("an aborted signal cancels the request", async () => {
      const k = await start({});
      const client = await createKubeletClient({ config: testConfig({ kubeletReadOnlyPort: k.port }) });
      k.setFault({ delayMs: 5_000 });
      const ac = new AbortController();
      const p = client.fetchPods(ac.signal);
      ac.abort();
      await rejectsWith(p, "CANCELLED", /^kubelet request cancelled: /);
      k.setFault(null);
    });
  });
});
