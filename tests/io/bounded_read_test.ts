/**
 * The one bounded file reader (src/io.ts) and its two users' error mapping: credential files
 * (`readSmallTextFile`) and `/proc` files (`readBoundedText`); the synchronous reader of regular files
 * (`readRegularTextFileSync`) gives the same text or leaves the file to the bounded reader.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import * as fs from "node:fs";
import {
  FileTooLargeError,
  readBoundedTextFile,
  readRegularTextFileSync,
  readSmallTextFile,
} from "../../src/io.ts";
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

describe(
  "readRegularTextFileSync",
  { skip: Deno.build.os === "windows" ? "no FIFOs, no /proc" : false },
  () => {
    let dir: string;
    before(async () => {
      dir = await Deno.makeTempDir({ prefix: "k8s-attestor-sync-read-" });
    });
    after(async () => {
      await Deno.remove(dir, { recursive: true });
    });

    /** What the bounded (asynchronous) reader gives: the text, or the error's class name. */
    const bounded = (path: string, maxBytes: number) =>
      readBoundedTextFile(path, maxBytes).then((text) => text, (err) => (err as Error).constructor.name);

    it("gives exactly the bounded reader's text for non-empty regular files, else nothing", async () => {
      const files: [string, Uint8Array][] = [
        ["empty", new Uint8Array(0)],
        ["text", new TextEncoder().encode("0::/kubepods/pod1\n")],
        ["bad-utf8", new Uint8Array([0x61, 0xff, 0x62])],
        // Varied bytes, so that chunks put together in the wrong order or place would show.
        ["chunks", Uint8Array.from({ length: 200 * 1024 + 3 }, (_, i) => 0x30 + (i % 61))],
        ["two-buffers", Uint8Array.from({ length: 128 * 1024 }, (_, i) => 0x41 + ((i >> 10) % 26))],
      ];
      for (const [name, bytes] of files) {
        const path = join(dir, name);
        await Deno.writeFile(path, bytes);
        for (const maxBytes of [bytes.length, bytes.length + 1, bytes.length - 1].filter((n) => n >= 0)) {
          const expected = await bounded(path, maxBytes);
          const got = readRegularTextFileSync(path, maxBytes);
          if (bytes.length === 0) assert.equal(got, undefined, "an empty file is left to the bounded reader");
          else if (maxBytes >= bytes.length) assert.equal(got, expected, `${name} within ${maxBytes}`);
          else {
            assert.equal(got, undefined, `${name} past ${maxBytes}`);
            assert.equal(expected, "FileTooLargeError");
          }
        }
      }
      assert.equal(readRegularTextFileSync(join(dir, "missing"), 10), undefined);
      assert.equal(readRegularTextFileSync(dir, 10), undefined);
    });

    it(
      "reads /proc files (size 0) like the bounded reader",
      { skip: Deno.build.os !== "linux" },
      async () => {
        for (const name of ["cgroup", "uid_map", "mountinfo"]) {
          const path = `/proc/self/${name}`;
          assert.equal(
            readRegularTextFileSync(path, 1024 * 1024),
            await readBoundedTextFile(path, 1024 * 1024),
          );
        }
        assert.equal(readRegularTextFileSync("/proc/self/cgroup", 1), undefined);
      },
    );

    it("leaves a FIFO alone: no hang, and the data written to it is still there for the bounded reader", async () => {
      const fifo = join(dir, "fifo");
      const mk = await new Deno.Command("mkfifo", { args: [fifo] }).output();
      assert.equal(mk.code, 0, "mkfifo");
      // No writer: a blocking open would hang this test (and a non-blocking read would see an empty file).
      assert.equal(readRegularTextFileSync(fifo, 100), undefined);
      // With a writer and data waiting: nothing is consumed.
      const reader = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
      const writer = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
      try {
        fs.writeSync(writer, "0::/x\n");
        assert.equal(readRegularTextFileSync(fifo, 100), undefined);
        const buf = new Uint8Array(100);
        assert.equal(new TextDecoder().decode(buf.subarray(0, fs.readSync(reader, buf))), "0::/x\n");
      } finally {
        fs.closeSync(writer);
        fs.closeSync(reader);
      }
    });

    it("readBoundedText reads a FIFO the asynchronous way, as before", async () => {
      const fifo = join(dir, "cgroup-fifo");
      const mk = await new Deno.Command("mkfifo", { args: [fifo] }).output();
      assert.equal(mk.code, 0, "mkfifo");
      const read = readBoundedText(fifo, 100, "unable to obtain cgroups");
      const writer = await Deno.open(fifo, { write: true }); // completes once the reader has opened it
      await writer.write(new TextEncoder().encode("0::/y\n"));
      writer.close();
      assert.equal(await read, "0::/y\n");
    });
  },
);
