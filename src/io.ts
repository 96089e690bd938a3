/**
 * Small byte and stream helpers shared by the CLI, the logger and the file/HTTP readers.
 *
 * @module
 */

const encoder = new TextEncoder();

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
 * Reads a small text file (credentials, configuration) with a size bound: only regular files, at most
 * `maxBytes`, so a path pointing at a FIFO, a device or a huge file cannot hang or exhaust the plugin.
 * File-system errors are rethrown as they are (`Deno.errors.NotFound`, ...).
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
 * @throws {Error} `not a regular file` or `larger than <n> bytes`.
 */
export async function readSmallTextFile(
  path: string,
  maxBytes: number = MAX_SMALL_FILE_BYTES,
): Promise<string> {
  const info = await Deno.stat(path);
  if (!info.isFile) throw new Error("not a regular file");
  if (info.size > maxBytes) throw new Error(`larger than ${maxBytes} bytes`);
  const file = await Deno.open(path, { read: true });
  try {
    const chunks: Uint8Array[] = [];
    let total = 0;
    const buf = new Uint8Array(64 * 1024);
    for (;;) {
      const n = await file.read(buf);
      if (n === null) break;
      total += n;
      if (total > maxBytes) throw new Error(`larger than ${maxBytes} bytes`);
      chunks.push(buf.slice(0, n));
    }
    return new TextDecoder().decode(concatBytes(chunks, total));
  } finally {
    file.close();
  }
}
