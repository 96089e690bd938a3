import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildConfig } from "../../src/config/build.ts";
import { rng as mulberry32 } from "../_rng.ts";
import { mutate } from "./_mutate.ts";

const SEEDS = [
  `kubelet_read_only_port = 10255`,
  `skip_kubelet_verification = true\ntoken_path = "/path/to/token"\nnode_name = "n1"`,
  `kubelet_ca_path = "/ca.pem"\ncertificate_path = "/c.pem"\nprivate_key_path = "/k.pem"\npoll_retry_interval = "1s"`,
  `experimental {\n  sigstore {\n    rekor_url = "https://rekor.sigstore.dev"\n    allowed_subjects_list {\n      "https://accounts.google.com" = ["a@b.c"]\n    }\n    skip_signature_verification_image_list = ["sha256:abc"]\n  }\n}`,
  `{"max_poll_attempts": "0x10", "experimental": {"sigstore": {"rekor_url": "https://r", "enforce_sct": false}}}`,
  `d = <<EOT\nx\nEOT\n# c\n/* d */ reload_interval = "2m"`,
];
const ALPHABET = [
  "{",
  "}",
  "[",
  "]",
  "=",
  '"',
  ",",
  "\n",
  " ",
  "#",
  "/",
  "*",
  "<<",
  "EOT",
  "\\",
  "0",
  "9",
  "-",
  ".",
  "x",
  "true",
  "null",
  "é",
  "\u0000",
  "${",
  "experimental",
  "sigstore",
  "kubelet_secure_port",
];

function randomText(rand: () => number): string {
  let s = "";
  const n = Math.floor(rand() * 40);
  for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(rand() * ALPHABET.length)];
  return s;
}

describe("buildConfig property: never throws, always a config xor problems", () => {
  it("holds for 600 mutated and random inputs (seeded)", () => {
    const rand = mulberry32(20240607);
    let accepted = 0;
    let rejected = 0;
    for (let i = 0; i < 600; i++) {
      const text = i % 5 === 4
        ? randomText(rand)
        : mutate(rand, SEEDS[i % SEEDS.length], { pieces: ALPHABET, maxEdits: 4, reverse: true });
      let result;
      try {
        result = buildConfig(text, { trustDomain: "example.org" }, { getenv: () => undefined });
      } catch (err) {
        assert.fail(`case ${i} threw ${String(err)} for ${JSON.stringify(text)}`);
      }
      if (result.config === null) {
        assert.ok(
          result.problems.length >= 1,
          `case ${i}: no config and no problem for ${JSON.stringify(text)}`,
        );
        for (const p of result.problems) assert.ok(typeof p === "string" && p.length > 0);
        rejected++;
      } else {
        assert.deepEqual(result.problems, [], `case ${i}`);
        assert.ok(Object.isFrozen(result.config));
        accepted++;
      }
    }
    // The mutations must exercise both outcomes, or the property says little.
    assert.ok(accepted > 20, `accepted ${accepted}`);
    assert.ok(rejected > 200, `rejected ${rejected}`);
  });
});
