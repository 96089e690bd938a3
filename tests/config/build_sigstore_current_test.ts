/**
 * buildConfig on the top-level `sigstore { … }` block (current SPIRE form): defaults, every key, the exact
 * problems of bad blocks, the two forms together, registry credentials (normalised, incomplete entries
 * ignored with a warning, never echoed) and the Configure warnings.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildConfig } from "../../src/config/build.ts";
import { configureWarnings } from "../../src/config/warnings.ts";
import { PUBLIC_REKOR_URL, SecretCredential } from "../../src/config/sigstore_current.ts";
import { createIdentityMatcher } from "../../src/sigstore/identity.ts";
import { noEnv, TD } from "./_build_fixtures.ts";

const ID = `allowed_identities = { "https://accounts.google.com" = ["release@example.com"] }`;

function build(text: string) {
  return buildConfig(text, TD, { getenv: noEnv });
}

function good(text: string) {
  const r = build(text);
  assert.deepEqual(r.problems, []);
  assert.ok(r.config?.sigstoreCurrent);
  return r.config;
}

describe("buildConfig: the current sigstore block, accepted", () => {
  it("applies upstream's defaults and leaves the seed form null", () => {
    const c = good(`sigstore {\n  ${ID}\n}`);
    const s = c.sigstoreCurrent!;
    assert.equal(c.sigstore, null);
    assert.equal(s.rekorUrl, PUBLIC_REKOR_URL);
    assert.equal(s.rekorUrl, "https://rekor.sigstore.dev");
    assert.deepEqual(
      [s.ignoreSct, s.ignoreTlog, s.ignoreAttestations, [...s.skippedImages], s.registryCredentials.size],
      [false, false, false, [], 0],
    );
    assert.deepEqual([...s.allowedIdentities], [["https://accounts.google.com", ["release@example.com"]]]);
    assert.ok(Object.isFrozen(s) && Object.isFrozen(s.skippedImages) && !("set" in s.allowedIdentities));
  });

  it('reads every key (HCL block syntax, keys case-insensitive), rekor_url "" as the default', () => {
    const c = good(`SIGSTORE {
  Allowed_Identities {
    "https://token.actions.githubusercontent.com" = ["^https://github\\\\.com/spiffe/.+@refs/tags/v\\\\d+$"]
    "https://accounts.google.com" = ["a@example.com", "b@example.com"]
  }
  skipped_images = ["registry.example/app@sha256:aa", "sha256:bb"]
  rekor_url = ""
  ignore_sct = true
  IGNORE_TLOG = true
  ignore_attestations = true
  registry_credentials {
    "ghcr.io" { username = "robot", password = "ghp-secret" }
  }
}`);
    const s = c.sigstoreCurrent!;
    assert.equal(s.rekorUrl, PUBLIC_REKOR_URL);
    assert.deepEqual([s.ignoreSct, s.ignoreTlog, s.ignoreAttestations], [true, true, true]);
    assert.deepEqual([...s.skippedImages], ["registry.example/app@sha256:aa", "sha256:bb"]);
    assert.deepEqual([...s.allowedIdentities.keys()], [
      "https://accounts.google.com",
      "https://token.actions.githubusercontent.com",
    ]);
    assert.deepEqual(s.allowedIdentities.get("https://token.actions.githubusercontent.com"), [
      String.raw`^https://github\.com/spiffe/.+@refs/tags/v\d+$`,
    ]);
    const creds = s.registryCredentials.get("ghcr.io")!;
    assert.ok(creds instanceof SecretCredential);
    assert.deepEqual([creds.username, creds.password], ["robot", "ghp-secret"]);
    // The compiled identities work as the matcher of the verifier will use them.
    const allowed = createIdentityMatcher(s.allowedIdentities);
    assert.equal(
      allowed("https://token.actions.githubusercontent.com", [
        "https://github.com/spiffe/spire/x.yml@refs/tags/v1",
      ]),
      true,
    );
    assert.equal(allowed("https://accounts.google.com", ["c@example.com"]), false);
  });

  it("reads the JSON form, a custom https rekor_url, and normalises registry keys", () => {
    const c = good(JSON.stringify({
      sigstore: {
        allowed_identities: { "https://issuer.example": [".*@example\\.com$"] },
        rekor_url: "https://rekor.internal.example:8443",
        registry_credentials: {
          "docker.io": { username: "hub", password: "hub-pw" },
          "Registry.Example:5000": { username: "u", password: "p" },
        },
      },
    }));
    const s = c.sigstoreCurrent!;
    assert.equal(s.rekorUrl, "https://rekor.internal.example:8443");
    assert.deepEqual([...s.registryCredentials.keys()], ["index.docker.io", "registry.example:5000"]);
  });

  it("an incomplete credentials entry is ignored as upstream does, with a warning naming the registry", () => {
    const c = good(`sigstore {
  ${ID}
  registry_credentials = {
    "nopassword.io" = { username = "testuser" }
    "nousername.io" = { password = "testpassword" }
    "empty.io" = {}
    "other.io" = { username = "testuser", password = "testpassword" }
  }
}`);
    const s = c.sigstoreCurrent!;
    assert.deepEqual([...s.registryCredentials.keys()], ["other.io"]);
    assert.deepEqual([...s.ignoredCredentials].sort(), ["empty.io", "nopassword.io", "nousername.io"]);
    const warnings = configureWarnings(c);
    assert.deepEqual(warnings.map((w) => w.fields.registry).sort(), [
      "empty.io",
      "nopassword.io",
      "nousername.io",
    ]);
    const text = JSON.stringify(warnings);
    assert.ok(!text.includes("testpassword") && !text.includes("testuser"), text);
  });
});

/** Bad blocks: text → the exact problems list. */
const BAD: { name: string; text: string; problems: string[] }[] = [
  {
    name: "both forms",
    text: `sigstore {\n  ${ID}\n}\nexperimental {\n  sigstore { rekor_url = "https://rekor.example" }\n}`,
    problems: [
      "sigstore and experimental.sigstore cannot both be set: use one form (the top-level sigstore block is " +
      "current SPIRE's, experimental.sigstore the seed's)",
    ],
  },
  {
    name: "both forms, each with its own problem too",
    text: `sigstore {\n  ignore_sct = 1\n}\nexperimental {\n  sigstore {}\n}`,
    problems: [
      "sigstore and experimental.sigstore cannot both be set: use one form (the top-level sigstore block is " +
      "current SPIRE's, experimental.sigstore the seed's)",
      "experimental.sigstore.rekor_url: missing Rekor URL (required when the sigstore block is present)",
      "sigstore.allowed_identities: required: list the OIDC issuers and the subjects allowed to sign (upstream " +
      'accepts any signer when it is absent; to accept any signer on purpose, write ".*" = [".*"])',
      "sigstore.ignore_sct: expected a bool (true or false), got an integer",
    ],
  },
  {
    name: "not a block",
    text: `sigstore = "yes"`,
    problems: ["sigstore: expected a block, got a string"],
  },
  {
    name: "unknown keys (seed keys in the current block, a typo)",
    text: `sigstore {\n  ${ID}\n  enforce_sct = true\n  rekor_URL = "https://r"\n  ignore_tlogs = true\n}`,
    problems: ["unknown configurations detected in sigstore: enforce_sct,ignore_tlogs"],
  },
  {
    name: "a key given twice",
    text: `sigstore {\n  ${ID}\n  ignore_sct = true\n  Ignore_SCT = false\n}`,
    problems: ['sigstore.ignore_sct is set more than once (line 3 and line 4 as "Ignore_SCT")'],
  },
  {
    name: "empty allowed_identities (upstream: any signer)",
    text: `sigstore {\n  allowed_identities = {}\n}`,
    problems: [
      "sigstore.allowed_identities: must list at least one issuer (upstream accepts any signer when it is " +
      'empty; to accept any signer on purpose, write ".*" = [".*"])',
    ],
  },
  {
    name: "issuer without subjects, empty issuer, empty subject",
    text:
      `sigstore {\n  allowed_identities = {\n    "https://a" = []\n    "" = ["x"]\n    "https://b" = ["ok", ""]\n  }\n}`,
    problems: [
      "sigstore.allowed_identities: an issuer must not be empty (upstream would read it as any issuer)",
      'sigstore.allowed_identities["https://a"]: must list at least one subject (upstream ignores an issuer without subjects)',
      'sigstore.allowed_identities["https://b"][1]: must not be empty',
    ],
  },
  {
    name:
      "invalid patterns are Configure errors naming the issuer or subject (upstream's '*@example.com'), by issuer",
    text: `sigstore {
  allowed_identities = {
    "test-issuer-1" = ["*@example.com", "subject@otherdomain.com", "refs/(heads"]
    "https://ci\\\\.example/(" = ["x"]
    "https://lookaround" = ["a(?=b)", "(a)\\\\1", "\\\\p{Greek}"]
  }
}`,
    problems: [
      'sigstore.allowed_identities["https://ci\\\\.example/("]: issuer: error parsing regexp: missing closing ): `https://ci\\.example/(`',
      'sigstore.allowed_identities["https://lookaround"][0]: error parsing regexp: invalid or unsupported Perl syntax: `(?=`',
      'sigstore.allowed_identities["https://lookaround"][1]: error parsing regexp: invalid escape sequence: `\\1`',
      'sigstore.allowed_identities["https://lookaround"][2]: error parsing regexp: Unicode character classes are not supported here: `\\p{Greek}`',
      'sigstore.allowed_identities["test-issuer-1"][0]: error parsing regexp: missing argument to repetition operator: `*`',
      'sigstore.allowed_identities["test-issuer-1"][2]: error parsing regexp: missing closing ): `refs/(heads`',
    ],
  },
  {
    name: "duplicate issuer (JSON)",
    text: `{"sigstore": {"allowed_identities": {"i": ["a"], "i": ["b"]}}}`,
    problems: ['sigstore.allowed_identities["i"] is set more than once (line 1 and line 1)'],
  },
  {
    name: "wrong types",
    text: `sigstore {
  allowed_identities = { "https://a" = "one" }
  skipped_images = "sha256:aa"
  rekor_url = true
  ignore_tlog = "true"
  ignore_attestations = 0
  registry_credentials = ["ghcr.io"]
}`,
    problems: [
      'sigstore.allowed_identities["https://a"]: expected a list of strings, got a string',
      "sigstore.skipped_images: expected a list of strings, got a string",
      "sigstore.rekor_url: expected a string, got a bool",
      "sigstore.ignore_tlog: expected a bool (true or false), got a string",
      "sigstore.ignore_attestations: expected a bool (true or false), got an integer",
      "sigstore.registry_credentials: expected a block, got a list",
    ],
  },
  {
    name: "rekor_url: http",
    text: `sigstore {\n  ${ID}\n  rekor_url = "http://rekor.example"\n}`,
    problems: ['sigstore.rekor_url: failed to set Rekor URL: invalid rekor URL Scheme "http"'],
  },
  {
    name: "rekor_url with credentials (never echoed)",
    text: `sigstore {\n  ${ID}\n  rekor_url = "https://user:hunter2@rekor.example"\n}`,
    problems: ["sigstore.rekor_url: failed to set Rekor URL: the URL must not contain credentials"],
  },
  {
    name: "registry keys: not a host, the same registry twice (aliases, case), an entry given twice",
    text: `{"sigstore": {"allowed_identities": {"i": ["s"]}, "registry_credentials": {
  "https://ghcr.io": {"username": "u", "password": "p"},
  "ghcr.io/v2/": {"username": "u", "password": "p"},
  "docker.io": {"username": "u", "password": "p"},
  "index.docker.io": {"username": "v", "password": "q"},
  "GHCR.io": {"username": "u", "password": "p"},
  "ghcr.io": {"username": "u", "password": "p"},
  "quay.io": {"username": "u", "password": "p"},
  "quay.io": {"username": "u", "password": "p"}
}}}`,
    problems: [
      'sigstore.registry_credentials["https://ghcr.io"]: not a registry host name with optional port (e.g. "ghcr.io", "registry.example:5000"; no scheme or path)',
      'sigstore.registry_credentials["ghcr.io/v2/"]: not a registry host name with optional port (e.g. "ghcr.io", "registry.example:5000"; no scheme or path)',
      'sigstore.registry_credentials["index.docker.io"]: names the same registry as "docker.io" (host names are case-insensitive, and docker.io, index.docker.io and registry-1.docker.io are all Docker Hub)',
      'sigstore.registry_credentials["ghcr.io"]: names the same registry as "GHCR.io" (host names are case-insensitive, and docker.io, index.docker.io and registry-1.docker.io are all Docker Hub)',
      'sigstore.registry_credentials["quay.io"] is set more than once (line 8 and line 9)',
    ],
  },
  {
    name: "registry entries: unknown keys, wrong types, given twice (values never echoed)",
    text: `{"sigstore": {"allowed_identities": {"i": ["s"]}, "registry_credentials": {
  "a.example": {"username": "u", "password": "p", "token": "tok-SECRET"},
  "b.example": {"username": "u", "password": 12345},
  "c.example": "user:SECRET",
  "d.example": {"username": "u", "Password": "SECRET1", "password": "SECRET2"}
}}}`,
    problems: [
      'unknown configurations detected in sigstore.registry_credentials["a.example"]: token',
      'sigstore.registry_credentials["b.example"].password: expected a string, got an integer',
      'sigstore.registry_credentials["c.example"]: expected a block with username and password, got a string',
      'sigstore.registry_credentials["d.example"].password is set more than once (line 5 as "Password" and line 5)',
    ],
  },
];

describe("buildConfig: bad current sigstore blocks (exact problems)", () => {
  for (const b of BAD) {
    it(b.name, () => {
      const r = build(b.text);
      assert.deepEqual(r.problems, b.problems);
      assert.equal(r.config, null);
    });
  }

  it("never echoes a credential or a Rekor URL's user info in any problem", () => {
    for (const b of BAD) {
      const text = build(b.text).problems.join("\n");
      for (const secret of ["SECRET", "hunter2", "12345", "tok-"]) {
        assert.ok(!text.includes(secret), `${b.name}: ${text}`);
      }
    }
  });
});

describe("the credentials in a built configuration are not exposed by logging it", () => {
  it("JSON, Deno.inspect and String() show the user name but not the password", () => {
    const c = good(`sigstore {
  ${ID}
  registry_credentials = { "ghcr.io" = { username = "robot", password = "pw-VERY-SECRET" } }
}`);
    const creds = c.sigstoreCurrent!.registryCredentials.get("ghcr.io")!;
    for (
      const shown of [
        JSON.stringify(creds),
        Deno.inspect(creds),
        String(creds),
        Deno.inspect(c, { depth: 10 }),
      ]
    ) {
      assert.ok(!shown.includes("pw-VERY-SECRET"), shown);
    }
    assert.match(JSON.stringify(creds), /"robot"/);
    assert.equal(creds.password, "pw-VERY-SECRET");
    assert.ok(Object.isFrozen(creds));
  });
});

describe("configureWarnings", () => {
  it("warns about ignore_tlog, and only then", () => {
    const on = configureWarnings(good(`sigstore {\n  ${ID}\n  ignore_tlog = true\n}`));
    assert.deepEqual(on.map((w) => w.fields.key), ["sigstore.ignore_tlog"]);
    assert.match(
      on[0].message,
      /^sigstore\.ignore_tlog is true: image signatures are verified without the Rekor/,
    );
    assert.deepEqual(configureWarnings(good(`sigstore {\n  ${ID}\n  ignore_tlog = false\n}`)), []);
    assert.deepEqual(configureWarnings(build("").config!), []);
  });

  it("warns about a literal identity with a backslash (compared literally, as upstream)", () => {
    const w = configureWarnings(good(`sigstore {
  allowed_identities = { "https://accounts\\\\.google\\\\.com" = ["ok@example.com", "^re\\\\.gex$"] }
}`));
    assert.deepEqual(w.map((x) => x.fields.value), [String.raw`https://accounts\.google\.com`]);
  });
});

describe("the README's current-form example", () => {
  it("is accepted as written, with the documented values", async () => {
    const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
    const blocks = [...readme.matchAll(/```hcl\n([\s\S]*?)```/g)].map((m) => m[1]);
    const example = blocks.find((b) => b.startsWith("sigstore {"));
    assert.ok(example, "the README has an hcl block starting with sigstore {");
    const s = good(example).sigstoreCurrent!;
    assert.equal(s.rekorUrl, "https://rekor.sigstore.dev");
    assert.deepEqual([...s.registryCredentials.keys()], ["ghcr.io"]);
    const allowed = createIdentityMatcher(s.allowedIdentities);
    const release = "https://github.com/my-org/app/.github/workflows/release.yml@refs/tags/v1.2.3";
    assert.equal(allowed("https://token.actions.githubusercontent.com", [release]), true);
    assert.equal(allowed("https://token.actions.githubusercontent.com", [`${release}/../../evil`]), false);
  });
});
