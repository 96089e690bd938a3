/**
 * Bounded reads of `/proc` files, mapping OS errors to {@linkcode AttestorError}s that name the file.
 *
 * @module
 */

import { AttestorError } from "../../errors.ts";
import { quote } from "./lines.ts";
import { concatBytes } from "../../io.ts";

const decoder = new TextDecoder();

/**
 * Reads a whole text file of at most `maxBytes` bytes. `/proc` files report a size of 0, so the file is read
 * in chunks until end of file; one byte past the limit is an error, so hostile input costs at most
 * `maxBytes` of memory. Invalid UTF-8 is replaced with U+FFFD, which is neither a hex digit nor a word
 * character, so it cannot create or hide an ID.
 *
 * @param path The file.
 * @param maxBytes The largest accepted size.
 * @param describe Prefix of error messages (for example `unable to obtain cgroups`).
 * @returns The text, or `null` when the file does not exist.
 * @throws {AttestorError} `PERMISSION_DENIED` when the OS refuses access, `INTERNAL` for any other read error
 * or an oversized file; the message names the file.
 */
export async function readBoundedText(
  path: string,
  maxBytes: number,
  describe: string,
): Promise<string | null> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw osError(err, path, describe);
  }
  try {
    const chunks: Uint8Array[] = [];
    let total = 0;
    const buf = new Uint8Array(Math.min(64 * 1024, maxBytes + 1));
    for (;;) {
      const n = await file.read(buf);
      if (n === null) break;
      total += n;
      if (total > maxBytes) {
        throw new AttestorError("INTERNAL", `${describe}: ${quote(path)} is larger than ${maxBytes} bytes`);
      }
      chunks.push(buf.slice(0, n));
    }
    const bytes = chunks.length === 1 ? chunks[0] : concatBytes(chunks, total);
    return decoder.decode(bytes);
  } catch (err) {
    if (err instanceof AttestorError) throw err;
    if (err instanceof Deno.errors.NotFound) return null; // ESRCH-style races surface as NotFound on /proc
    throw osError(err, path, describe);
  } finally {
    file.close();
  }
}

function osError(err: unknown, path: string, describe: string): AttestorError {
  const text = err instanceof Error ? err.message : String(err);
  const code = err instanceof Deno.errors.PermissionDenied || err instanceof Deno.errors.NotCapable
    ? "PERMISSION_DENIED"
    : "INTERNAL";
  return new AttestorError(code, `${describe}: reading ${quote(path)}: ${text}`, { cause: err });
}

/**
 * Whether `path` exists and is a directory.
 *
 * @param path The path to check.
 * @returns `true` for a directory, `false` when nothing is there.
 * @throws {AttestorError} `PERMISSION_DENIED` or `INTERNAL` when the check itself fails.
 */
export async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) return false;
    throw osError(err, path, "unable to inspect process");
  }
}
