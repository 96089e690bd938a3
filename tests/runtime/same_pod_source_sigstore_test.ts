/**
 * `samePodSource` and the sigstore settings: who may sign lives in `ImmutableMap`s (not `Map`s), and a change
 * of it alone must be a clean cut; an object of a class the comparison does not know is never equal.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildConfig } from "../../src/config/build.ts";
import type { Config } from "../../src/config/types.ts";
import { samePodSource } from "../../src/runtime.ts";
import { testConfig } from "../kubelet/_config.ts";

const ISSUER = "https://issuer.example";
const TD = { trustDomain: "example.org" };

function built(hcl: string): Config {
  const { config, problems } = buildConfig(hcl, TD, { getenv: () => undefined });
  assert.ok(config, problems.join("; "));
  return config;
}

function seedBlock(subjects: string[]): string {
  return `experimental {\n sigstore {\n  rekor_url = "https://rekor.invalid/"\n` +
    `  allowed_subjects_list = { "${ISSUER}" = ${JSON.stringify(subjects)} }\n }\n}\n`;
}

describe("samePodSource and the sigstore settings (ImmutableMap values)", () => {
  it("a change of allowed_subjects_list alone is a clean cut", () => {
    const a = built(seedBlock(["a@example.com"]));
    assert.equal(samePodSource(a, built(seedBlock(["a@example.com"]))), true);
    assert.equal(samePodSource(a, built(seedBlock(["b@example.com"]))), false);
    assert.equal(samePodSource(a, built(seedBlock(["a@example.com", "b@example.com"]))), false);
  });

  it("a change of allowed_identities (current form) alone is a clean cut", () => {
    const current = (s: string) => built(`sigstore {\n allowed_identities = { "${ISSUER}" = ["${s}"] }\n}\n`);
    assert.equal(samePodSource(current("a"), current("a")), true);
    assert.equal(samePodSource(current("a"), current("b")), false);
  });

  it("a change of a registry password alone is a clean cut (the password is a redacting object)", () => {
    const creds = (p: string) =>
      built(
        `sigstore {\n allowed_identities = { "${ISSUER}" = ["a"] }\n` +
          ` registry_credentials = { "ghcr.io" = { username = "u", password = "${p}" } }\n}\n`,
      );
    assert.equal(samePodSource(creds("one"), creds("two")), false);
  });

  it("an object of an unknown class is never taken as equal", () => {
    class Opaque {
      constructor(readonly v: number) {}
    }
    const base = testConfig();
    const odd = (v: number) => ({ ...base, sigstore: new Opaque(v) }) as unknown as Config;
    assert.equal(samePodSource(odd(1), odd(1)), false);
  });
});
