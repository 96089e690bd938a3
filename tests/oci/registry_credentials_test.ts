/**
 * The registry client's `credentials` setting (`sigstore.registry_credentials`): against the real Debian
 * `docker-registry` with htpasswd Basic auth, configured credentials work without a docker config, take
 * precedence over the docker config for their registry (which is then not even read), and leave other
 * registries to the docker config; against the fake registry over HTTPS posing as Docker Hub, every Docker Hub
 * spelling of a key applies to Docker Hub (upstream matches only `index.docker.io`). Never a password in a
 * message or a log line.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { createRegistryClient, normaliseCredentials } from "../../src/oci/registry.ts";
import { buildConfig } from "../../src/config/build.ts";
import { rejectsWithAttestorError } from "../../src/testing/assert_error.ts";
import { createTestPki, type TestPki } from "../../src/testing/certs.ts";
import { startFakeRegistry } from "../../src/testing/fake_registry.ts";
import { type RecordedLine, recordingLogger } from "../../src/testing/recording_logger.ts";
import { registryTestGate, startTestRegistry, type TestRegistry } from "../../src/testing/registry.ts";

const gate = await registryTestGate(true);
if (gate.mustFail) {
  it("docker-registry and htpasswd are installed (CI requires them)", () => assert.fail(gate.mustFail!));
}

const USER = "sig-puller";
const PASSWORD = "Cr3dential-From-Plugin-Config";
const BROKEN_CONFIG = `{"auths": {"broken": {"auth": "${PASSWORD}`;

describe("configured registry credentials against docker-registry with htpasswd", { skip: gate.skip }, () => {
  let registry: TestRegistry;
  const dir = Deno.makeTempDirSync({ prefix: "oci-creds-" });
  const lines: RecordedLine[] = [];
  const messages: string[] = [];
  before(async () => {
    registry = await startTestRegistry({ auth: { username: USER, password: PASSWORD } });
    await registry.pushImage("private/app", "v1");
  });
  after(async () => {
    await registry?.stop();
    Deno.removeSync(dir, { recursive: true });
    const all = JSON.stringify(lines) + messages.join("\n");
    assert.ok(!all.includes(PASSWORD) && !all.includes(btoa(`${USER}:${PASSWORD}`)), "a password was shown");
  });

  function configDir(name: string, content: string): string {
    const d = join(dir, name);
    Deno.mkdirSync(d);
    Deno.writeTextFileSync(join(d, "config.json"), content);
    return d;
  }
  const auths = (password: string) =>
    JSON.stringify({ auths: { [registry.host]: { username: USER, password } } });
  const client = (settings: Parameters<typeof createRegistryClient>[0]) =>
    createRegistryClient({ logger: recordingLogger(lines), ...settings });
  async function refused(promise: Promise<unknown>, message: string) {
    await rejectsWithAttestorError(promise, "registry-failed", message);
    messages.push(message);
  }

  it("work without any docker config", async () => {
    const c = client({
      dockerConfigDir: join(dir, "no-such-dir"),
      credentials: { [registry.host]: { username: USER, password: PASSWORD } },
    });
    assert.ok(await c.getManifest(registry.host, "private/app", "v1"));
  });

  it("take precedence over the docker config's credentials for their registry", async () => {
    // The docker config's password is wrong: only the configured one can have been sent.
    const c = client({
      dockerConfigDir: configDir("wrong", auths(`${PASSWORD}-wrong`)),
      credentials: new Map([[registry.host, { username: USER, password: PASSWORD }]]),
    });
    assert.ok(await c.getManifest(registry.host, "private/app", "v1"));
    // And the reverse: a wrong configured password is not rescued by a right docker config.
    const reverse = client({
      dockerConfigDir: configDir("right", auths(PASSWORD)),
      credentials: { [registry.host]: { username: USER, password: `${PASSWORD}-wrong` } },
    });
    await refused(
      reverse.getManifest(registry.host, "private/app", "v1"),
      `fetching manifest v1 of private/app from registry ${registry.host}: ` +
        "401 Unauthorized after authenticating (the registry refused the credentials or token)",
    );
  });

  it("leave the docker config unread for their registry (a broken one does not matter)", async () => {
    const broken = configDir("broken", BROKEN_CONFIG);
    const c = client({
      dockerConfigDir: broken,
      credentials: { [registry.host]: { username: USER, password: PASSWORD } },
    });
    assert.ok(await c.getManifest(registry.host, "private/app", "v1"));
    // Without configured credentials for it, the same docker config is read and its error reported.
    const other = client({
      dockerConfigDir: broken,
      credentials: { "ghcr.io": { username: USER, password: PASSWORD } },
    });
    await refused(
      other.getManifest(registry.host, "private/app", "v1"),
      `fetching manifest v1 of private/app from registry ${registry.host}: ` +
        `reading credentials: docker config ${join(broken, "config.json")}: not valid JSON`,
    );
  });

  it("for another registry leave this one to the docker config", async () => {
    const c = client({
      dockerConfigDir: configDir("fallback", auths(PASSWORD)),
      credentials: { "registry.example:5000": { username: "x", password: "y" } },
    });
    assert.ok(await c.getManifest(registry.host, "private/app", "v1"));
    const none = client({
      dockerConfigDir: configDir("empty", "{}"),
      credentials: { "registry.example:5000": { username: "x", password: "y" } },
    });
    await refused(
      none.getManifest(registry.host, "private/app", "v1"),
      `fetching manifest v1 of private/app from registry ${registry.host}: ` +
        "the registry asks for Basic credentials and none are configured for it (registry_credentials or the " +
        "docker config)",
    );
  });
});

describe("configured credentials for Docker Hub, under each of its names", () => {
  let pki: TestPki;
  before(async () => {
    pki = await createTestPki();
  });
  after(async () => await pki?.cleanup());

  it("docker.io, index.docker.io and registry-1.docker.io each apply to images of any Docker Hub name", async () => {
    const cert = await pki.issueServerCert("hub", { dns: ["registry-1.docker.io"], ip: ["127.0.0.1"] });
    const hub = await startFakeRegistry({
      tls: { cert: cert.cert, key: cert.key },
      auth: { kind: "basic", username: USER, password: PASSWORD },
    });
    const manifest = new TextEncoder().encode('{"schemaVersion":2,"layers":[]}');
    await hub.putManifest("library/app", "v1", manifest, "application/vnd.oci.image.manifest.v1+json");
    const port = new URL(hub.baseUrl).port;
    // Docker Hub's API host goes to the fake (the test has no DNS and no internet); nothing else is allowed.
    const toFake: typeof fetch = (input, init) => {
      const url = new URL(input instanceof Request ? input.url : input);
      assert.equal(url.host, "registry-1.docker.io");
      url.hostname = "127.0.0.1";
      url.port = port;
      return fetch(url, init);
    };
    const dockerConfigDir = Deno.makeTempDirSync({ prefix: "oci-hub-" });
    try {
      for (const key of ["docker.io", "index.docker.io", "registry-1.docker.io", "Docker.IO"]) {
        for (const registry of ["index.docker.io", "docker.io", "registry-1.docker.io"]) {
          const c = createRegistryClient({
            fetch: toFake,
            caCerts: [pki.ca.cert],
            dockerConfigDir,
            credentials: { [key]: { username: USER, password: PASSWORD } },
          });
          try {
            assert.ok(await c.getManifest(registry, "library/app", "v1"), `${key} for ${registry}`);
          } finally {
            c.close();
          }
        }
      }
      const without = createRegistryClient({ fetch: toFake, caCerts: [pki.ca.cert], dockerConfigDir });
      try {
        await rejectsWithAttestorError(
          without.getManifest("docker.io", "library/app", "v1"),
          "registry-failed",
          "fetching manifest v1 of library/app from registry docker.io: the registry asks for Basic credentials " +
            "and none are configured for it (registry_credentials or the docker config)",
        );
      } finally {
        without.close();
      }
    } finally {
      await hub.stop();
      Deno.removeSync(dockerConfigDir, { recursive: true });
    }
  });

  it("refuses two keys naming one registry, naming the keys and not the values", () => {
    const creds = { username: "u", password: "pw-SECRET" };
    for (const [a, b] of [["docker.io", "registry-1.docker.io"], ["GHCR.io", "ghcr.io"]]) {
      assert.throws(() => createRegistryClient({ credentials: { [a]: creds, [b]: creds } }), {
        name: "RangeError",
        message: `Cannot create registry client as credentials "${a}" and "${b}" name the same registry`,
      });
    }
    assert.deepEqual([...normaliseCredentials({ "Registry.Example:5000": creds }).keys()], [
      "registry.example:5000",
    ]);
  });

  it("reads the configuration's read-only map (not a Map instance) as a map, not as an empty record", () => {
    const parsed = buildConfig(
      'sigstore {\n  allowed_identities = { "https://i.example" = ["s"] }\n' +
        '  registry_credentials = { "Registry.Example:5000" = { username = "u", password = "p" } }\n}',
      { trustDomain: "example.org" },
    ).config!.sigstoreCurrent!.registryCredentials;
    assert.ok(!(parsed instanceof Map), "the case this test is about");
    const m = normaliseCredentials(parsed);
    assert.deepEqual([...m.keys()], ["registry.example:5000"]);
    assert.deepEqual(m.get("registry.example:5000"), { username: "u", password: "p" });
  });
});
