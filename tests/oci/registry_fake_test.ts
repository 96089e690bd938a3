/**
 * The registry client against the fake registry, for what a real registry does not do: token auth with
 * scope checks, expiry and revocation, 401 loops, odd challenges and realms, redirects (to another origin,
 * HTTPS→HTTP, loops), slow, oversized, endless and wrong bodies, garbage token answers, error bodies that
 * echo secrets, HTTPS with extra CAs; and that no credential or token ever appears in a message or a log.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { AttestorError } from "../../src/errors.ts";
import {
  createRegistryClient,
  MANIFEST_MEDIA_TYPES,
  type RegistryClientSettings,
} from "../../src/oci/registry.ts";
import { rejectsWithAttestorError } from "../../src/testing/assert_error.ts";
import { createTestPki, type TestPki } from "../../src/testing/certs.ts";
import {
  type FakeRegistry,
  type FakeRegistryOptions,
  startFakeRegistry,
} from "../../src/testing/fake_registry.ts";
import { type RecordedLine, recordingLogger } from "../../src/testing/recording_logger.ts";

const encoder = new TextEncoder();
const OCI = "application/vnd.oci.image.manifest.v1+json";
const USER = "robot$puller";
const PASSWORD = "Tok3n-Service-Passw0rd";
const MANIFEST = encoder.encode(JSON.stringify({ schemaVersion: 2, mediaType: OCI, config: {}, layers: [] }));
const BLOB = encoder.encode("blob contents ".repeat(100));

const tmp = Deno.makeTempDirSync({ prefix: "oci-fake-" });
const fakes: FakeRegistry[] = [];
after(async () => {
  for (const f of fakes) await f.stop();
  Deno.removeSync(tmp, { recursive: true });
});

async function fake(options: FakeRegistryOptions = {}): Promise<FakeRegistry> {
  const f = await startFakeRegistry(options);
  fakes.push(f);
  await f.putManifest("team/app", "v1", MANIFEST, OCI);
  await f.putBlob("team/app", BLOB);
  return f;
}

let configCount = 0;
/** A docker config directory holding `auths`. */
function dockerConfig(auths: Record<string, unknown> = {}): string {
  const dir = join(tmp, `cfg-${configCount++}`);
  Deno.mkdirSync(dir);
  Deno.writeTextFileSync(join(dir, "config.json"), JSON.stringify({ auths }));
  return dir;
}

/** A client with a recorded log; every message and log line is checked for secrets at the end. */
const allLines: RecordedLine[] = [];
const allMessages: string[] = [];
function client(settings: RegistryClientSettings = {}) {
  return createRegistryClient({
    dockerConfigDir: dockerConfig(),
    logger: recordingLogger(allLines),
    ...settings,
  });
}
async function failure(promise: Promise<unknown>): Promise<AttestorError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof AttestorError, String(err));
    allMessages.push(err.message);
    return err;
  }
  assert.fail("expected a failure");
}
async function expectFailure(
  promise: Promise<unknown>,
  reason: AttestorError["reason"],
  message: string | RegExp,
) {
  const err = await failure(promise);
  await rejectsWithAttestorError(Promise.reject(err), reason, message);
}

const BLOB_DIGEST = await crypto.subtle.digest("SHA-256", BLOB).then((h) =>
  `sha256:${Array.from(new Uint8Array(h), (b) => b.toString(16).padStart(2, "0")).join("")}`
);
const MANIFEST_DIGEST = await crypto.subtle.digest("SHA-256", MANIFEST).then((h) =>
  `sha256:${Array.from(new Uint8Array(h), (b) => b.toString(16).padStart(2, "0")).join("")}`
);

describe("requests", () => {
  it("asks for the OCI and Docker manifest types, indexes and lists included", async () => {
    const f = await fake();
    const got = await client().getManifest(f.host, "team/app", "v1");
    assert.equal(got?.digest, MANIFEST_DIGEST);
    assert.equal(got?.mediaType, OCI);
    assert.deepEqual(f.requests.map((r) => r.accept), [MANIFEST_MEDIA_TYPES.join(", ")]);
    assert.deepEqual(MANIFEST_MEDIA_TYPES, [
      "application/vnd.oci.image.manifest.v1+json",
      "application/vnd.docker.distribution.manifest.v2+json",
      "application/vnd.oci.image.index.v1+json",
      "application/vnd.docker.distribution.manifest.list.v2+json",
    ]);
  });
});

describe("token auth", () => {
  it("gets an anonymous token for the repository's pull scope and reuses it", async () => {
    const f = await fake({ auth: { kind: "token", service: "svc" } });
    await f.putManifest("team/other", "v1", MANIFEST, OCI);
    const c = client();
    assert.ok(await c.getManifest(f.host, "team/app", "v1"));
    assert.deepEqual(await c.getBlob(f.host, "team/app", BLOB_DIGEST, 10_000), BLOB);
    assert.deepEqual(f.issuedTokens.map((t) => t.scope), ["repository:team/app:pull"]);
    const token = f.requests.find((r) => r.path === "/token")!;
    assert.equal(token.query, "service=svc&scope=repository%3Ateam%2Fapp%3Apull");
    assert.equal(token.authorization, null, "anonymous: no docker config entry");
    assert.deepEqual(f.requests.map((r) => `${r.path} ${r.status}`), [
      "/v2/team/app/manifests/v1 401",
      "/token 200",
      "/v2/team/app/manifests/v1 200",
      `/v2/team/app/blobs/${BLOB_DIGEST} 200`,
    ]);
    // Another repository is another scope: a token for team/app is not sent... it is refused by the fake's
    // scope check, and a token for team/other is obtained.
    assert.ok(await c.getManifest(f.host, "team/other", "v1"));
    assert.deepEqual(f.issuedTokens.map((t) => t.scope), [
      "repository:team/app:pull",
      "repository:team/other:pull",
    ]);
  });

  it("sends the docker config's credentials to the realm only, and the bearer token to the registry", async () => {
    const f = await fake({ auth: { kind: "token", username: USER, password: PASSWORD } });
    const c = client({ dockerConfigDir: dockerConfig({ [f.host]: { auth: btoa(`${USER}:${PASSWORD}`) } }) });
    assert.ok(await c.getManifest(f.host, "team/app", "v1"));
    const basic = `Basic ${btoa(`${USER}:${PASSWORD}`)}`;
    assert.deepEqual(f.requests.map((r) => [r.path, r.authorization]), [
      ["/v2/team/app/manifests/v1", null],
      ["/token", basic],
      ["/v2/team/app/manifests/v1", `Bearer ${f.issuedTokens[0].token}`],
    ]);
  });

  it("fails when the token service refuses the credentials", async () => {
    const f = await fake({ auth: { kind: "token", username: USER, password: PASSWORD } });
    const c = client({ dockerConfigDir: dockerConfig({ [f.host]: { username: USER, password: "nope" } }) });
    await expectFailure(
      c.getManifest(f.host, "team/app", "v1"),
      "registry-failed",
      `fetching manifest v1 of team/app from registry ${f.host}: token endpoint ${f.baseUrl}/token answered 401`,
    );
  });

  it("accepts access_token, caches for expires_in, then asks again", async () => {
    let now = 1_000_000;
    const f = await fake({ auth: { kind: "token", expiresIn: 300, accessTokenField: true } });
    const c = client({ now: () => now });
    assert.ok(await c.getManifest(f.host, "team/app", "v1"));
    now += 299_000;
    assert.ok(await c.getManifest(f.host, "team/app", "v1"));
    assert.equal(f.issuedTokens.length, 1);
    now += 1_000;
    assert.ok(await c.getManifest(f.host, "team/app", "v1"));
    assert.equal(f.issuedTokens.length, 2);
  });

  it("caches a token without expires_in for 60 s", async () => {
    let now = 0;
    const f = await fake({ auth: { kind: "token" } });
    const c = client({ now: () => now });
    assert.ok(await c.getManifest(f.host, "team/app", "v1"));
    now = 59_999;
    assert.ok(await c.getManifest(f.host, "team/app", "v1"));
    assert.equal(f.issuedTokens.length, 1);
    now = 60_000;
    assert.ok(await c.getManifest(f.host, "team/app", "v1"));
    assert.equal(f.issuedTokens.length, 2);
  });

  it("drops a cached token the registry refuses and gets a new one, once", async () => {
    const f = await fake({ auth: { kind: "token" } });
    const c = client();
    assert.ok(await c.getManifest(f.host, "team/app", "v1"));
    f.revokeTokens();
    assert.ok(await c.getManifest(f.host, "team/app", "v1"));
    assert.equal(f.issuedTokens.length, 2);
    assert.deepEqual(f.requests.slice(3).map((r) => `${r.path} ${r.status}`), [
      "/v2/team/app/manifests/v1 401",
      "/token 200",
      "/v2/team/app/manifests/v1 200",
    ]);
  });

  it("stops after one answer to a registry that keeps saying 401 (no loop)", async () => {
    const f = await fake({ auth: { kind: "token" } });
    f.setFault("manifests", {
      challenge: `Bearer realm="${"http://127.0.0.1"}:${
        new URL(f.baseUrl).port
      }/token",service="fake-registry"`,
    });
    await expectFailure(
      client().getManifest(f.host, "team/app", "v1"),
      "registry-failed",
      `fetching manifest v1 of team/app from registry ${f.host}: ` +
        "401 Unauthorized after authenticating (the registry refused the credentials or token)",
    );
    assert.deepEqual(f.requests.map((r) => `${r.path} ${r.status}`), [
      "/v2/team/app/manifests/v1 401",
      "/token 200",
      "/v2/team/app/manifests/v1 401",
    ]);
  });

  const badChallenges: [string, string | null, RegExp][] = [
    ["no challenge", null, /: 401 Unauthorized without a WWW-Authenticate challenge$/],
    [
      "a malformed challenge",
      'Bearer realm="open',
      /: malformed WWW-Authenticate header: unterminated quoted string at offset 18$/,
    ],
    [
      "an unsupported scheme",
      "Negotiate abc==, NTLM",
      /: 401 Unauthorized with unsupported auth scheme\(s\): negotiate, ntlm$/,
    ],
    ["a bearer challenge without realm", 'Bearer service="x"', /: Bearer challenge without a realm$/],
    [
      "a realm that is not a URL",
      'Bearer realm="/token"',
      /: Bearer challenge with a realm that is not a URL$/,
    ],
    [
      "a realm with another scheme",
      'Bearer realm="file:///etc/passwd"',
      /: Bearer realm with scheme file: refused$/,
    ],
    [
      "a realm with user info",
      'Bearer realm="https://u:p@auth.example/token"',
      /: Bearer realm with user info refused$/,
    ],
    [
      "a plain-HTTP realm off loopback",
      'Bearer realm="http://auth.example/token"',
      /: Bearer realm over plain HTTP refused: http:\/\/auth.example\/token$/,
    ],
  ];
  for (const [what, challenge, message] of badChallenges) {
    it(`fails for ${what}, sending nothing to the realm`, async () => {
      const f = await fake();
      f.setFault("manifests", challenge === null ? { status: 401 } : { challenge });
      await expectFailure(client().getManifest(f.host, "team/app", "v1"), "registry-failed", message);
      assert.equal(f.requests.length, 1);
    });
  }

  it("fails for garbage, token-less or unprintable token answers", async () => {
    const f = await fake({ auth: { kind: "token" } });
    const prefix =
      `fetching manifest v1 of team/app from registry ${f.host}: token endpoint ${f.baseUrl}/token`;
    f.setFault("token", { garbage: true });
    await expectFailure(
      client().getManifest(f.host, "team/app", "v1"),
      "registry-failed",
      `${prefix} answered with a body that is not JSON`,
    );
    f.setFault("token", { status: 200, body: '{"token": ""}' });
    await expectFailure(
      client().getManifest(f.host, "team/app", "v1"),
      "registry-failed",
      `${prefix} answered without a token`,
    );
    f.setFault("token", { status: 200, body: '{"token": "a b\\r\\nX-Injected: 1"}' });
    await expectFailure(
      client().getManifest(f.host, "team/app", "v1"),
      "registry-failed",
      `${prefix} answered with a token that is not printable ASCII`,
    );
    f.setFault("token", { oversizeBytes: 300 * 1024 });
    await expectFailure(
      client().getManifest(f.host, "team/app", "v1"),
      "registry-failed",
      `fetching manifest v1 of team/app from registry ${f.host}: token response is larger than 262144 bytes (Content-Length 307200)`,
    );
  });

  it("answers a Basic challenge with the docker config's credentials for that registry only", async () => {
    const f = await fake({ auth: { kind: "basic", username: USER, password: PASSWORD } });
    const other = await fake({ auth: { kind: "basic", username: USER, password: PASSWORD } });
    const c = client({ dockerConfigDir: dockerConfig({ [f.host]: { auth: btoa(`${USER}:${PASSWORD}`) } }) });
    assert.ok(await c.getManifest(f.host, "team/app", "v1"));
    await expectFailure(
      c.getManifest(other.host, "team/app", "v1"),
      "registry-failed",
      /: the registry asks for Basic credentials and none are configured for it \(registry_credentials or the docker config\)$/,
    );
    assert.deepEqual(other.requests.map((r) => r.authorization), [null]);
  });
});

describe("docker config", () => {
  it("says at debug level, once, what it does not use (credential helpers, identity tokens)", async () => {
    const f = await fake({ auth: { kind: "basic", username: USER, password: PASSWORD } });
    const dir = dockerConfig();
    Deno.writeTextFileSync(
      join(dir, "config.json"),
      JSON.stringify({
        credsStore: "desktop",
        auths: { [f.host]: { auth: btoa(`${USER}:${PASSWORD}`) }, "ghcr.io": { identitytoken: PASSWORD } },
      }),
    );
    const lines: RecordedLine[] = [];
    const c = client({ dockerConfigDir: dir, logger: recordingLogger(lines) });
    assert.ok(await c.getManifest(f.host, "team/app", "v1"));
    assert.ok(await c.getManifest(f.host, "team/other", "v1") === null);
    allLines.push(...lines);
    assert.deepEqual(lines.filter((l) => l.message === "Docker config entry not used"), [
      {
        level: "debug",
        message: "Docker config entry not used",
        fields: {
          path: join(dir, "config.json"),
          note: "credsStore is not supported (credential helpers are not run); its registries are anonymous",
        },
      },
      {
        level: "debug",
        message: "Docker config entry not used",
        fields: {
          path: join(dir, "config.json"),
          note: "ghcr.io: identitytoken/registrytoken are not supported; the entry is not used",
        },
      },
    ]);
  });
});

describe("redirects", () => {
  it("follows a redirect to another origin without the Authorization header", async () => {
    const f = await fake({ auth: { kind: "token" } });
    const cdn = await fake();
    f.setFault("blobs", { redirectTo: cdn.baseUrl });
    f.setFault("manifests", { redirectTo: cdn.baseUrl });
    const c = client();
    assert.equal((await c.getManifest(f.host, "team/app", "v1"))?.digest, MANIFEST_DIGEST);
    assert.deepEqual(await c.getBlob(f.host, "team/app", BLOB_DIGEST, 10_000), BLOB);
    assert.ok(f.requests.some((r) => r.authorization?.startsWith("Bearer ")), "the registry got the token");
    assert.equal(cdn.requests.length, 2);
    assert.deepEqual(cdn.requests.map((r) => r.authorization), [null, null]);
  });

  it("keeps the Authorization header on a redirect within the origin", async () => {
    const f = await fake({ auth: { kind: "basic", username: USER, password: PASSWORD } });
    const c = client({ dockerConfigDir: dockerConfig({ [f.host]: { username: USER, password: PASSWORD } }) });
    assert.ok(await c.getManifest(f.host, "team/app", "v1"));
    // A relative Location: the blob request is sent on to a path of the same server (which needs the
    // credentials, so the answer is 200 only if they came along).
    f.setFault("blobs", { status: 307, headers: { location: `/v2/team/app/manifests/${MANIFEST_DIGEST}` } });
    assert.deepEqual(await c.getBlob(f.host, "team/app", MANIFEST_DIGEST, 10_000), MANIFEST);
    const last = f.requests.at(-1)!;
    assert.equal(last.path, `/v2/team/app/manifests/${MANIFEST_DIGEST}`);
    assert.equal(last.status, 200);
    assert.equal(last.authorization, `Basic ${btoa(`${USER}:${PASSWORD}`)}`);
  });

  it("refuses a redirect target that answers 401 instead of authenticating to it", async () => {
    const f = await fake();
    const evil = await fake({ auth: { kind: "token" } });
    f.setFault("manifests", { redirectTo: evil.baseUrl });
    const c = client({ dockerConfigDir: dockerConfig({ [f.host]: { username: USER, password: PASSWORD } }) });
    await expectFailure(
      c.getManifest(f.host, "team/app", "v1"),
      "registry-failed",
      `fetching manifest v1 of team/app from registry ${f.host}: 401 Unauthorized from a redirect target on another origin`,
    );
    assert.equal(evil.requests.filter((r) => r.path === "/token").length, 0);
  });

  it("stops after 5 redirects", async () => {
    const f = await fake();
    f.setFault("manifests", { redirectTo: f.baseUrl });
    await expectFailure(
      client().getManifest(f.host, "team/app", "v1"),
      "registry-failed",
      `fetching manifest v1 of team/app from registry ${f.host}: too many redirects (more than 5)`,
    );
    assert.equal(f.requests.length, 6);
  });

  it("refuses a redirect to plain HTTP off loopback, and one without or with a bad Location", async () => {
    const f = await fake();
    f.setFault("manifests", {
      status: 302,
      headers: { location: "http://registry.example/v2/x?X-Amz-Signature=s3cr3t" },
    });
    const err = await failure(client().getManifest(f.host, "team/app", "v1"));
    assert.equal(
      err.message,
      `fetching manifest v1 of team/app from registry ${f.host}: refusing a redirect to http://registry.example/v2/x`,
    );
    f.setFault("manifests", { status: 301 });
    await expectFailure(
      client().getManifest(f.host, "team/app", "v1"),
      "registry-failed",
      /: redirect 301 without a Location$/,
    );
    f.setFault("manifests", { status: 308, headers: { location: "http://[::1" } });
    await expectFailure(
      client().getManifest(f.host, "team/app", "v1"),
      "registry-failed",
      /: redirect 308 to an invalid URL$/,
    );
  });
});

describe("bodies", () => {
  it("detects wrong bytes: a blob, a manifest by digest", async () => {
    const f = await fake();
    f.setFault("blobs", { wrongBytes: true });
    await expectFailure(
      client().getBlob(f.host, "team/app", BLOB_DIGEST, 10_000),
      "registry-failed",
      new RegExp(
        `^fetching blob ${BLOB_DIGEST} of team/app from registry ${f.host}: digest mismatch: the blob served has sha256:[0-9a-f]{64}$`,
      ),
    );
    f.setFault("manifests", { wrongBytes: true });
    await expectFailure(
      client().getManifest(f.host, "team/app", MANIFEST_DIGEST),
      "registry-failed",
      /: digest mismatch: the manifest served has/,
    );
    // By tag nothing says which digest to expect: the bytes' own digest is reported.
    const byTag = await client().getManifest(f.host, "team/app", "v1");
    assert.notEqual(byTag?.digest, MANIFEST_DIGEST);
  });

  it("refuses an oversized manifest from its Content-Length, and an endless body by cutting it", async () => {
    const f = await fake();
    f.setFault("manifests", { oversizeBytes: 4 * 1024 * 1024 + 1 });
    await expectFailure(
      client().getManifest(f.host, "team/app", "v1"),
      "registry-failed",
      `fetching manifest v1 of team/app from registry ${f.host}: manifest is larger than 4194304 bytes (Content-Length 4194305)`,
    );
    f.setFault("manifests", { endless: true });
    await expectFailure(
      client({ maxManifestBytes: 1024 * 1024 }).getManifest(f.host, "team/app", "v1"),
      "registry-failed",
      `fetching manifest v1 of team/app from registry ${f.host}: manifest is larger than 1048576 bytes`,
    );
    f.setFault("blobs", { endless: true });
    await expectFailure(
      client().getBlob(f.host, "team/app", BLOB_DIGEST, 2 * 1024 * 1024),
      "registry-failed",
      /: blob is larger than 2097152 bytes$/,
    );
  });

  it("reduces an error body to its distribution error codes (a body echoing the token is not quoted)", async () => {
    const f = await fake({ auth: { kind: "token" } });
    const c = client();
    assert.ok(await c.getManifest(f.host, "team/app", "v1"));
    const token = f.issuedTokens[0].token;
    f.setFault("manifests", {
      status: 403,
      body: JSON.stringify({
        errors: [{ code: "DENIED", message: `token ${token} denied` }, { code: "bad code!" }],
      }),
    });
    const err = await failure(c.getManifest(f.host, "team/app", "v1"));
    assert.equal(
      err.message,
      `fetching manifest v1 of team/app from registry ${f.host}: registry answered 403 (DENIED)`,
    );
    f.setFault("manifests", { status: 500, body: "<html>oops</html>" });
    await expectFailure(
      c.getManifest(f.host, "team/app", "v1"),
      "registry-failed",
      /: registry answered 500$/,
    );
  });
});

describe("time limits and cancellation", () => {
  it("times out a slow registry after requestTimeoutMs", async () => {
    const f = await fake();
    f.setFault("manifests", { delayMs: 5_000 });
    await expectFailure(
      client({ requestTimeoutMs: 200 }).getManifest(f.host, "team/app", "v1"),
      "registry-failed",
      `fetching manifest v1 of team/app from registry ${f.host}: timed out after 200 ms`,
    );
  });

  it("times out a body that trickles", async () => {
    const f = await fake();
    f.setFault("blobs", { endless: true });
    // An endless body under a huge limit: the time limit ends it.
    await expectFailure(
      client({ requestTimeoutMs: 300 }).getBlob(f.host, "team/app", BLOB_DIGEST, 2 ** 40),
      "registry-failed",
      /: timed out after 300 ms$/,
    );
  });

  it("reports the caller's deadline as deadline-exceeded and a cancellation as cancelled", async () => {
    const f = await fake();
    f.setFault("manifests", { delayMs: 5_000 });
    await expectFailure(
      client().getManifest(f.host, "team/app", "v1", { signal: AbortSignal.timeout(100) }),
      "deadline-exceeded",
      "context deadline exceeded",
    );
    const controller = new AbortController();
    const pending = client().getManifest(f.host, "team/app", "v1", { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expectFailure(pending, "cancelled", "context canceled");
    await expectFailure(
      client().getManifest(f.host, "team/app", "v1", { signal: AbortSignal.abort() }),
      "cancelled",
      "context canceled",
    );
  });

  it("reports a connection failure as registry-failed", async () => {
    const f = await fake();
    const host = f.host;
    await f.stop();
    await expectFailure(
      client().getManifest(host, "team/app", "v1"),
      "registry-failed",
      new RegExp(
        `^fetching manifest v1 of team/app from registry ${host}: request to http://${host}/v2/team/app/manifests/v1 failed: `,
      ),
    );
  });
});

describe("HTTPS registries", () => {
  let pki: TestPki;
  let tls: { cert: string; key: string };
  before(async () => {
    pki = await createTestPki();
    const cert = await pki.issueServerCert("registry", { dns: ["registry.test"], ip: ["127.0.0.1"] });
    tls = { cert: cert.cert, key: cert.key };
  });
  after(async () => await pki?.cleanup());

  /** Sends `*.test:<port>` to 127.0.0.1:<port> (the test has no DNS); everything else as it is. */
  const testDns: typeof fetch = (input, init) => {
    const url = new URL(input instanceof Request ? input.url : input);
    if (url.hostname.endsWith(".test")) url.hostname = "127.0.0.1";
    return fetch(url, init);
  };

  it("speaks HTTPS to a registry off loopback, trusting caCerts", async () => {
    // The realm is on another host than the registry, as Docker Hub's auth.docker.io.
    const f = await fake({
      tls,
      auth: {
        kind: "token",
        username: USER,
        password: PASSWORD,
        realm: (base) => `${base.replace("127.0.0.1", "auth.test")}/token`,
      },
    });
    const port = new URL(f.baseUrl).port;
    const registry = `registry.test:${port}`;
    const c = client({
      fetch: testDns,
      caCerts: [pki.ca.cert],
      dockerConfigDir: dockerConfig({ [registry]: { username: USER, password: PASSWORD } }),
    });
    try {
      assert.equal((await c.getManifest(registry, "team/app", "v1"))?.digest, MANIFEST_DIGEST);
    } finally {
      c.close();
    }
    assert.equal(f.issuedTokens.length, 1);
    assert.equal(f.requests[1].authorization, `Basic ${btoa(`${USER}:${PASSWORD}`)}`);
    const without = client({ fetch: testDns });
    await expectFailure(
      without.getManifest(registry, "team/app", "v1"),
      "registry-failed",
      new RegExp(
        `^fetching manifest v1 of team/app from registry ${registry}: request to https://${registry}/v2/team/app/manifests/v1 failed: `,
      ),
    );
  });

  it("refuses plain-HTTP and non-public realms for a registry off loopback, before sending credentials", async () => {
    const f = await fake({ tls });
    const port = new URL(f.baseUrl).port;
    const registry = `registry.test:${port}`;
    const c = client({
      fetch: testDns,
      caCerts: [pki.ca.cert],
      dockerConfigDir: dockerConfig({ [registry]: { username: USER, password: PASSWORD } }),
    });
    try {
      f.setFault("manifests", { challenge: `Bearer realm="http://127.0.0.1:${port}/token"` });
      await expectFailure(
        c.getManifest(registry, "team/app", "v1"),
        "registry-failed",
        /: Bearer realm over plain HTTP refused: http:\/\/127.0.0.1:\d+\/token$/,
      );
      f.setFault("manifests", { challenge: 'Bearer realm="https://169.254.169.254/latest/meta-data"' });
      await expectFailure(
        c.getManifest(registry, "team/app", "v1"),
        "registry-failed",
        /: Bearer realm at a non-public address refused: https:\/\/169.254.169.254\/latest\/meta-data$/,
      );
      f.setFault("manifests", { challenge: 'Bearer realm="https://[fd00:ec2::254]/token"' });
      await expectFailure(
        c.getManifest(registry, "team/app", "v1"),
        "registry-failed",
        /: Bearer realm at a non-public address refused/,
      );
    } finally {
      c.close();
    }
    assert.ok(f.requests.every((r) => r.path !== "/token" && r.authorization === null));
  });

  it("refuses a redirect from HTTPS to HTTP, even on loopback", async () => {
    const f = await fake({ tls });
    const plain = await fake();
    const port = new URL(f.baseUrl).port;
    f.setFault("manifests", { redirectTo: plain.baseUrl });
    const c = client({ fetch: testDns, caCerts: [pki.ca.cert] });
    try {
      await expectFailure(
        c.getManifest(`registry.test:${port}`, "team/app", "v1"),
        "registry-failed",
        `fetching manifest v1 of team/app from registry registry.test:${port}: refusing a redirect from HTTPS to ${plain.baseUrl}/v2/team/app/manifests/v1`,
      );
    } finally {
      c.close();
    }
    assert.equal(plain.requests.length, 0);
  });
});

describe("secrets", () => {
  it("never appear in any message or log line of these tests", () => {
    assert.ok(allMessages.length > 30, `${allMessages.length} messages checked`);
    const tokens = fakes.flatMap((f) => f.issuedTokens.map((t) => t.token));
    assert.ok(tokens.length > 5);
    const text = JSON.stringify(allLines) + "\n" + allMessages.join("\n");
    for (const secret of [PASSWORD, btoa(`${USER}:${PASSWORD}`), "s3cr3t", ...tokens]) {
      assert.ok(!text.includes(secret), `found a secret: ${secret.slice(0, 6)}…`);
    }
    assert.ok(allLines.some((l) => l.message === "Registry token obtained"), "the token lines were checked");
  });
});
