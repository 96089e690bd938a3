/**
 * Small byte and stream helpers shared by the CLI, the logger and the file/HTTP readers.
 *
 * @module
 */

import * as fs from "node:fs";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Something with a synchronous `write`, such as `Deno.stdout` or `Deno.stderr`. */
export interface SyncWriter {
  /** Writes some of `p` and returns how many bytes were written. */
  writeSync(p: Uint8Array): number;
}

/**
 * Writes all of `text` (UTF-8) to `target`, looping over short writes.
 *
 * @example
 * ```ts ignore
 * import { writeAllSync } from "./io.ts";
 * writeAllSync(Deno.stdout, "hello\n");
 * ```
 *
 * @param target The destination.
 * @param text The text to write.
 */
export function writeAllSync(target: SyncWriter, text: string): void {
  const bytes = encoder.encode(text);
  let offset = 0;
  while (offset < bytes.length) offset += target.writeSync(bytes.subarray(offset));
}

/**
 * Joins byte chunks into one array.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { concatBytes } from "./io.ts";
 * const joined = concatBytes([new Uint8Array([1]), new Uint8Array([2, 3])], 3);
 * assert.deepEqual(joined, new Uint8Array([1, 2, 3]));
 * ```
 *
 * @param chunks The chunks, in order.
 * @param total Their combined length.
 * @returns A new array holding every byte.
 */
export function concatBytes(chunks: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

/** The largest credential or configuration file read: far above any real PEM bundle or token. */
export const MAX_SMALL_FILE_BYTES = 1024 * 1024;

/**
 * Thrown by {@linkcode readBoundedTextFile} for a file holding more than the limit. Its message is
 * `larger than <n> bytes`.
 */
export class FileTooLargeError extends Error {
  /** The limit that was exceeded. */
  readonly maxBytes: number;

  /** @param maxBytes The limit that was exceeded. */
  constructor(maxBytes: number) {
    super(`larger than ${maxBytes} bytes`);
    this.name = "FileTooLargeError";
    this.maxBytes = maxBytes;
  }
}

const READ_CHUNK_BYTES = 64 * 1024;

/**
 * Reads a whole text file of at most `maxBytes` bytes: the one bounded reader of the plugin. The file is read
 * in chunks until end of file (so `/proc` files, which report a size of 0, work), and one byte past the limit
 * is an error, so hostile input costs at most `maxBytes` of memory whatever the file claims. Invalid UTF-8 is
 * replaced with U+FFFD. File-system errors are rethrown as they are (`Deno.errors.NotFound`, ...).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FileTooLargeError, readBoundedTextFile } from "./io.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "hello");
 * assert.equal(await readBoundedTextFile(path, 5), "hello");
 * await assert.rejects(readBoundedTextFile(path, 4), FileTooLargeError);
 * await Deno.remove(path);
 * ```
 *
 * @param path The file.
 * @param maxBytes The largest accepted size.
 * @returns The contents as text.
 * @throws {FileTooLargeError} When the file holds more than `maxBytes` bytes.
 */
export async function readBoundedTextFile(path: string, maxBytes: number): Promise<string> {
  const file = await Deno.open(path, { read: true });
  try {
    const chunks: Uint8Array[] = [];
    let total = 0;
    const buf = new Uint8Array(Math.min(READ_CHUNK_BYTES, maxBytes + 1));
    for (;;) {
      const n = await file.read(buf);
      if (n === null) break;
      total += n;
      if (total > maxBytes) throw new FileTooLargeError(maxBytes);
      chunks.push(buf.slice(0, n));
    }
    return decoder.decode(chunks.length === 1 ? chunks[0] : concatBytes(chunks, total));
  } finally {
    file.close();
  }
}

/** A scratch buffer for {@linkcode readRegularTextFileSync} (synchronous, so never shared by two reads). */
let scratch: Uint8Array | null = null;

/** The flags {@linkcode readRegularTextFileSync} opens with; `undefined` where O_NONBLOCK does not exist. */
const OPEN_NONBLOCK: number | undefined = (() => {
  const { O_RDONLY, O_NONBLOCK } = fs.constants as { O_RDONLY: number; O_NONBLOCK?: number };
  return O_NONBLOCK === undefined ? undefined : O_RDONLY | O_NONBLOCK;
})();

/**
 * Reads a whole regular file of at most `maxBytes` bytes synchronously, or answers `undefined` when it
 * cannot do so safely: then the caller reads with {@linkcode readBoundedTextFile}, which gives the text or
 * the error. Made for `/proc` files (regular files of size 0 that a read fills at once), where the
 * asynchronous reads cost several times more. A FIFO, whose opening and reading would block the whole event
 * loop, is never opened here: only a path that `stat` calls a regular file is opened, and it is opened
 * non-blocking, so even a FIFO swapped in after the `stat` cannot block (its reads end at once: an empty
 * text, which answers `undefined`, or "would block", which answers `undefined`). Any error, a size past
 * `maxBytes` or an empty file answers `undefined`, never a partial text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readRegularTextFileSync } from "./io.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/f`, "hello");
 * assert.equal(readRegularTextFileSync(`${dir}/f`, 5), "hello");
 * assert.equal(readRegularTextFileSync(`${dir}/f`, 4), undefined); // too large: read it the bounded way
 * assert.equal(readRegularTextFileSync(`${dir}/missing`, 5), undefined);
 * assert.equal(readRegularTextFileSync(dir, 5), undefined); // not a regular file
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @param path The file.
 * @param maxBytes The largest accepted size.
 * @returns The contents as text (invalid UTF-8 replaced with U+FFFD), or `undefined`.
 */
export function readRegularTextFileSync(path: string, maxBytes: number): string | undefined {
  // O_NONBLOCK is not defined on Windows (which has no /proc): there the asynchronous read is used.
  if (OPEN_NONBLOCK === undefined) return undefined;
  let fd: number;
  try {
    if (!Deno.statSync(path).isFile) return undefined;
    fd = fs.openSync(path, OPEN_NONBLOCK); // Deno opens every file close-on-exec
  } catch {
    return undefined;
  }
  try {
    // Reads go into the scratch buffer one after the other; only a file larger than it is copied out in
    // chunks (one past `maxBytes` is enough to know the file is too large).
    const buf = scratch ??= new Uint8Array(READ_CHUNK_BYTES);
    let chunks: Uint8Array[] | null = null;
    let used = 0;
    let total = 0;
    for (;;) {
      if (used === buf.length) {
        (chunks ??= []).push(buf.slice());
        used = 0;
      }
      const n = fs.readSync(fd, buf, used, Math.min(buf.length - used, maxBytes + 1 - total), null);
      if (n === 0) break;
      used += n;
      total += n;
      if (total > maxBytes) return undefined;
    }
    if (total === 0) return undefined; // perhaps a FIFO without a writer: the asynchronous read decides
    if (chunks === null) return decoder.decode(buf.subarray(0, used));
    chunks.push(buf.subarray(0, used));
    return decoder.decode(concatBytes(chunks, total));
  } catch {
    return undefined;
  } finally {
    try {
      fs.closeSync(fd);
    } catch {
      // nothing to release
    }
  }
}

/**
 * Reads a small text file (credentials, configuration) with a size bound: only regular files, at most
 * `maxBytes` (see {@linkcode readBoundedTextFile}), so a path pointing at a FIFO, a device or a huge file
 * cannot hang or exhaust the plugin. File-system errors are rethrown as they are (`Deno.errors.NotFound`,
 * ...).
 *
 * @example
 * ```ts ignore
 * import { readSmallTextFile } from "./io.ts";
 * const token = await readSmallTextFile("/var/run/secrets/kubernetes.io/serviceaccount/token");
 * ```
 *
 * @param path The file.
 * @param maxBytes The limit. @default {MAX_SMALL_FILE_BYTES}
 * @returns The contents as UTF-8 text.
 * @throws {Error} `not a regular file`, or a {@linkcode FileTooLargeError} `larger than <n> bytes`.
 */
export async function readSmallTextFile(
  path: string,
  maxBytes: number = MAX_SMALL_FILE_BYTES,
): Promise<string> {
  const info = await Deno.stat(path);
  if (!info.isFile) throw new Error("not a regular file");
  if (info.size > maxBytes) throw new FileTooLargeError(maxBytes);
  return await readBoundedTextFile(path, maxBytes);
}

/**
 * Reads a byte stream (an HTTP response body) of at most `maxBytes` bytes: the stream counterpart of
 * {@linkcode readBoundedTextFile}. One byte past the limit cancels the stream and throws, so an oversized or
 * endless body costs at most `maxBytes` plus one chunk of memory, whatever its `Content-Length` claimed.
 * Errors of the stream (an aborted fetch, a broken connection) are rethrown as they are.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FileTooLargeError, readBoundedStream } from "./io.ts";
 * assert.deepEqual(await readBoundedStream(new Response("abc").body, 3), new TextEncoder().encode("abc"));
 * await assert.rejects(readBoundedStream(new Response("abcd").body, 3), FileTooLargeError);
 * assert.equal((await readBoundedStream(null, 3)).length, 0);
 * ```
 *
 * @param stream The stream; null reads as empty.
 * @param maxBytes The largest accepted length.
 * @returns Every byte of the stream.
 * @throws {FileTooLargeError} When the stream holds more than `maxBytes` bytes (message `larger than <n> bytes`).
 */
export async function readBoundedStream(
  stream: ReadableStream<Uint8Array> | null,
  maxBytes: number,
): Promise<Uint8Array> {
  if (stream === null) return new Uint8Array(0);
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > maxBytes) {
        reader.cancel().catch(() => {});
        throw new FileTooLargeError(maxBytes);
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  return chunks.length === 1 ? chunks[0] : concatBytes(chunks, total);
}
