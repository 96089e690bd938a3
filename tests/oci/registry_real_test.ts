/**
 * The registry client against a real registry: Debian's `docker-registry` (distribution 2.8) on 127.0.0.1,
 * filled through its upload API. Read back what was pushed (OCI and Docker media types, indexes, annotated
 * layers), 404s, size limits, digest mismatches (storage tampered on disk, as a compromised registry would
 * serve), Basic auth with htpasswd. Without the binary: skipped loudly, or failed in CI (`CI=true`).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { createRegistryClient, MANIFEST_MEDIA_TYPES, sha256Digest } from "../../src/oci/registry.ts";
import { rejectsWithAttestorError } from "../../src/testing/assert_error.ts";
import { type RecordedLine, recordingLogger } from "../../src/testing/recording_logger.ts";
import { registryTestGate, startTestRegistry, type TestRegistry } from "../../src/testing/registry.ts";

const gate = await registryTestGate(true);
if (gate.mustFail) {
  it("docker-registry and htpasswd are installed (CI requires them)", () => assert.fail(gate.mustFail!));
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const COSIGN_LAYER = "application/vnd.dev.cosign.simplesigning.v1+json";
const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";

/** The file holding a blob (or manifest) in the registry's filesystem storage. */
function blobDataPath(registry: TestRegistry, digest: string): string {
  const hex = digest.slice("sha256:".length);
  return join(registry.storageDir, "docker/registry/v2/blobs/sha256", hex.slice(0, 2), hex, "data");
}

async function tamper(path: string): Promise<void> {
  const bytes = await Deno.readFile(path);
  bytes[bytes.length - 1] ^= 0x01;
  await Deno.writeFile(path, bytes);
}

describe("registry client against docker-registry (anonymous)", { skip: gate.skip }, () => {
  let registry: TestRegistry;
  const emptyConfigDir = Deno.makeTempDirSync({ prefix: "oci-real-" });
  before(async () => {
    registry = await startTestRegistry();
  });
  after(async () => {
    await registry?.stop();
    Deno.removeSync(emptyConfigDir, { recursive: true });
  });
  const client = () => createRegistryClient({ dockerConfigDir: emptyConfigDir });

  it("reads back a pushed image by tag and by digest, and its blobs", async () => {
    const layer = crypto.getRandomValues(new Uint8Array(3000));
    const image = await registry.pushImage("team/app", "v1", { layers: [{ bytes: layer }] });
    const c = client();
    const byTag = await c.getManifest(registry.host, "team/app", "v1");
    assert.ok(byTag);
    assert.deepEqual(byTag.bytes, image.manifest);
    assert.equal(byTag.digest, image.digest);
    assert.equal(byTag.mediaType, "application/vnd.oci.image.manifest.v1+json");
    const byDigest = await c.getManifest(registry.host, "team/app", image.digest);
    assert.deepEqual(byDigest, byTag);
    const manifest = JSON.parse(decoder.decode(byTag.bytes));
    assert.deepEqual(
      await c.getBlob(registry.host, "team/app", manifest.layers[0].digest, 4096, {
        expectedSize: manifest.layers[0].size,
      }),
      layer,
    );
    const config = await c.getBlob(registry.host, "team/app", image.config.digest, 4096);
    assert.equal(JSON.parse(decoder.decode(config)).os, "linux");
  });

  it("asks for the OCI and Docker manifest types, indexes included", async () => {
    await registry.pushImage("team/accept", "v1");
    const before = registry.requests().length;
    await client().getManifest(registry.host, "team/accept", "v1");
    // The access log does not show headers; the media types are checked on the fake. Here: one GET, no ping.
    const after = registry.requests().slice(before);
    assert.deepEqual(after.map((r) => `${r.method} ${r.uri} ${r.status}`), [
      "GET /v2/team/accept/manifests/v1 200",
    ]);
    assert.equal(MANIFEST_MEDIA_TYPES.length, 4);
  });

  it("reads a Docker v2 schema 2 manifest and an OCI index with their media types", async () => {
    const docker = await registry.pushImage("team/docker", "v1", {
      mediaType: DOCKER_MANIFEST,
      configMediaType: "application/vnd.docker.container.image.v1+json",
      layers: [{
        bytes: encoder.encode("layer"),
        mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip",
      }],
    });
    const c = client();
    const got = await c.getManifest(registry.host, "team/docker", "v1");
    assert.equal(got?.mediaType, DOCKER_MANIFEST);
    assert.equal(got?.digest, docker.digest);

    const indexType = "application/vnd.oci.image.index.v1+json";
    const index = encoder.encode(JSON.stringify({
      schemaVersion: 2,
      mediaType: indexType,
      manifests: [{
        mediaType: DOCKER_MANIFEST,
        digest: docker.digest,
        size: docker.manifest.length,
        platform: { architecture: "amd64", os: "linux" },
      }],
    }));
    const indexDigest = await registry.pushManifest("team/docker", "multi", index, indexType);
    const gotIndex = await c.getManifest(registry.host, "team/docker", "multi");
    assert.equal(gotIndex?.mediaType, indexType);
    assert.equal(gotIndex?.digest, indexDigest);
  });

  it("keeps the annotations of a cosign-like signature manifest exactly", async () => {
    const subject = await registry.pushImage("team/signed", "v1");
    const payload = encoder.encode(
      JSON.stringify({ critical: { image: { "docker-manifest-digest": subject.digest } } }),
    );
    const sigTag = `${subject.digest.replace(":", "-")}.sig`;
    const annotations = {
      "dev.cosignproject.cosign/signature": "MEUCIQ==",
      "dev.sigstore.cosign/bundle": "{}",
    };
    const sig = await registry.pushImage("team/signed", sigTag, {
      layers: [{ bytes: payload, mediaType: COSIGN_LAYER, annotations }],
    });
    const c = client();
    const got = await c.getManifest(registry.host, "team/signed", sigTag);
    assert.equal(got?.digest, sig.digest);
    const layer = JSON.parse(decoder.decode(got!.bytes)).layers[0];
    assert.deepEqual(layer.annotations, annotations);
    assert.equal(layer.mediaType, COSIGN_LAYER);
    assert.deepEqual(
      await c.getBlob(registry.host, "team/signed", layer.digest, 1024, { expectedSize: layer.size }),
      payload,
    );
  });

  it("answers null for a tag, a digest or a repository the registry does not have", async () => {
    await registry.pushImage("team/present", "v1");
    const c = client();
    assert.equal(await c.getManifest(registry.host, "team/present", "v2"), null);
    assert.equal(
      await c.getManifest(registry.host, "team/present", await sha256Digest(encoder.encode("x"))),
      null,
    );
    assert.equal(await c.getManifest(registry.host, "team/absent", "v1"), null);
  });

  it("fails for a blob the registry does not have", async () => {
    await registry.pushImage("team/blobless", "v1");
    const digest = await sha256Digest(encoder.encode("never pushed"));
    await rejectsWithAttestorError(
      client().getBlob(registry.host, "team/blobless", digest, 1024),
      "registry-failed",
      `fetching blob ${digest} of team/blobless from registry ${registry.host}: blob not found (404)`,
    );
  });

  it("detects a manifest whose stored bytes were altered (by digest, and by tag through Docker-Content-Digest)", async () => {
    // The registry parses a manifest before serving it: the change keeps it valid JSON of the same length.
    const image = await registry.pushImage("team/tampered", "v1", { annotations: { note: "original" } });
    const path = blobDataPath(registry, image.digest);
    const text = await Deno.readTextFile(path);
    assert.ok(text.includes('"original"'));
    await Deno.writeTextFile(path, text.replace('"original"', '"modified"'));
    const c = client();
    await rejectsWithAttestorError(
      c.getManifest(registry.host, "team/tampered", image.digest),
      "registry-failed",
      new RegExp(
        `^fetching manifest ${image.digest} of team/tampered from registry ${registry.host}: ` +
          `digest mismatch: the manifest served has sha256:[0-9a-f]{64}$`,
      ),
    );
    await rejectsWithAttestorError(
      c.getManifest(registry.host, "team/tampered", "v1"),
      "registry-failed",
      new RegExp(
        `: digest mismatch: Docker-Content-Digest says ${image.digest}, the bytes have sha256:[0-9a-f]{64}$`,
      ),
    );
  });

  it("detects a blob whose stored bytes were altered", async () => {
    const image = await registry.pushImage("team/badblob", "v1");
    const layer = image.layers[0];
    await tamper(blobDataPath(registry, layer.digest));
    await rejectsWithAttestorError(
      client().getBlob(registry.host, "team/badblob", layer.digest, 1024, { expectedSize: layer.size }),
      "registry-failed",
      new RegExp(
        `^fetching blob ${layer.digest} of team/badblob from registry ${registry.host}: digest mismatch`,
      ),
    );
  });

  it("refuses a blob over the limit or of another size than expected", async () => {
    const image = await registry.pushImage("team/sizes", "v1", { layers: [{ bytes: new Uint8Array(5000) }] });
    const { digest } = image.layers[0];
    const c = client();
    await rejectsWithAttestorError(
      c.getBlob(registry.host, "team/sizes", digest, 4999),
      "registry-failed",
      `fetching blob ${digest} of team/sizes from registry ${registry.host}: blob is larger than 4999 bytes (Content-Length 5000)`,
    );
    await rejectsWithAttestorError(
      c.getBlob(registry.host, "team/sizes", digest, 10_000, { expectedSize: 4000 }),
      "registry-failed",
      /: blob is larger than 4000 bytes \(Content-Length 5000\)$/,
    );
    await rejectsWithAttestorError(
      c.getBlob(registry.host, "team/sizes", digest, 10_000, { expectedSize: 6000 }),
      "registry-failed",
      /: size mismatch: the blob served has 5000 bytes, expected 6000$/,
    );
    await rejectsWithAttestorError(
      c.getBlob(registry.host, "team/sizes", digest, 10, { expectedSize: 5000 }),
      "registry-failed",
      /: the blob's size 5000 exceeds the limit of 10 bytes$/,
    );
  });

  it("refuses a manifest over the size limit", async () => {
    await registry.pushImage("team/bigmanifest", "v1", { annotations: { filler: "x".repeat(3000) } });
    await rejectsWithAttestorError(
      createRegistryClient({ dockerConfigDir: emptyConfigDir, maxManifestBytes: 2048 })
        .getManifest(registry.host, "team/bigmanifest", "v1"),
      "registry-failed",
      /^fetching manifest v1 of team\/bigmanifest from registry 127\.0\.0\.1:\d+: manifest is larger than 2048 bytes/,
    );
  });

  it("rejects invalid names and digests before sending anything", async () => {
    const c = client();
    const count = registry.requests().length;
    const cases: [Promise<unknown>, RegExp][] = [
      [c.getManifest(registry.host, "../etc", "v1"), /: not a valid repository name$/],
      [c.getManifest(registry.host, "Team/App", "v1"), /: not a valid repository name$/],
      [c.getManifest(registry.host, "team/app", "v1/../../x"), /: not a valid tag or digest$/],
      [c.getManifest(registry.host, "team/app", "sha256:abc"), /: not a valid digest$/],
      [
        c.getManifest(registry.host, "team/app", `sha512:${"a".repeat(128)}`),
        /: unsupported digest algorithm/,
      ],
      [c.getBlob(registry.host, "team/app", "v1", 10), /: not a valid digest$/],
      [c.getManifest(`${registry.host}/x`, "team/app", "v1"), /: not a registry host name/],
      [c.getManifest("127.0.0.1:99999", "team/app", "v1"), /: not a registry host name/],
    ];
    for (const [promise, message] of cases) {
      await rejectsWithAttestorError(promise, "registry-failed", message);
    }
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(registry.requests().length, count);
  });
});

describe("registry client against docker-registry with htpasswd Basic auth", { skip: gate.skip }, () => {
  const USER = "puller";
  const PASSWORD = "S3cr3t-pull-Passw0rd";
  let registry: TestRegistry;
  const dir = Deno.makeTempDirSync({ prefix: "oci-real-auth-" });
  before(async () => {
    registry = await startTestRegistry({ auth: { username: USER, password: PASSWORD } });
    await registry.pushImage("private/app", "v1");
  });
  after(async () => {
    await registry?.stop();
    Deno.removeSync(dir, { recursive: true });
  });

  async function configDir(name: string, auths: Record<string, unknown>): Promise<string> {
    const d = join(dir, name);
    await Deno.mkdir(d, { recursive: true });
    await Deno.writeTextFile(join(d, "config.json"), JSON.stringify({ auths }));
    return d;
  }

  it("answers the Basic challenge with the docker config's credentials, then sends them at once", async () => {
    const lines: RecordedLine[] = [];
    const dockerConfigDir = await configDir("good", {
      [registry.host]: { auth: btoa(`${USER}:${PASSWORD}`) },
    });
    const c = createRegistryClient({ dockerConfigDir, logger: recordingLogger(lines) });
    const before = registry.requests().length;
    assert.ok(await c.getManifest(registry.host, "private/app", "v1"));
    assert.ok(await c.getManifest(registry.host, "private/app", "v1"));
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(registry.requests().slice(before).map((r) => r.status), [401, 200, 200]);
    assert.ok(!JSON.stringify(lines).includes(PASSWORD));
    assert.ok(!JSON.stringify(lines).includes(btoa(`${USER}:${PASSWORD}`)));
  });

  it("fails without credentials, and with a wrong password without naming it", async () => {
    const none = createRegistryClient({ dockerConfigDir: await configDir("none", {}) });
    await rejectsWithAttestorError(
      none.getManifest(registry.host, "private/app", "v1"),
      "registry-failed",
      `fetching manifest v1 of private/app from registry ${registry.host}: ` +
        "the registry asks for Basic credentials and none are configured for it (registry_credentials or the " +
        "docker config)",
    );
    const wrongPassword = `${PASSWORD}-wrong`;
    const wrong = createRegistryClient({
      dockerConfigDir: await configDir("wrong", {
        [`http://${registry.host}`]: { username: USER, password: wrongPassword },
      }),
    });
    await rejectsWithAttestorError(
      wrong.getManifest(registry.host, "private/app", "v1"),
      "registry-failed",
      `fetching manifest v1 of private/app from registry ${registry.host}: ` +
        "401 Unauthorized after authenticating (the registry refused the credentials or token)",
    );
  });

  it("names the docker config file when it is malformed, never its content", async () => {
    const d = join(dir, "malformed");
    await Deno.mkdir(d);
    await Deno.writeTextFile(join(d, "config.json"), `{"auths": {"${registry.host}": {"auth": "${PASSWORD}`);
    await rejectsWithAttestorError(
      createRegistryClient({ dockerConfigDir: d }).getManifest(registry.host, "private/app", "v1"),
      "registry-failed",
      `fetching manifest v1 of private/app from registry ${registry.host}: ` +
        `reading credentials: docker config ${join(d, "config.json")}: not valid JSON`,
    );
  });
});
