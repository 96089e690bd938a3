/** buildConfig on bad `experimental { sigstore { ... } }` blocks: the exact problems for each. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildConfig } from "../../src/config/build.ts";
import { noEnv, TD } from "./_build_fixtures.ts";

/** Bad sigstore blocks: text → the exact problems list. */
const BAD_SIGSTORE: { name: string; text: string; problems: string[] }[] = [
  {
    name: "experimental is not a block",
    text: `experimental = "x"`,
    problems: ["experimental: expected a block, got a string"],
  },
  {
    name: "sigstore without rekor_url",
    text: "experimental {\n  sigstore {}\n}",
    problems: [
      "experimental.sigstore.rekor_url: missing Rekor URL (required when the sigstore block is present)",
    ],
  },
  {
    name: "sigstore rekor_url scheme",
    text: `experimental {\n  sigstore { rekor_url = "http://rekor.example" }\n}`,
    problems: ['experimental.sigstore.rekor_url: failed to set Rekor URL: invalid rekor URL Scheme "http"'],
  },
  {
    name: "sigstore rekor_url without host",
    text: `experimental {\n  sigstore { rekor_url = "https:rekor.example" }\n}`,
    problems: ["experimental.sigstore.rekor_url: failed to set Rekor URL: host is required on rekor URL"],
  },
  {
    name: "sigstore rekor_url not a URL",
    text: `experimental {\n  sigstore { rekor_url = "rekor" }\n}`,
    problems: [
      "experimental.sigstore.rekor_url: failed to set Rekor URL: failed parsing rekor URI: not a valid URL",
    ],
  },
  {
    name: "sigstore rekor_url with credentials (never echoed)",
    text: `experimental {\n  sigstore { rekor_url = "https://user:s3cret@rekor.example" }\n}`,
    problems: [
      "experimental.sigstore.rekor_url: failed to set Rekor URL: the URL must not contain credentials",
    ],
  },
  {
    name: "sigstore element types",
    text: `experimental {
  sigstore {
    rekor_url = "https://rekor.example"
    enforce_sct = "false"
    skip_signature_verification_image_list = ["sha256:a", 1, ""]
    allowed_subjects_list {
      "https://a" = "subject"
      "https://b" = ["ok", true]
    }
  }
}`,
    problems: [
      "experimental.sigstore.skip_signature_verification_image_list[1]: expected a string, got an integer",
      "experimental.sigstore.skip_signature_verification_image_list[2]: must not be empty",
      'experimental.sigstore.allowed_subjects_list["https://a"]: expected a list of strings, got a string',
      'experimental.sigstore.allowed_subjects_list["https://b"][1]: expected a string, got a bool',
      "experimental.sigstore.enforce_sct: expected a bool (true or false), got a string",
    ],
  },
  {
    name: "sigstore list and map of the wrong shape",
    text:
      `{"experimental": {"sigstore": {"rekor_url": "https://r", "skip_signature_verification_image_list": "sha256:a",
      "allowed_subjects_list": ["x"]}}}`,
    problems: [
      "experimental.sigstore.skip_signature_verification_image_list: expected a list of strings, got a string",
      "experimental.sigstore.allowed_subjects_list: expected a block, got a list",
    ],
  },
  {
    name: "sigstore duplicate issuer (JSON)",
    text:
      `{"experimental": {"sigstore": {"rekor_url": "https://r", "allowed_subjects_list": {"i": ["a"], "i": ["b"]}}}}`,
    problems: ['experimental.sigstore.allowed_subjects_list["i"] is set more than once (line 1 and line 1)'],
  },
];

describe("buildConfig: bad sigstore blocks (exact problems)", () => {
  for (const b of BAD_SIGSTORE) {
    it(b.name, () => {
      const r = buildConfig(b.text, TD, { getenv: noEnv });
      assert.deepEqual(r.problems, b.problems);
      assert.equal(r.config, null);
    });
  }
});
