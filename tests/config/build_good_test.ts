/** buildConfig on good configurations: the exact Config each one gives. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildConfig } from "../../src/config/build.ts";
import type { Config } from "../../src/config/types.ts";
import { env, expected, noEnv, plain, TD } from "./_build_fixtures.ts";

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
