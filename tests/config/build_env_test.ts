/** buildConfig reads only the node-name variable, never a file, never throws, and returns a frozen config. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildConfig } from "../../src/config/build.ts";
import { noEnv, TD } from "./_build_fixtures.ts";

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
