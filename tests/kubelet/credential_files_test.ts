/**
 * Credential files are read with a bound: a token or CA path that points at a FIFO, a directory or a huge
 * file fails Configure at once with a clear error instead of hanging or exhausting memory.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { createKubeletClient } from "../../src/kubelet/client.ts";
import { AttestorError } from "../../src/errors.ts";
import { testConfig } from "./_config.ts";

describe("credential files", () => {
  let dir: string;
  before(async () => {
    dir = await Deno.makeTempDir({ prefix: "k8s-attestor-creds-" });
  });
  after(async () => {
    await Deno.remove(dir, { recursive: true });
  });

  const expectLoadError = (pattern: RegExp) => (err: unknown) => {
    assert.ok(err instanceof AttestorError, String(err));
    assert.equal(err.reason, "bad-config");
    assert.match(err.message, pattern);
    return true;
  };

  it("refuses a token path that is a FIFO without blocking on it", {
    skip: Deno.build.os === "windows" ? "no mkfifo on Windows" : false,
  }, async () => {
    const fifo = join(dir, "token-fifo");
    const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
    assert.equal(made.code, 0);
    await assert.rejects(
      createKubeletClient({ config: testConfig({ skipKubeletVerification: true, tokenPath: fifo }) }),
      expectLoadError(/^unable to load token: open .*token-fifo: not a regular file$/),
    );
  });

  it("refuses a token file over 1 MiB", async () => {
    const big = join(dir, "token-big");
    await Deno.writeFile(big, new Uint8Array(1024 * 1024 + 1).fill(0x61));
    await assert.rejects(
      createKubeletClient({ config: testConfig({ skipKubeletVerification: true, tokenPath: big }) }),
      expectLoadError(/^unable to load token: open .*token-big: larger than 1048576 bytes$/),
    );
  });

  it("refuses a CA path that is a directory", async () => {
    await assert.rejects(
      createKubeletClient({ config: testConfig({ kubeletCaPath: dir }) }),
      expectLoadError(/^unable to load kubelet CA: open .*: not a regular file$/),
    );
  });
});
