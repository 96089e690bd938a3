/** buildConfig on bad configurations: the exact problems, in a stable order, for each. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildConfig } from "../../src/config/build.ts";
import { env, noEnv, TD } from "./_build_fixtures.ts";

/** Bad configurations: text → the exact problems list. */
const BAD: { name: string; text: string; problems: string[]; vars?: Record<string, string> }[] = [
  {
    name: "HCL syntax: bare word",
    text: "bad",
    problems: [
      "unable to decode configuration: line 1, column 5: key 'bad' expected start of object ('{') or assignment ('=')",
    ],
  },
  {
    name: "HCL syntax: unclosed block, with line",
    text: "kubelet_read_only_port = 10255\nexperimental {\n  sigstore {\n",
    problems: ["unable to decode configuration: line 4, column 2: object expected closing RBRACE got: EOF"],
  },
  {
    name: "HCL syntax: quoted bool literal keyword",
    text: "skip_kubelet_verification = TRUE",
    problems: ["unable to decode configuration: line 1, column 29: Unknown token: 1:29 IDENT TRUE"],
  },
  {
    name: "HCL: a trailing key without a value is not silently dropped",
    text: "skip_kubelet_verification = true\nkubelet_ca_path = ",
    problems: [
      "unable to decode configuration: line 2, column 17: expected a value after '=', found the end of the input",
    ],
  },
  {
    name: "HCL: integer beyond the parser's range",
    text: "max_poll_attempts = 1\nkubelet_secure_port = 10000000000",
    problems: [
      "unable to decode configuration: line 2, column 23: number 10000000000 is out of range for the HCL parser (integers must be within ±2147483647)",
    ],
  },
  {
    name: "JSON syntax: missing value",
    text: `{\n  "token_path": \n}`,
    problems: ["unable to decode configuration: line 3, column 1: invalid JSON: expected a value, found '}'"],
  },
  {
    name: "JSON syntax: trailing text",
    text: `{"token_path": "/t"} x`,
    problems: [
      "unable to decode configuration: line 1, column 22: invalid JSON: unexpected 'x' after the JSON document",
    ],
  },
  {
    name: "unknown keys at every level, sorted, as written",
    text:
      `zeta = 1\nAlpha = 2\nzeta = 3\nexperimental {\n  brokers {}\n  sigstore {\n    rekor_url = "https://r"\n    ignore_sct = true\n  }\n}`,
    problems: [
      "unknown configurations detected: Alpha,zeta",
      "unknown configurations detected in experimental: brokers",
      "unknown configurations detected in experimental.sigstore: ignore_sct",
    ],
  },
  {
    name: "current-form top-level sigstore block without allowed_identities (upstream: any signer)",
    text: `sigstore {\n  rekor_url = "https://r"\n}`,
    problems: [
      "sigstore.allowed_identities: required: list the OIDC issuers and the subjects allowed to sign (upstream " +
      'accepts any signer when it is absent; to accept any signer on purpose, write ".*" = [".*"])',
    ],
  },
  {
    name: "wrong scalar types name key, expected and actual",
    text: `disable_container_selectors = "true"
kubelet_secure_port = true
kubelet_read_only_port = 1.5
token_path = ["a"]
use_new_container_locator = 1
node_name = { a = 1 }
poll_retry_interval = false`,
    problems: [
      "disable_container_selectors: expected a bool (true or false), got a string",
      "kubelet_read_only_port: expected an integer, got a non-integer number (1.5)",
      "kubelet_secure_port: expected an integer, got a bool",
      "token_path: expected a string, got a list",
      "node_name: expected a string, got a block",
      "poll_retry_interval: expected a string, got a bool",
      "use_new_container_locator: expected a bool (true or false), got an integer",
    ],
  },
  {
    name: "kubelet_cgroup_root must be an absolute cgroupfs path",
    text: `kubelet_cgroup_root = "kubelet.slice/x-y"`,
    problems: [
      'kubelet_cgroup_root: "kubelet.slice/x-y" must be an absolute cgroup path such as "/" or "/kubelet"',
    ],
  },
  {
    name: "kubelet_cgroup_root in systemd form is refused with a hint",
    text: `kubelet_cgroup_root = "/kubelet-x.slice"`,
    problems: [
      'kubelet_cgroup_root: "/kubelet-x.slice" segments may hold only letters, digits, "_" and "." (give the ' +
      'cgroupfs form, e.g. "/kubelet", not the systemd slice name)',
    ],
  },
  {
    name: "JSON null is a wrong type",
    text: `{"skip_kubelet_verification": null, "experimental": null}`,
    problems: [
      "experimental: expected a block, got null",
      "skip_kubelet_verification: expected a bool (true or false), got null",
    ],
  },
  {
    name: "quoted integer that is not one",
    text: `kubelet_secure_port = "10250 "\nmax_poll_attempts = "abc"`,
    problems: [
      'kubelet_secure_port: expected an integer: strconv.ParseInt: parsing "10250 ": invalid syntax',
      'max_poll_attempts: expected an integer: strconv.ParseInt: parsing "abc": invalid syntax',
    ],
  },
  {
    name: "both ports",
    text: "kubelet_read_only_port = 10255\nkubelet_secure_port = 10250",
    problems: [
      "cannot use both the read-only and secure port (kubelet_read_only_port and kubelet_secure_port are both set)",
    ],
  },
  {
    name: "ports out of range",
    text: `kubelet_read_only_port = 0\nkubelet_secure_port = "0x10000"`,
    problems: [
      "kubelet_read_only_port must be between 1 and 65535, got 0",
      "kubelet_secure_port must be between 1 and 65535, got 65536",
    ],
  },
  {
    name: "negative port",
    text: "kubelet_secure_port = -1",
    problems: ["kubelet_secure_port must be between 1 and 65535, got -1"],
  },
  {
    name: "certificate without key",
    text: `certificate_path = "/c.pem"`,
    problems: ["the private key path is required with the certificate path (set private_key_path)"],
  },
  {
    name: "key without certificate",
    text: `private_key_path = "/k.pem"\ncertificate_path = ""`,
    problems: ["the certificate path is required with the private key path (set certificate_path)"],
  },
  {
    name: "anonymous authentication with token and client certificate",
    text: `use_anonymous_authentication = true
token_path = "/t"
certificate_path = "/c.pem"
private_key_path = "/k.pem"`,
    problems: [
      "use_anonymous_authentication cannot be used with token_path",
      "use_anonymous_authentication cannot be used with certificate_path",
      "use_anonymous_authentication cannot be used with private_key_path",
    ],
  },
  {
    name: "bad durations quote Go's errors",
    text: `poll_retry_interval = "blah"\nreload_interval = "5"`,
    problems: [
      'unable to parse poll retry interval: time: invalid duration "blah"',
      'unable to parse reload interval: time: missing unit in duration "5"',
    ],
  },
  {
    name: "unknown duration unit",
    text: `reload_interval = "1d"`,
    problems: ['unable to parse reload interval: time: unknown unit "d" in duration "1d"'],
  },
  {
    name: "a number where a duration is expected is its text",
    text: "poll_retry_interval = 5",
    problems: ['unable to parse poll retry interval: time: missing unit in duration "5"'],
  },
  {
    name: "non-positive and too long durations",
    text: `poll_retry_interval = "0"\nreload_interval = "-1s"`,
    problems: [
      'poll_retry_interval must be greater than zero, got "0"',
      'reload_interval must be greater than zero, got "-1s"',
    ],
  },
  {
    name: "duration longer than a timer can wait",
    text: `reload_interval = "597h"`,
    problems: ['reload_interval must be at most 596h31m23.647s, got "597h"'],
  },
  {
    name: "non-positive poll attempts",
    text: "max_poll_attempts = 0",
    problems: ["max_poll_attempts must be greater than zero, got 0"],
  },
  {
    name: "negative quoted poll attempts",
    text: `max_poll_attempts = "-3"`,
    problems: ["max_poll_attempts must be greater than zero, got -3"],
  },
  {
    name: "key given twice, case-insensitively",
    text: 'token_path = "/a"\nTOKEN_PATH = "/b"',
    problems: ['token_path is set more than once (line 1 and line 2 as "TOKEN_PATH")'],
  },
  {
    name: "block given twice",
    text: `experimental {\n}\nexperimental {\n}`,
    problems: ["experimental is set more than once (line 1 and line 3)"],
  },
  {
    name: "nested block given twice",
    text: `experimental {\n  sigstore { rekor_url = "https://a" }\n  sigstore { rekor_url = "https://b" }\n}`,
    problems: ["experimental.sigstore is set more than once (line 2 and line 3)"],
  },
  {
    name: "JSON duplicate keys",
    text: `{"token_path": "/a", "token_path": "/b"}`,
    problems: ["token_path is set more than once (line 1 and line 1)"],
  },
  {
    name: "node name from the environment is not a host name",
    text: "",
    vars: { MY_NODE_NAME: "node-1\n" },
    problems: ['node name from environment variable MY_NODE_NAME: "node-1\\n" is not a valid host name'],
  },
  {
    // Stricter than before (and than upstream): a node name is checked even where it is not used.
    name: "read-only port does not excuse a node name that is not a host",
    text: "kubelet_read_only_port = 10255",
    vars: { MY_NODE_NAME: "not a host" },
    problems: ['node name from environment variable MY_NODE_NAME: "not a host" is not a valid host name'],
  },
  {
    name: "node_name that would change the kubelet URL",
    text: `node_name = "evil.example/x?"`,
    problems: ['node_name: "evil.example/x?" is not a valid host name'],
  },
  {
    name: "node_name_env that cannot name a variable",
    text: `node_name_env = "A=B"`,
    problems: ['node_name_env: "A=B" is not a valid environment variable name'],
  },
  {
    name: "a NUL in a path",
    text: `token_path = "/t\\u0000"`,
    problems: ["token_path: contains a NUL character"],
  },
];

describe("buildConfig: bad configurations (exact problems)", () => {
  for (const b of BAD) {
    it(b.name, () => {
      const r = buildConfig(b.text, TD, { getenv: b.vars ? env(b.vars) : noEnv });
      assert.deepEqual(r.problems, b.problems);
      assert.equal(r.config, null);
    });
  }

  it("reports core configuration problems with the others", () => {
    assert.deepEqual(buildConfig("max_poll_attempts = 0", { trustDomain: "" }, { getenv: noEnv }).problems, [
      "server core configuration must contain trust_domain",
      "max_poll_attempts must be greater than zero, got 0",
    ]);
    for (const td of ["Example.org", "spiffe://example.org", "exa mple"]) {
      assert.deepEqual(buildConfig("", { trustDomain: td }, { getenv: noEnv }).problems, [
        "server core configuration trust_domain is malformed: trust domain characters are limited to lowercase " +
        "letters, numbers, dots, dashes, and underscores",
      ]);
    }
  });

  it("reports every problem of one configuration together, in a stable order", () => {
    const text = `foo = 1
Bar = 2
kubelet_read_only_port = 1
kubelet_secure_port = "0x10"
poll_retry_interval = "blah"
reload_interval = "0"
max_poll_attempts = 0
certificate_path = "x"
use_anonymous_authentication = true
token_path = "t"
experimental {
  zz = 1
  sigstore {
    rekor_url = "http://x"
    q = 1
    enforce_sct = "true"
  }
}`;
    const want = [
      "server core configuration must contain trust_domain",
      "unknown configurations detected: Bar,foo",
      "unknown configurations detected in experimental: zz",
      "unknown configurations detected in experimental.sigstore: q",
      'unable to parse poll retry interval: time: invalid duration "blah"',
      'reload_interval must be greater than zero, got "0"',
      "max_poll_attempts must be greater than zero, got 0",
      "cannot use both the read-only and secure port (kubelet_read_only_port and kubelet_secure_port are both set)",
      "the private key path is required with the certificate path (set private_key_path)",
      "use_anonymous_authentication cannot be used with token_path",
      "use_anonymous_authentication cannot be used with certificate_path",
      'experimental.sigstore.rekor_url: failed to set Rekor URL: invalid rekor URL Scheme "http"',
      "experimental.sigstore.enforce_sct: expected a bool (true or false), got a string",
    ];
    const first = buildConfig(text, { trustDomain: "" }, { getenv: noEnv });
    assert.deepEqual(first.problems, want);
    assert.deepEqual(buildConfig(text, { trustDomain: "" }, { getenv: noEnv }).problems, want);
  });

  it("an HCL syntax error stops decoding but keeps the core problem", () => {
    assert.deepEqual(buildConfig("a = [", { trustDomain: "" }, { getenv: noEnv }).problems, [
      "server core configuration must contain trust_domain",
      "unable to decode configuration: line 1, column 6: unexpected token while parsing list: EOF",
    ]);
  });
});
