/**
 * buildConfig on every example of the upstream documentation, as written (plugin_data_file) and as
 * spire-agent re-prints it with the real HCL v1 printer.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { buildConfig } from "../../src/config/build.ts";
import type { Config } from "../../src/config/types.ts";
import { expected, noEnv, plain, TD } from "./_build_fixtures.ts";

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
  {
    // Current SPIRE (v1.15.3) doc/plugin_agent_workloadattestor_k8s.md, "Sigstore options": every key with the
    // table's example values (its registry_credentials example is JSON; here in HCL).
    name: "current sigstore block (documented keys and example values)",
    snippet: `WorkloadAttestor "k8s" {
  plugin_data {
    sigstore {
      allowed_identities = {
        "https://accounts.google.com" = ["subject1@example.com","subject2@example.com"]
      }
      skipped_images = ["docker.io/library/nginx@${SIGSTORE_DIGEST}"]
      rekor_url = "https://rekor.sigstore.dev"
      ignore_sct = false
      ignore_tlog = false
      ignore_attestations = true
      registry_credentials = {
        "docker.io" = { username = "user", password = "pass" }
      }
    }
  }
}`,
    expect: {
      sigstoreCurrent: {
        allowedIdentities: new Map([["https://accounts.google.com", [
          "subject1@example.com",
          "subject2@example.com",
        ]]]),
        skippedImages: [`docker.io/library/nginx@${SIGSTORE_DIGEST}`],
        rekorUrl: "https://rekor.sigstore.dev",
        ignoreSct: false,
        ignoreTlog: false,
        ignoreAttestations: true,
        registryCredentials: new Map([["index.docker.io", { username: "user", password: "pass" }]]),
        ignoredCredentials: [],
      },
    },
  },
];

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
