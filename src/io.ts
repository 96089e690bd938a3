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
 * import { concatBytes } from "./io.ts";
 * const joined = concatBytes([new Uint8Array([1]), new Uint8Array([2, 3])], 3);
 * console.assert(joined.join(",") === "1,2,3");
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
