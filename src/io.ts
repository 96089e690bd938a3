/**
 * Small byte and stream helpers shared by the CLI, the logger and the file/HTTP readers.
 *
 * @module
 */

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
    const into = new BoundedChunks(maxBytes);
    for (;;) {
      const n = await file.read(into.buf);
      if (n === null) break;
      into.add(n);
    }
    return into.text();
  } finally {
    file.close();
  }
}

/**
 * {@linkcode readBoundedTextFile} without yielding to the event loop: the same limit, chunks, decoding and
 * errors, for small local files (`/proc`) where a round trip through the event loop per read costs more
 * than the read itself.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FileTooLargeError, readBoundedTextFileSync } from "./io.ts";
 * const path = Deno.makeTempFileSync();
 * Deno.writeTextFileSync(path, "hello");
 * assert.equal(readBoundedTextFileSync(path, 5), "hello");
 * assert.throws(() => readBoundedTextFileSync(path, 4), FileTooLargeError);
 * Deno.removeSync(path);
 * ```
 *
 * @param path The file.
 * @param maxBytes The largest accepted size.
 * @returns The contents as text.
 * @throws {FileTooLargeError} When the file holds more than `maxBytes` bytes.
 */
export function readBoundedTextFileSync(path: string, maxBytes: number): string {
  const file = Deno.openSync(path, { read: true });
  try {
    const into = new BoundedChunks(maxBytes);
    for (;;) {
      const n = file.readSync(into.buf);
      if (n === null) break;
      into.add(n);
    }
    return into.text();
  } finally {
    file.close();
  }
}

/** The chunks of one bounded read: a read buffer, and the bytes read so far, refused past `maxBytes`. */
class BoundedChunks {
  readonly buf: Uint8Array;
  readonly #chunks: Uint8Array[] = [];
  #total = 0;

  constructor(readonly maxBytes: number) {
    this.buf = new Uint8Array(Math.min(READ_CHUNK_BYTES, maxBytes + 1));
  }

  /** Keeps the first `n` bytes of the buffer; throws {@linkcode FileTooLargeError} past the limit. */
  add(n: number): void {
    this.#total += n;
    if (this.#total > this.maxBytes) throw new FileTooLargeError(this.maxBytes);
    this.#chunks.push(this.buf.slice(0, n));
  }

  /** Everything read, decoded. */
  text(): string {
    const chunks = this.#chunks;
    return decoder.decode(chunks.length === 1 ? chunks[0] : concatBytes(chunks, this.#total));
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
