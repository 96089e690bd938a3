import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { childKeys, CONFIG_KEYS, formatConfigHelp } from "../../src/config/keys.ts";
import { buildConfig } from "../../src/config/build.ts";

describe("CONFIG_KEYS", () => {
  it("has unique lowercase names whose parents are blocks (or lists of blocks)", () => {
    const names = CONFIG_KEYS.map((k) => k.name);
    assert.equal(new Set(names).size, names.length);
    for (const k of CONFIG_KEYS) {
      assert.equal(k.name, k.name.toLowerCase());
      const parent = k.name.split(".").slice(0, -1).join(".");
      if (parent) {
        assert.ok(
          ["block", "list(block)"].includes(CONFIG_KEYS.find((p) => p.name === parent)?.type ?? ""),
          k.name,
        );
      }
      assert.ok(k.doc.length > 0);
    }
    assert.ok(Object.isFrozen(CONFIG_KEYS) && Object.isFrozen(CONFIG_KEYS[0]));
  });

  it("lists exactly the keys the builder accepts (each known key gets a type check, not 'unknown')", () => {
    for (const name of childKeys("")) {
      const r = buildConfig(`${name} = [[1]]`, null, { getenv: () => undefined });
      assert.equal(r.problems.length, 1, name);
      assert.ok(r.problems[0].startsWith(`${name}: expected `), r.problems[0]);
    }
    assert.deepEqual(childKeys("experimental"), ["sigstore", "api_server", "broker"]);
    assert.deepEqual(childKeys("experimental.api_server.cache"), ["enabled"]);
    assert.deepEqual(childKeys("experimental.broker"), ["access_policy", "brokers"]);
    assert.deepEqual(childKeys("experimental.broker.brokers"), ["id", "pod_reference_scope"]);
    assert.deepEqual(childKeys("experimental.sigstore"), [
      "skip_signature_verification_image_list",
      "allowed_subjects_list",
      "rekor_url",
      "enforce_sct",
    ]);
    assert.deepEqual(childKeys("sigstore"), [
      "allowed_identities",
      "skipped_images",
      "rekor_url",
      "ignore_sct",
      "ignore_tlog",
      "ignore_attestations",
      "registry_credentials",
    ]);
  });

  it("documents the defaults the builder applies", () => {
    const c = buildConfig("", null, { getenv: () => undefined }).config!;
    const def = (n: string) => CONFIG_KEYS.find((k) => k.name === n)!.default;
    assert.equal(def("kubelet_secure_port"), String(c.kubeletSecurePort));
    assert.equal(def("kubelet_ca_path"), c.kubeletCaPath);
    assert.equal(def("token_path"), c.tokenPath);
    assert.equal(def("node_name_env"), c.nodeNameEnv);
    assert.equal(def("max_poll_attempts"), String(c.maxPollAttempts));
    assert.equal(def("use_new_container_locator"), String(c.useNewContainerLocator));
    assert.equal(def("disable_container_selectors"), String(c.disableContainerSelectors));
  });
});

describe("formatConfigHelp", () => {
  it("prints one line per key with type and default", () => {
    const text = formatConfigHelp();
    // One line per key, in table order, after the heading (leaf names repeat: rekor_url is in both sigstore forms).
    const lines = text.split("\n").slice(1);
    CONFIG_KEYS.forEach((k, i) => {
      const leaf = k.name.split(".").at(-1)!;
      const line = lines[i];
      assert.ok(line.trimStart().startsWith(`${leaf} `), `line ${i}: ${line}`);
      assert.ok(line, `no line for ${k.name}`);
      assert.ok(line.includes(k.type), line);
      if (k.default) assert.ok(line.includes(`(default ${k.default})`), line);
    });
    assert.ok(text.endsWith("\n"));
  });
});
