/**
 * Credentials from the docker `config.json`: where it is found, the `auths` entry forms, Docker Hub's
 * spellings, what is out of scope (said in notes, never an error), and malformed files (an error that names
 * the file and never quotes its content).
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  credentialKey,
  DOCKER_HUB,
  dockerConfigPath,
  loadDockerConfig,
  parseDockerConfig,
} from "../../src/oci/docker_config.ts";
import { assertAttestorError } from "../../src/testing/assert_error.ts";

const PATH = "/etc/attestor/docker/config.json";
const SECRET = "pa55-W0rd:with-colon";

function config(doc: unknown) {
  return parseDockerConfig(JSON.stringify(doc), PATH);
}

describe("dockerConfigPath", () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  it("prefers the option, then DOCKER_CONFIG, then HOME/.docker, then USERPROFILE/.docker", () => {
    const all = env({ DOCKER_CONFIG: "/dc", HOME: "/home/u", USERPROFILE: "C:/Users/u" });
    assert.equal(dockerConfigPath("/opt", all), join("/opt", "config.json"));
    assert.equal(dockerConfigPath(undefined, all), join("/dc", "config.json"));
    assert.equal(
      dockerConfigPath(undefined, env({ DOCKER_CONFIG: "", HOME: "/home/u" })),
      "/home/u/.docker/config.json",
    );
    assert.equal(
      dockerConfigPath(undefined, env({ USERPROFILE: "/users/u" })),
      "/users/u/.docker/config.json",
    );
    assert.equal(dockerConfigPath(undefined, env({})), null);
  });
});

describe("credentialKey", () => {
  it("maps every Docker Hub spelling to index.docker.io", () => {
    for (
      const key of [
        "https://index.docker.io/v1/",
        "index.docker.io",
        "docker.io",
        "registry-1.docker.io",
        "http://Docker.IO",
      ]
    ) {
      assert.equal(credentialKey(key), DOCKER_HUB, key);
    }
  });
  it("drops scheme and path, keeps the port, lowercases", () => {
    assert.equal(credentialKey("https://GHCR.io/v2/token"), "ghcr.io");
    assert.equal(credentialKey("127.0.0.1:5000"), "127.0.0.1:5000");
    assert.equal(credentialKey("quay.io/org"), "quay.io");
  });
});

describe("parseDockerConfig", () => {
  it("decodes `auth` (base64 user:password, split at the first colon)", () => {
    const c = config({ auths: { "ghcr.io": { auth: btoa(`robot:${SECRET}`) } } });
    assert.deepEqual(c.credentialsFor("ghcr.io"), { username: "robot", password: SECRET });
    assert.equal(c.credentialsFor("gcr.io"), null);
    assert.deepEqual(c.notes, []);
  });

  it("reads username/password when there is no `auth`, and UTF-8 in `auth`", () => {
    const c = config({
      auths: {
        "https://quay.io": { username: "u", password: "p" },
        "reg.example:5000": { auth: btoa(String.fromCharCode(...new TextEncoder().encode("jürgen:päss"))) },
      },
    });
    assert.deepEqual(c.credentialsFor("QUAY.IO"), { username: "u", password: "p" });
    assert.deepEqual(c.credentialsFor("reg.example:5000"), { username: "jürgen", password: "päss" });
    assert.equal(c.credentialsFor("reg.example"), null, "another port is another registry");
  });

  it("serves Docker Hub's credentials for every spelling, preferring the docker CLI's own key", () => {
    const hub = config({
      auths: {
        "docker.io": { auth: btoa("other:x") },
        "https://index.docker.io/v1/": { auth: btoa("cli:y") },
      },
    });
    for (const name of ["index.docker.io", "docker.io", "registry-1.docker.io"]) {
      assert.deepEqual(hub.credentialsFor(name), { username: "cli", password: "y" }, name);
    }
    const alias = config({ auths: { "registry-1.docker.io": { username: "a", password: "b" } } });
    assert.deepEqual(alias.credentialsFor("index.docker.io"), { username: "a", password: "b" });
  });

  it("prefers the key spelled exactly as the registry over a URL form of it, else the first", () => {
    const c = config({
      auths: {
        "https://ghcr.io": { username: "url", password: "1" },
        "ghcr.io": { username: "exact", password: "2" },
        "https://gcr.io/v1/": { username: "first", password: "3" },
        "http://gcr.io": { username: "second", password: "4" },
      },
    });
    assert.equal(c.credentialsFor("ghcr.io")?.username, "exact");
    assert.equal(c.credentialsFor("gcr.io")?.username, "first");
  });

  it("notes credential helpers and token entries at debug level, without failing or using them", () => {
    const c = config({
      credsStore: "desktop",
      credHelpers: { "123.dkr.ecr.us-east-1.amazonaws.com": "ecr-login", "gcr.io": "gcloud" },
      auths: {
        "ghcr.io": {},
        "myreg.io": { auth: btoa("<token>:"), identitytoken: SECRET },
      },
    });
    assert.equal(c.credentialsFor("ghcr.io"), null);
    assert.equal(c.credentialsFor("myreg.io"), null);
    assert.equal(c.credentialsFor("gcr.io"), null);
    assert.deepEqual(c.notes, [
      "credsStore is not supported (credential helpers are not run); its registries are anonymous",
      "credHelpers are not supported (credential helpers are not run): 123.dkr.ecr.us-east-1.amazonaws.com, gcr.io anonymous",
      "myreg.io: identitytoken/registrytoken are not supported; the entry is not used",
    ]);
    assert.ok(!c.notes.join("\n").includes(SECRET));
  });

  const malformed: [string, string][] = [
    [`{"auths": {"ghcr.io": {"auth": "${SECRET}"`, "not valid JSON"],
    [`["${SECRET}"]`, "not a JSON object"],
    [`{"auths": "${SECRET}"}`, `"auths" is not an object`],
    [`{"auths": {"ghcr.io": "${SECRET}"}}`, `"auths" entry "ghcr.io" is not an object`],
    [`{"auths": {"ghcr.io": {"auth": 7}}}`, `"auths" entry "ghcr.io": "auth" is not a string`],
    [
      `{"auths": {"ghcr.io": {"password": ["${SECRET}"]}}}`,
      `"auths" entry "ghcr.io": "password" is not a string`,
    ],
    [
      `{"auths": {"ghcr.io": {"auth": "${SECRET}!"}}}`,
      `"auths" entry "ghcr.io": "auth" is not valid base64 of UTF-8 text`,
    ],
    [
      `{"auths": {"ghcr.io": {"auth": "${btoa(SECRET.replaceAll(":", ""))}"}}}`,
      `"auths" entry "ghcr.io": "auth" does not decode to "user:password"`,
    ],
    [
      `{"auths": {"ghcr.io": {"auth": "${btoa("\xff\xfe:x")}"}}}`,
      `"auths" entry "ghcr.io": "auth" is not valid base64 of UTF-8 text`,
    ],
    [`{"credHelpers": "${SECRET}"}`, `"credHelpers" is not an object`],
  ];
  for (const [text, problem] of malformed) {
    it(`rejects ${problem}, naming the file and never the content`, () => {
      assert.throws(() => parseDockerConfig(text, PATH), (err: unknown) => {
        assertAttestorError(err, "registry-failed", `docker config ${PATH}: ${problem}`);
        assert.ok(!err.message.includes(SECRET) && !err.message.includes("pa55"), err.message);
        return true;
      });
    });
  }
});

describe("loadDockerConfig", () => {
  const dir = Deno.makeTempDirSync({ prefix: "oci-docker-config-" });
  after(() => Deno.removeSync(dir, { recursive: true }));

  it("treats a missing file (or no path) as no credentials", async () => {
    assert.equal((await loadDockerConfig(join(dir, "absent.json"))).credentialsFor("ghcr.io"), null);
    assert.equal((await loadDockerConfig(null)).path, null);
  });

  it("reads a file", async () => {
    const path = join(dir, "config.json");
    await Deno.writeTextFile(path, JSON.stringify({ auths: { "ghcr.io": { auth: btoa(`u:${SECRET}`) } } }));
    assert.equal((await loadDockerConfig(path)).credentialsFor("ghcr.io")?.password, SECRET);
  });

  it("names the file for one that is not a regular file, too large, or unreadable", async () => {
    await assert.rejects(loadDockerConfig(dir), (err: unknown) => {
      assertAttestorError(err, "registry-failed", `docker config ${dir}: not a regular file`);
      return true;
    });
    const big = join(dir, "big.json");
    await Deno.writeTextFile(big, " ".repeat(1024 * 1024 + 1));
    await assert.rejects(loadDockerConfig(big), (err: unknown) => {
      assertAttestorError(err, "registry-failed", `docker config ${big}: larger than 1048576 bytes`);
      return true;
    });
    const broken = join(dir, "broken.json");
    await Deno.writeTextFile(broken, `{"auths": {"x": {"auth": "${SECRET}"`);
    await assert.rejects(loadDockerConfig(broken), (err: unknown) => {
      assertAttestorError(err, "registry-failed", `docker config ${broken}: not valid JSON`);
      assert.ok(!err.message.includes(SECRET));
      return true;
    });
  });
});
