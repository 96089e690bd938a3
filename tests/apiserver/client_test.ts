import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { createApiServerClient } from "../../src/apiserver/client.ts";
import { inClusterLocation } from "../../src/apiserver/in_cluster.ts";
import { AttestorError } from "../../src/errors.ts";
import { type ApiEnv, startApiEnv, TOKEN } from "./_env.ts";

const isReason = (reason: string, message?: RegExp) => (err: unknown) => {
  assert.ok(err instanceof AttestorError, `an AttestorError, got ${err}`);
  assert.equal(err.reason, reason, err.message);
  if (message) assert.match(err.message, message);
  assert.ok(!err.message.includes(TOKEN), "the token never appears in a message");
  return true;
};

describe("in-cluster location", () => {
  it("needs both variables, a TCP port and a plain host", () => {
    const at = (env: Record<string, string>) => () => inClusterLocation({ getenv: (n) => env[n] });
    assert.throws(
      at({ KUBERNETES_SERVICE_HOST: "10.0.0.1" }),
      isReason("apiserver-failed", /must be defined/),
    );
    assert.throws(
      at({ KUBERNETES_SERVICE_HOST: "10.0.0.1", KUBERNETES_SERVICE_PORT: "99999" }),
      isReason("apiserver-failed", /not a TCP port/),
    );
    assert.throws(
      at({ KUBERNETES_SERVICE_HOST: "a/b@c", KUBERNETES_SERVICE_PORT: "443" }),
      isReason("apiserver-failed", /not a host name/),
    );
    const v6 = inClusterLocation({
      getenv: (n) => ({ KUBERNETES_SERVICE_HOST: "fd00::1", KUBERNETES_SERVICE_PORT: "443" })[n],
      serviceAccountDir: "/sa/",
    });
    assert.deepEqual(v6, {
      host: "fd00::1",
      port: 443,
      baseUrl: "https://[fd00::1]:443",
      tokenPath: "/sa/token",
      caPath: "/sa/ca.crt",
    });
  });
});

describe("API server client against a fake API server over TLS", () => {
  let e: ApiEnv;
  before(async () => {
    e = await startApiEnv();
    e.api.put("", "namespaces", { metadata: { name: "team-a", uid: "ns-1", labels: { tier: "gold" } } });
  });
  after(() => e[Symbol.asyncDispose]());

  it("GET sends the service-account token and the Accept header, and parses the answer", async () => {
    const client = createApiServerClient({ location: e.location });
    const accept = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";
    const res = await client.get("/api/v1/namespaces/team-a", { accept });
    assert.equal(res.status, 200);
    assert.deepEqual((res.json as { metadata: unknown }).metadata, {
      name: "team-a",
      uid: "ns-1",
      labels: { tier: "gold" },
    });
    const seen = e.api.requests.at(-1)!;
    assert.equal(seen.authorization, `Bearer ${TOKEN}`);
    assert.equal(seen.accept, accept);
  });

  it("404 is an answer, not an error", async () => {
    const client = createApiServerClient({ location: e.location });
    assert.deepEqual(await client.get("/api/v1/namespaces/nope"), { status: 404, json: null });
  });

  it("POST sends JSON and returns the 201 answer", async () => {
    e.api.setReview((spec) => spec.user === "spiffe://example.org/broker");
    const client = createApiServerClient({ location: e.location });
    const res = await client.post("/apis/authorization.k8s.io/v1/subjectaccessreviews", {
      spec: { user: "spiffe://example.org/broker" },
    });
    assert.equal(res.status, 201);
    assert.equal((res.json as { status: { allowed: boolean } }).status.allowed, true);
  });

  it("403 is apiserver-failed naming the request and the API server's message, the token redacted", async () => {
    e.api.setFault({ status: 403, message: `namespaces is forbidden: token ${TOKEN} may not get` });
    try {
      const client = createApiServerClient({ location: e.location });
      await assert.rejects(
        client.get("/api/v1/namespaces/team-a"),
        isReason(
          "apiserver-failed",
          /^GET \/api\/v1\/namespaces\/team-a: the API server answered 403: namespaces is forbidden: token \[redacted\] may not get$/,
        ),
      );
    } finally {
      e.api.setFault(null);
    }
  });

  it("a rotated token is read again after a 401 and the request retried once", async () => {
    const client = createApiServerClient({ location: e.location });
    await client.get("/api/v1/namespaces/team-a");
    await e.rotateToken("rotated-token-abcdef");
    try {
      const before = e.api.requests.length;
      assert.equal((await client.get("/api/v1/namespaces/team-a")).status, 200);
      assert.deepEqual(e.api.requests.slice(before).map((r) => r.status), [401, 200]);
      assert.equal(e.api.requests.at(-1)!.authorization, "Bearer rotated-token-abcdef");
    } finally {
      await e.rotateToken(TOKEN);
    }
  });

  it("the token is re-read once its TTL has passed (no 401 needed)", async () => {
    let now = 0;
    const client = createApiServerClient({ location: e.location, credentialTtlMs: 1000, now: () => now });
    await client.get("/api/v1/namespaces/team-a");
    await e.rotateToken("ttl-token-abcdef");
    try {
      now = 1001;
      const before = e.api.requests.length;
      await client.get("/api/v1/namespaces/team-a");
      assert.deepEqual(e.api.requests.slice(before).map((r) => r.status), [200]);
    } finally {
      await e.rotateToken(TOKEN);
    }
  });

  it("a slow API server is cut at the request timeout", async () => {
    e.api.setFault({ delayMs: 3000 });
    try {
      const client = createApiServerClient({ location: e.location, timeoutMs: 200 });
      await assert.rejects(
        client.get("/api/v1/namespaces/team-a"),
        isReason("apiserver-failed", /timed out after 200 ms/),
      );
    } finally {
      e.api.setFault(null);
    }
  });

  it("the caller's abort ends the request as cancelled", async () => {
    e.api.setFault({ delayMs: 3000 });
    try {
      const client = createApiServerClient({ location: e.location });
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 50);
      await assert.rejects(
        client.get("/api/v1/namespaces/team-a", { signal: ac.signal }),
        isReason("cancelled"),
      );
    } finally {
      e.api.setFault(null);
    }
  });

  it("an answer over the size limit is refused", async () => {
    e.api.setFault({ oversizeBytes: 100_000 });
    try {
      const client = createApiServerClient({ location: e.location, maxBodyBytes: 10_000 });
      await assert.rejects(
        client.get("/api/v1/namespaces/team-a"),
        isReason("apiserver-failed", /exceeds the limit of 10000 bytes/),
      );
    } finally {
      e.api.setFault(null);
    }
  });

  it("a CA that did not issue the server certificate fails TLS", async () => {
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(`${dir}/token`, TOKEN);
      await Deno.writeTextFile(`${dir}/ca.crt`, e.pki.rogueCa.cert);
      const client = createApiServerClient({
        location: inClusterLocation({ getenv: e.getenv, serviceAccountDir: dir }),
      });
      const before = e.api.requests.length;
      await assert.rejects(
        client.get("/api/v1/namespaces/team-a"),
        isReason("apiserver-failed", /^GET \/api\/v1\/namespaces\/team-a: .*certificate/),
      );
      assert.equal(e.api.requests.length, before, "no request reached the server");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  it("an API server that is down is apiserver-failed", async () => {
    const free = net.createServer();
    await new Promise<void>((r) => free.listen(0, "127.0.0.1", r));
    const port = (free.address() as net.AddressInfo).port;
    await new Promise<void>((r) => free.close(() => r()));
    const client = createApiServerClient({
      location: inClusterLocation({
        getenv: (n) => ({ KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT: String(port) })[n],
        serviceAccountDir: e.saDir,
      }),
    });
    await assert.rejects(
      client.get("/api/v1/namespaces/team-a"),
      isReason("apiserver-failed", /ECONNREFUSED|refused/i),
    );
  });

  it("missing credential files are named, their content never", async () => {
    const client = createApiServerClient({
      location: inClusterLocation({ getenv: e.getenv, serviceAccountDir: `${e.saDir}/missing` }),
    });
    await assert.rejects(
      client.get("/api/v1/namespaces/team-a"),
      isReason("apiserver-failed", /unable to read the service account token .*\/missing\/token/),
    );
  });
});

describe("API server certificate name", () => {
  it("a certificate that does not name KUBERNETES_SERVICE_HOST is refused", async () => {
    await using e = await startApiEnv();
    const cert = await e.pki.issueServerCert("other", { dns: ["other.test"] });
    const { startFakeApiServer } = await import("../../src/testing/fake_apiserver.ts");
    await using other = await startFakeApiServer({ tls: cert, tokenPath: `${e.saDir}/token` });
    const client = createApiServerClient({
      location: inClusterLocation({
        getenv: (n) =>
          ({ KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT: String(other.port) })[n],
        serviceAccountDir: e.saDir,
      }),
    });
    await assert.rejects(
      client.get("/api/v1/namespaces/x"),
      isReason("apiserver-failed", /not valid for "127.0.0.1"/),
    );
    assert.equal(other.requests.length, 0);
  });
});
