/**
 * The gate of the tests that need Debian's docker-registry: skipped loudly on a developer's machine without
 * it, a failure in CI (`CI=true`), so CI never passes without running them.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { registryTestGate } from "../../src/testing/registry.ts";

describe("registryTestGate", { skip: Deno.build.os !== "linux" }, () => {
  const absent = "/nonexistent/docker-registry";
  const present = Deno.execPath();

  it("skips with a message naming the missing binary, and fails in CI", async () => {
    const dev = await registryTestGate(false, { registry: absent, getEnv: () => undefined });
    assert.equal(
      dev.skip,
      `SKIPPED: missing ${absent} (apt package docker-registry); run scripts/registry_setup.sh (.ci/run does)`,
    );
    assert.equal(dev.mustFail, null);
    const ci = await registryTestGate(false, {
      registry: absent,
      getEnv: (n) => n === "CI" ? "true" : undefined,
    });
    assert.match(ci.mustFail ?? "", /^missing \/nonexistent\/docker-registry/);
  });

  it("needs htpasswd only for the auth mode", async () => {
    const htpasswd = "/nonexistent/htpasswd";
    const ci = (n: string) => n === "CI" ? "true" : undefined;
    assert.deepEqual(await registryTestGate(false, { registry: present, htpasswd, getEnv: ci }), {
      skip: false,
      mustFail: null,
    });
    const auth = await registryTestGate(true, { registry: present, htpasswd, getEnv: ci });
    assert.match(auth.mustFail ?? "", /htpasswd \(apt package apache2-utils\)/);
  });
});
