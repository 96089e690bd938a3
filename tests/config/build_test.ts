import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { buildConfig } from "../../src/config/build.ts";
import type { Config } from "../../src/config/types.ts";

const TD = { trustDomain: "example.org" };
const noEnv = (): string | undefined => undefined;
const env = (vars: Record<string, string>) => (name: string): string | undefined => vars[name];

/** The defaults with the trust domain above and no node name. */
const DEFAULTS = {
  trustDomain: "example.org",
  disableContainerSelectors: false,
  kubeletReadOnlyPort: 0,
  kubeletSecurePort: 10250,
  kubeletCaPath: "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
  skipKubeletVerification: false,
  tokenPath: "/var/run/secrets/kubernetes.io/serviceaccount/token",
  certificatePath: "",
  privateKeyPath: "",
  useAnonymousAuthentication: false,
  nodeNameEnv: "MY_NODE_NAME",
  nodeName: "",
  maxPollAttempts: 60,
  pollRetryIntervalMs: 500,
  reloadIntervalMs: 60000,
  useNewContainerLocator: true,
  kubeletCgroupRoot: null,
  verboseContainerLocatorLogs: false,
  sigstore: null,
};

/** A Config as plain data (the map as sorted entries) so deepEqual compares everything. */
function plain(c: Config): Record<string, unknown> {
  const out: Record<string, unknown> = { ...c };
  if (c.sigstore) {
    out.sigstore = {
      ...c.sigstore,
      skipSignatureVerificationImageList: [...c.sigstore.skipSignatureVerificationImageList],
      allowedSubjects: [...c.sigstore.allowedSubjects.entries()].map(([k, v]) => [k, [...v]]),
    };
  }
  return out;
}

/** The real HCL v1 printer (hcl.Parse + printer.Fprint), as spire-agent uses to re-print plugin_data. */
const hclPrinter: (text: string) => string = createRequire(import.meta.url)("js-hcl-parser").stringify;

/** Extracts the body of `plugin_data { ... }` from an agent config snippet (brace matching). */
function pluginDataBody(agentConfig: string): string {
  const start = agentConfig.indexOf("plugin_data {");
  assert.ok(start >= 0, "snippet has plugin_data");
  let depth = 0;
  const open = agentConfig.indexOf("{", start);
  for (let i = open; i < agentConfig.length; i++) {
    if (agentConfig[i] === "{") depth++;
    if (agentConfig[i] === "}" && --depth === 0) return agentConfig.slice(open + 1, i);
  }
  throw new Error("unbalanced snippet");
}

const SIGSTORE_DIGEST = "sha256:abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789";

/** Every example of the upstream documentation (seed spec), plus the sigstore example assembled from it. */
const SEED_EXAMPLES: { name: string; snippet: string; expect: Partial<Config> }[] = [
  {
    name: "read-only port",
    snippet: `WorkloadAttestor "k8s" {\n  plugin_data {\n    kubelet_read_only_port = 10255\n  }\n}`,
    expect: { kubeletReadOnlyPort: 10255, kubeletSecurePort: 0 },
  },
  {
    name: "secure port, defaults",
    snippet: `WorkloadAttestor "k8s" {\n  plugin_data {\n  }\n}`,
    expect: {},
  },
  {
    name: "skip verification",
    snippet: `WorkloadAttestor "k8s" {\n  plugin_data {\n    skip_kubelet_verification = true\n  }\n}`,
    expect: { skipKubeletVerification: true },
  },
  {
    name: "skip verification, other token",
    snippet:
      `WorkloadAttestor "k8s" {\n  plugin_data {\n    skip_kubelet_verification = true\n    token_path = "/path/to/token"\n  }\n}`,
    expect: { skipKubeletVerification: true, tokenPath: "/path/to/token" },
  },
  {
    name: "x509 client certificate",
    snippet: `WorkloadAttestor "k8s" {
  plugin_data {
    kubelet_ca_path = "/path/to/kubelet-ca.pem"
    certificate_path = "/path/to/cert.pem"
    private_key_path = "/path/to/key.pem"
  }
}`,
    expect: {
      kubeletCaPath: "/path/to/kubelet-ca.pem",
      certificatePath: "/path/to/cert.pem",
      privateKeyPath: "/path/to/key.pem",
    },
  },
  {
    name: "sigstore (documented keys and example values)",
    snippet: `WorkloadAttestor "k8s" {
  plugin_data {
    experimental {
      sigstore {
        skip_signature_verification_image_list = ["${SIGSTORE_DIGEST}"]
        allowed_subjects_list {
          "https://accounts.google.com" = ["subject1@example.com","subject2@example.com"]
        }
        rekor_url = "https://rekor.sigstore.dev/"
        enforce_sct = false
      }
    }
  }
}`,
    expect: {
      sigstore: {
        skipSignatureVerificationImageList: [SIGSTORE_DIGEST],
        allowedSubjects: new Map([["https://accounts.google.com", [
          "subject1@example.com",
          "subject2@example.com",
        ]]]),
        rekorUrl: "https://rekor.sigstore.dev/",
        enforceSct: false,
      },
    },
  },
];

function expected(over: Partial<Config>): Record<string, unknown> {
  return plain({ ...DEFAULTS, ...over } as Config);
}

describe("buildConfig: upstream documentation examples", () => {
  for (const ex of SEED_EXAMPLES) {
    it(`accepts "${ex.name}" as spire-agent re-prints it`, () => {
      const printed = hclPrinter(pluginDataBody(ex.snippet));
      assert.ok(!printed.startsWith("unable to"), printed);
      const r = buildConfig(printed, TD, { getenv: noEnv });
      assert.deepEqual(r.problems, []);
      assert.ok(r.config);
      assert.deepEqual(plain(r.config), expected(ex.expect));
    });
    it(`accepts "${ex.name}" as written (plugin_data_file)`, () => {
      const r = buildConfig(pluginDataBody(ex.snippet), TD, { getenv: noEnv });
      assert.deepEqual(r.problems, []);
      assert.deepEqual(plain(r.config!), expected(ex.expect));
    });
  }
});

/** Good configurations: text → the fields that differ from DEFAULTS (exact Config compared). */
const GOOD: { name: string; text: string; expect: Partial<Config>; vars?: Record<string, string> }[] = [
  { name: "empty text", text: "", expect: {} },
  { name: "only whitespace and comments", text: "  \n# a\n// b\n/* c\n d */\n", expect: {} },
  {
    name: "every top-level key",
    text: `disable_container_selectors = true
kubelet_secure_port = 10443
kubelet_ca_path = "/etc/ca.pem"
skip_kubelet_verification = false
token_path = "/etc/token"
node_name_env = "NODE"
node_name = "node-a.example"
max_poll_attempts = 5
poll_retry_interval = "1.5s"
reload_interval = "2m30s"
use_new_container_locator = false
kubelet_cgroup_root = "/kubelet"
verbose_container_locator_logs = true`,
    expect: {
      disableContainerSelectors: true,
      kubeletSecurePort: 10443,
      kubeletCaPath: "/etc/ca.pem",
      tokenPath: "/etc/token",
      nodeNameEnv: "NODE",
      nodeName: "node-a.example",
      maxPollAttempts: 5,
      pollRetryIntervalMs: 1500,
      reloadIntervalMs: 150000,
      useNewContainerLocator: false,
      kubeletCgroupRoot: "/kubelet",
      verboseContainerLocatorLogs: true,
    },
  },
  {
    name: "JSON input (plugin_data_file)",
    text: `{
  "kubelet_read_only_port": 10255,
  "max_poll_attempts": "7",
  "experimental": {"sigstore": {
    "rekor_url": "https://rekor.example",
    "allowed_subjects_list": {"https://issuer.b": ["x"], "https://issuer.a": ["y", "z"]},
    "skip_signature_verification_image_list": []
  }}
}`,
    expect: {
      kubeletReadOnlyPort: 10255,
      kubeletSecurePort: 0,
      maxPollAttempts: 7,
      sigstore: {
        skipSignatureVerificationImageList: [],
        allowedSubjects: new Map([["https://issuer.a", ["y", "z"]], ["https://issuer.b", ["x"]]]),
        rekorUrl: "https://rekor.example",
        enforceSct: true,
      },
    },
  },
  {
    name: "keys are case-insensitive (all levels)",
    text: `Kubelet_Read_Only_Port = 10255
EXPERIMENTAL {
  SigStore {
    Rekor_URL = "https://rekor.example"
    ENFORCE_SCT = false
  }
}`,
    expect: {
      kubeletReadOnlyPort: 10255,
      kubeletSecurePort: 0,
      sigstore: {
        skipSignatureVerificationImageList: [],
        allowedSubjects: new Map(),
        rekorUrl: "https://rekor.example",
        enforceSct: false,
      },
    },
  },
  {
    name: "quoted integers use Go ParseInt base 0",
    text: `kubelet_secure_port = "0x2800"\nmax_poll_attempts = "0o17"`,
    expect: { kubeletSecurePort: 10240, maxPollAttempts: 15 },
  },
  {
    name: "quoted decimal with underscores",
    text: `max_poll_attempts = "1_000"`,
    expect: { maxPollAttempts: 1000 },
  },
  {
    name: "heredoc and comments",
    text: `# the CA
kubelet_ca_path = <<EOT
/etc/ca.pem
EOT
token_path = "/t" // trailing comment
/* block */ max_poll_attempts = 3`,
    expect: { kubeletCaPath: "/etc/ca.pem\n", tokenPath: "/t", maxPollAttempts: 3 },
  },
  {
    name: "allowed_subjects_list = { ... } form, several issuers",
    text: `experimental {
  sigstore = {
    rekor_url = "https://rekor.example:8443/path"
    allowed_subjects_list = {
      "https://token.actions.githubusercontent.com" = ["repo:a/b:ref:refs/heads/main"]
      "https://accounts.google.com" = []
    }
  }
}`,
    expect: {
      sigstore: {
        skipSignatureVerificationImageList: [],
        allowedSubjects: new Map([
          ["https://accounts.google.com", []],
          ["https://token.actions.githubusercontent.com", ["repo:a/b:ref:refs/heads/main"]],
        ]),
        rekorUrl: "https://rekor.example:8443/path",
        enforceSct: true,
      },
    },
  },
  { name: "empty experimental block", text: "experimental {}", expect: {} },
  {
    name: "node name from MY_NODE_NAME",
    text: "",
    vars: { MY_NODE_NAME: "node-1" },
    expect: { nodeName: "node-1" },
  },
  {
    name: "node_name_env picks another variable, no fallback to MY_NODE_NAME",
    text: `node_name_env = "NODE"`,
    vars: { MY_NODE_NAME: "node-1" },
    expect: { nodeNameEnv: "NODE", nodeName: "" },
  },
  {
    name: "node_name overrides the environment",
    text: `node_name = "node-2"`,
    vars: { MY_NODE_NAME: "node-1" },
    expect: { nodeName: "node-2" },
  },
  {
    name: "empty strings mean the defaults",
    text: `kubelet_ca_path = ""\ntoken_path = ""\nnode_name_env = ""\npoll_retry_interval = ""`,
    vars: { MY_NODE_NAME: "10.0.0.7" },
    expect: { nodeName: "10.0.0.7" },
  },
  { name: "IPv6 node name", text: `node_name = "fd00::7"`, expect: { nodeName: "fd00::7" } },
  {
    name: "anonymous authentication",
    text: "use_anonymous_authentication = true",
    expect: { useAnonymousAuthentication: true },
  },
  { name: "explicit default secure port", text: "kubelet_secure_port = 10250", expect: {} },
  {
    name: "port bounds",
    text: "kubelet_read_only_port = 65535",
    expect: { kubeletReadOnlyPort: 65535, kubeletSecurePort: 0 },
  },
  {
    name: "Go duration grammar",
    text: `poll_retry_interval = "250000us"\nreload_interval = "1h0m0.5s"`,
    expect: { pollRetryIntervalMs: 250, reloadIntervalMs: 3600500 },
  },
  {
    name: "sub-millisecond duration is kept exactly",
    text: `poll_retry_interval = "1500us"`,
    expect: { pollRetryIntervalMs: 1.5 },
  },
  { name: "integer given for a string key", text: "node_name = 42", expect: { nodeName: "42" } },
  { name: "JSON empty object", text: " {} ", expect: {} },
];

describe("buildConfig: good configurations", () => {
  for (const g of GOOD) {
    it(g.name, () => {
      const r = buildConfig(g.text, TD, { getenv: g.vars ? env(g.vars) : noEnv });
      assert.deepEqual(r.problems, []);
      assert.ok(r.config);
      assert.deepEqual(plain(r.config), expected(g.expect));
    });
  }

  it("null core (CLI) skips the trust domain and leaves it empty", () => {
    const r = buildConfig("", null, { getenv: noEnv });
    assert.deepEqual(r.problems, []);
    assert.deepEqual(plain(r.config!), expected({ trustDomain: "" }));
  });

  it("accepts trust domains with digits, dots, dashes and underscores", () => {
    const r = buildConfig("", { trustDomain: "prod_1.example-2.org" }, { getenv: noEnv });
    assert.deepEqual(r.problems, []);
    assert.equal(r.config?.trustDomain, "prod_1.example-2.org");
  });
});

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
      `zeta = 1\nAlpha = 2\nzeta = 3\nexperimental {\n  broker {}\n  sigstore {\n    rekor_url = "https://r"\n    ignore_sct = true\n  }\n}`,
    problems: [
      "unknown configurations detected: Alpha,zeta",
      "unknown configurations detected in experimental: broker",
      "unknown configurations detected in experimental.sigstore: ignore_sct",
    ],
  },
  {
    name: "upstream HEAD-style top-level sigstore block is unknown here",
    text: `sigstore {\n  rekor_url = "https://r"\n}`,
    problems: ["unknown configurations detected: sigstore"],
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

describe("buildConfig: environment, purity and immutability", () => {
  it("reads only the node-name variable, through the injected getenv", () => {
    const asked: string[] = [];
    const getenv = (name: string) => {
      asked.push(name);
      return name === "K8S_NODE" ? "worker-3" : "wrong";
    };
    const r = buildConfig(`node_name_env = "K8S_NODE"`, TD, { getenv });
    assert.equal(r.config?.nodeName, "worker-3");
    assert.deepEqual(asked, ["K8S_NODE"]);
    asked.length = 0;
    buildConfig(`node_name = "n1"`, TD, { getenv });
    assert.deepEqual(asked, [], "node_name set: the environment is not read");
  });

  it("a getenv that throws counts as unset", () => {
    const r = buildConfig("", TD, {
      getenv: () => {
        throw new Error("NotCapable");
      },
    });
    assert.deepEqual(r.problems, []);
    assert.equal(r.config?.nodeName, "");
  });

  it("defaults getenv to Deno.env.get", () => {
    const name = `K8S_ATTESTOR_TEST_NODE_${crypto.randomUUID().slice(0, 8)}`;
    Deno.env.set(name, "env-node");
    try {
      const r = buildConfig(`node_name_env = "${name}"`, TD);
      assert.equal(r.config?.nodeName, "env-node");
    } finally {
      Deno.env.delete(name);
    }
  });

  it("does not look at the files it is given (Validate-style use)", () => {
    const r = buildConfig(
      `kubelet_ca_path = "/nonexistent/ca.pem"\ncertificate_path = "/nonexistent/c.pem"\nprivate_key_path = "/nonexistent/k.pem"\ntoken_path = "/nonexistent/t"`,
      TD,
      { getenv: noEnv },
    );
    assert.deepEqual(r.problems, []);
    assert.equal(r.config?.certificatePath, "/nonexistent/c.pem");
  });

  it("returns a deeply frozen config (object, arrays, map)", () => {
    const r = buildConfig(
      `experimental {\n  sigstore {\n    rekor_url = "https://r.example"\n    skip_signature_verification_image_list = ["sha256:a"]\n    allowed_subjects_list { "i" = ["s"] }\n  }\n}`,
      TD,
      { getenv: noEnv },
    );
    const c = r.config!;
    const sig = c.sigstore!;
    assert.ok(Object.isFrozen(c));
    assert.ok(Object.isFrozen(sig));
    assert.ok(Object.isFrozen(sig.skipSignatureVerificationImageList));
    assert.ok(Object.isFrozen(sig.allowedSubjects.get("i")));
    assert.ok(Object.isFrozen(sig.allowedSubjects));
    assert.throws(() => {
      (c as { maxPollAttempts: number }).maxPollAttempts = 1;
    }, TypeError);
    assert.throws(() => (sig.skipSignatureVerificationImageList as string[]).push("x"), TypeError);
    assert.throws(() => (sig.allowedSubjects as unknown as Map<string, string[]>).set("j", []), TypeError);
    assert.throws(() => (sig.allowedSubjects.get("i") as string[]).push("t"), TypeError);
    assert.deepEqual([...sig.allowedSubjects], [["i", ["s"]]]);
    assert.equal(sig.allowedSubjects.size, 1);
    assert.ok(sig.allowedSubjects.has("i"));
    assert.equal(sig.allowedSubjects.get("j"), undefined);
  });

  it("never throws on input that is not text", () => {
    const r = buildConfig(undefined as unknown as string, TD, { getenv: noEnv });
    assert.equal(r.config, null);
    assert.deepEqual(r.problems, ["the configuration is not text"]);
  });
});
