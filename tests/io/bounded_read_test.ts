/**
 * The one bounded file reader (src/io.ts) and its two users' error mapping: credential files
 * (`readSmallTextFile`) and `/proc` files (`readBoundedText`).
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { FileTooLargeError, readBoundedTextFile, readSmallTextFile } from "../../src/io.ts";
import { readBoundedText } from "../../src/platform/unix/read.ts";
import { AttestorError } from "../../src/errors.ts";

describe("readBoundedTextFile", () => {
  let dir: string;
  before(async () => {
    dir = await Deno.makeTempDir({ prefix: "k8s-attestor-bounded-read-" });
  });
  after(async () => {
    await Deno.remove(dir, { recursive: true });
  });

  const write = async (name: string, bytes: Uint8Array) => {
    const path = join(dir, name);
    await Deno.writeFile(path, bytes);
    return path;
  };

  it("reads exactly the limit and refuses one byte more, in any chunking", async () => {
    for (const size of [1, 100, 64 * 1024, 200 * 1024 + 3]) {
      const path = await write(`f-${size}`, new Uint8Array(size).fill(0x61));
      assert.equal((await readBoundedTextFile(path, size)).length, size);
      await assert.rejects(readBoundedTextFile(path, size - 1), (err: unknown) => {
        assert.ok(err instanceof FileTooLargeError);
        assert.equal(err.message, `larger than ${size - 1} bytes`);
        assert.equal(err.maxBytes, size - 1);
        return true;
      });
    }
  });

  it("reads a file that reports a size of 0 to its end (/proc)", {
    skip: Deno.build.os !== "linux" ? "no /proc" : false,
  }, async () => {
    assert.equal((await Deno.stat("/proc/self/status")).size, 0);
    const text = await readBoundedTextFile("/proc/self/status", 1024 * 1024);
    assert.match(text, /^Name:/);
    assert.match(text, new RegExp(`\\nPid:\\s+${Deno.pid}\\n`));
    await assert.rejects(readBoundedTextFile("/proc/self/status", 10), FileTooLargeError);
  });

  it("replaces invalid UTF-8 with U+FFFD and passes file-system errors through", async () => {
    const path = await write("bad-utf8", new Uint8Array([0x61, 0xff, 0x62]));
    assert.equal(await readBoundedTextFile(path, 3), "a\uFFFDb");
    await assert.rejects(readBoundedTextFile(join(dir, "missing"), 10), Deno.errors.NotFound);
  });

  it("readSmallTextFile: the same bound after a regular-file check, same texts", async () => {
    const path = await write("small", new TextEncoder().encode("token\n"));
    assert.equal(await readSmallTextFile(path), "token\n");
    await assert.rejects(readSmallTextFile(path, 5), { message: "larger than 5 bytes" });
    await assert.rejects(readSmallTextFile(dir), { message: "not a regular file" });
  });

  it("readBoundedText (/proc reader): null when missing, malformed-input naming the file when too large", async () => {
    const path = await write("cgroup", new TextEncoder().encode("0::/x\n"));
    assert.equal(await readBoundedText(path, 6, "unable to obtain cgroups"), "0::/x\n");
    assert.equal(await readBoundedText(join(dir, "gone"), 6, "unable to obtain cgroups"), null);
    await assert.rejects(readBoundedText(path, 5, "unable to obtain cgroups"), (err: unknown) => {
      assert.ok(err instanceof AttestorError);
      assert.equal(err.reason, "malformed-input");
      assert.equal(err.message, `unable to obtain cgroups: ${JSON.stringify(path)} is larger than 5 bytes`);
      return true;
    });
  });
});
