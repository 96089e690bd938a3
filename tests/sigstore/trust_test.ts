/**
 * Trust loading (src/sigstore/trust.ts): the three `SIGSTORE_*` files, each replacing only its part, bad files
 * named in `bad-config` errors, and TUF against a local TUF repository (`@tufjs/repo-mock` served on 127.0.0.1)
 * including its failures.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { loadSigstoreTrust } from "../../src/sigstore/trust.ts";
import type { TrustLoadOptions } from "../../src/sigstore/types.ts";
import { assertAttestorError } from "../../src/testing/assert_error.ts";
import {
  createSigstoreFixture,
  type SigstoreFixture,
  startTufRepository,
  type TrustFiles,
} from "../../src/testing/sigstore_fixtures.ts";

let fx: SigstoreFixture;
let dir: string;
let files: TrustFiles;
before(async () => {
  fx = await createSigstoreFixture();
  dir = await Deno.makeTempDir({ prefix: "sigcheck-trust-" });
  files = await fx.writeTrustFiles(`${dir}/files`);
});
after(async () => {
  await Deno.remove(dir, { recursive: true });
});

function options(env: Record<string, string>, extra: Partial<TrustLoadOptions> = {}): TrustLoadOptions {
  return { env: (name) => env[name], tufCachePath: `${dir}/no-tuf-${crypto.randomUUID()}`, ...extra };
}

async function badConfig(env: Record<string, string>, message: RegExp): Promise<void> {
  await assert.rejects(loadSigstoreTrust(options(env)), (err: unknown) => {
    assertAttestorError(err, "bad-config", message);
    return true;
  });
}

describe("loadSigstoreTrust from the SIGSTORE_* files", () => {
  it("splits the root file into roots and intermediates and loads both keys with their log IDs", async () => {
    const trust = await loadSigstoreTrust(options(files.env));
    assert.deepEqual(trust.fulcioRoots, [fx.root.pem]);
    assert.deepEqual(trust.fulcioIntermediates, [fx.intermediate.pem]);
    assert.deepEqual(trust.rekorKeys, [{ logId: fx.rekor.logId, publicKeyPem: fx.rekor.pem }]);
    assert.deepEqual(trust.ctLogKeys, [{ logId: fx.ctLog.logId, publicKeyPem: fx.ctLog.pem }]);
    assert.equal(
      trust.source,
      `SIGSTORE_ROOT_FILE=${files.env.SIGSTORE_ROOT_FILE}; SIGSTORE_REKOR_PUBLIC_KEY=${files.env.SIGSTORE_REKOR_PUBLIC_KEY}; ` +
        `SIGSTORE_CT_LOG_PUBLIC_KEY_FILE=${files.env.SIGSTORE_CT_LOG_PUBLIC_KEY_FILE}`,
    );
  });

  it("reads a DER CT log key", async () => {
    const der = await fx.writeTrustFiles(`${dir}/der`, { ctLogDer: true });
    const trust = await loadSigstoreTrust(options(der.env));
    assert.equal(trust.ctLogKeys[0].logId, fx.ctLog.logId);
  });

  it("names the variable and the file when a file is missing", async () => {
    const path = `${dir}/missing.pem`;
    await badConfig(
      { ...files.env, SIGSTORE_ROOT_FILE: path },
      new RegExp(`SIGSTORE_ROOT_FILE file ${path} cannot be read`),
    );
  });

  it("names a root file that does not parse, holds no certificate or no self-signed root", async () => {
    const garbage = `${dir}/garbage.pem`;
    await Deno.writeTextFile(garbage, "hello");
    await badConfig(
      { ...files.env, SIGSTORE_ROOT_FILE: garbage },
      /SIGSTORE_ROOT_FILE file .*garbage.pem does not parse/,
    );
    const empty = `${dir}/empty.pem`;
    await Deno.writeTextFile(empty, "\n");
    await badConfig({ ...files.env, SIGSTORE_ROOT_FILE: empty }, /empty.pem holds no PEM certificate/);
    const onlyIntermediate = `${dir}/intermediate.pem`;
    await Deno.writeTextFile(onlyIntermediate, fx.intermediate.pem);
    await badConfig({ ...files.env, SIGSTORE_ROOT_FILE: onlyIntermediate }, /holds no self-signed root/);
    const bad = `${dir}/badcert.pem`;
    await Deno.writeTextFile(bad, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
    await badConfig(
      { ...files.env, SIGSTORE_ROOT_FILE: bad },
      /badcert.pem does not parse .*not a valid X.509/,
    );
  });

  it("names a Rekor key file that is not a PEM public key", async () => {
    await badConfig(
      { ...files.env, SIGSTORE_REKOR_PUBLIC_KEY: files.env.SIGSTORE_ROOT_FILE },
      /SIGSTORE_REKOR_PUBLIC_KEY file .* holds no usable public key/,
    );
    const der = await fx.writeTrustFiles(`${dir}/der2`, { ctLogDer: true });
    await badConfig(
      { ...files.env, SIGSTORE_REKOR_PUBLIC_KEY: der.env.SIGSTORE_CT_LOG_PUBLIC_KEY_FILE },
      /SIGSTORE_REKOR_PUBLIC_KEY file .* is not a PEM file/,
    );
  });

  it("names a CT log key file that holds garbage", async () => {
    const garbage = `${dir}/ct-garbage`;
    await Deno.writeFile(garbage, new Uint8Array([1, 2, 3]));
    await badConfig(
      { ...files.env, SIGSTORE_CT_LOG_PUBLIC_KEY_FILE: garbage },
      /SIGSTORE_CT_LOG_PUBLIC_KEY_FILE file .*ct-garbage holds no usable public key/,
    );
  });

  it("refuses a directory and an oversized file", async () => {
    await badConfig({ ...files.env, SIGSTORE_ROOT_FILE: dir }, /cannot be read: not a regular file/);
    const big = `${dir}/big.pem`;
    await Deno.writeTextFile(big, "x".repeat(1024 * 1024 + 1));
    await badConfig({ ...files.env, SIGSTORE_ROOT_FILE: big }, /larger than 1048576 bytes/);
  });
});

describe("loadSigstoreTrust through TUF (local repository)", () => {
  it("takes every part from trusted_root.json when no variable is set", async () => {
    const rootPath = `${dir}/tuf-root-1.json`;
    await using repo = await startTufRepository([{
      name: "trusted_root.json",
      content: fx.trustedRootJson(),
    }], rootPath);
    const cache = `${dir}/tuf-cache-1`;
    const trust = await loadSigstoreTrust(
      options({}, { tufCachePath: cache, tufMirrorUrl: repo.url, tufRootPath: rootPath }),
    );
    assert.deepEqual(trust.fulcioRoots, [fx.root.pem]);
    assert.deepEqual(trust.fulcioIntermediates, [fx.intermediate.pem]);
    assert.deepEqual(trust.rekorKeys.map((k) => k.logId), [fx.rekor.logId]);
    assert.deepEqual(trust.ctLogKeys.map((k) => k.logId), [fx.ctLog.logId]);
    assert.deepEqual(trust.rekorKeys[0].validFrom, new Date("2020-01-01T00:00:00Z"));
    assert.match(trust.source, /^Fulcio, Rekor, CT log from TUF/);
    assert.ok(repo.requests.includes("GET /targets/trusted_root.json"), repo.requests.join(","));
  });

  it("lets each variable replace only its part", async () => {
    const rootPath = `${dir}/tuf-root-2.json`;
    await using repo = await startTufRepository([{
      name: "trusted_root.json",
      content: fx.trustedRootJson(),
    }], rootPath);
    const other = await createSigstoreFixture();
    const otherFiles = await other.writeTrustFiles(`${dir}/other`);
    const trust = await loadSigstoreTrust(
      options(
        { SIGSTORE_REKOR_PUBLIC_KEY: otherFiles.env.SIGSTORE_REKOR_PUBLIC_KEY, SIGSTORE_ROOT_FILE: "" },
        { tufCachePath: `${dir}/tuf-cache-2`, tufMirrorUrl: repo.url, tufRootPath: rootPath },
      ),
    );
    assert.deepEqual(trust.rekorKeys.map((k) => k.logId), [other.rekor.logId]);
    assert.deepEqual(trust.fulcioRoots, [fx.root.pem]);
    assert.deepEqual(trust.ctLogKeys.map((k) => k.logId), [fx.ctLog.logId]);
    assert.match(trust.source, /SIGSTORE_REKOR_PUBLIC_KEY=.*; Fulcio, CT log from TUF/);
  });

  it("needs no TUF when all three variables are set (no request, no cache)", async () => {
    const cache = `${dir}/never-${crypto.randomUUID()}`;
    await loadSigstoreTrust(options(files.env, { tufCachePath: cache, tufMirrorUrl: "http://127.0.0.1:9" }));
    await assert.rejects(Deno.stat(cache), Deno.errors.NotFound);
  });

  it("fails clearly when the mirror is unreachable", async () => {
    const rootPath = `${dir}/tuf-root-3.json`;
    const repo = await startTufRepository(
      [{ name: "trusted_root.json", content: fx.trustedRootJson() }],
      rootPath,
    );
    const url = repo.url;
    await repo.close();
    await assert.rejects(
      loadSigstoreTrust(
        options({}, { tufCachePath: `${dir}/tuf-cache-3`, tufMirrorUrl: url, tufRootPath: rootPath }),
      ),
      (err: unknown) => {
        assertAttestorError(
          err,
          "bad-config",
          new RegExp(
            `^sigstore trust: TUF \\(mirror ${url}, cache .*tuf-cache-3\\): cannot get trusted_root.json: `,
          ),
        );
        return true;
      },
    );
  });

  it("fails when the repository's metadata is not signed by the given root", async () => {
    const rootPath = `${dir}/tuf-root-4.json`;
    await using repo = await startTufRepository([{
      name: "trusted_root.json",
      content: fx.trustedRootJson(),
    }], rootPath);
    const otherRoot = `${dir}/tuf-root-4-other.json`;
    const other = await startTufRepository([{ name: "trusted_root.json", content: "{}" }], otherRoot);
    await other.close();
    await assert.rejects(
      loadSigstoreTrust(
        options({}, { tufCachePath: `${dir}/tuf-cache-4`, tufMirrorUrl: repo.url, tufRootPath: otherRoot }),
      ),
      (err: unknown) => {
        assertAttestorError(err, "bad-config", /TUF .*cannot get trusted_root.json: .*signed by 0\/1 keys/);
        return true;
      },
    );
  });

  it("fails for a mirror without a seed and no root given", async () => {
    await assert.rejects(
      loadSigstoreTrust(
        options({}, { tufCachePath: `${dir}/tuf-cache-5`, tufMirrorUrl: "http://127.0.0.1:9" }),
      ),
      (err: unknown) => {
        assertAttestorError(err, "bad-config", /TUF_INIT_CACHE_ERROR: No root.json found for mirror/);
        return true;
      },
    );
  });

  it("fails when trusted_root.json holds no Rekor key", async () => {
    const doc = JSON.parse(fx.trustedRootJson());
    doc.tlogs = [];
    const rootPath = `${dir}/tuf-root-6.json`;
    await using repo = await startTufRepository(
      [{ name: "trusted_root.json", content: JSON.stringify(doc) }],
      rootPath,
    );
    await assert.rejects(
      loadSigstoreTrust(
        options({}, { tufCachePath: `${dir}/tuf-cache-6`, tufMirrorUrl: repo.url, tufRootPath: rootPath }),
      ),
      (err: unknown) => {
        assertAttestorError(err, "bad-config", /trusted_root.json has no Rekor key/);
        return true;
      },
    );
  });
});
