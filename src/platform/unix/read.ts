/**
 * Bounded reads of `/proc` files, mapping OS errors to {@linkcode AttestorError}s that name the file.
 *
 * @module
 */

import { AttestorError, errorMessage } from "../../errors.ts";
import { quote } from "./lines.ts";
import { FileTooLargeError, readBoundedTextFile, readRegularTextFileSync } from "../../io.ts";

/**
 * Reads a whole text file of at most `maxBytes` bytes with the shared bounded reader
 * ({@linkcode readBoundedTextFile}: chunks until end of file, as `/proc` files report a size of 0; one byte
 * past the limit is an error, so hostile input costs at most `maxBytes` of memory). Invalid UTF-8 is replaced
 * with U+FFFD, which is neither a hex digit nor a word character, so it cannot create or hide an ID. A
 * regular file (every `/proc` file) is read synchronously ({@linkcode readRegularTextFileSync}: several times
 * cheaper than the asynchronous reads); anything else, and every failure, goes the asynchronous way, which
 * gives the text or the error.
 *
 * @param path The file.
 * @param maxBytes The largest accepted size.
 * @param describe Prefix of error messages (for example `unable to obtain cgroups`).
 * @returns The text, or `null` when the file does not exist.
 * @throws {AttestorError} `os-denied` when the OS refuses access, `os-failed` for any other read error,
 * `malformed-input` for an oversized file; the message names the file.
 */
export async function readBoundedText(
  path: string,
  maxBytes: number,
  describe: string,
): Promise<string | null> {
  const text = readRegularTextFileSync(path, maxBytes);
  if (text !== undefined) return text;
  try {
    return await readBoundedTextFile(path, maxBytes);
  } catch (err) {
    if (err instanceof FileTooLargeError) {
      throw new AttestorError(
        "malformed-input",
        `${describe}: ${quote(path)} is larger than ${maxBytes} bytes`,
      );
    }
    if (err instanceof Deno.errors.NotFound) return null; // also ESRCH-style races on /proc while reading
    throw osError(err, path, describe);
  }
}

function osError(err: unknown, path: string, describe: string): AttestorError {
  const text = errorMessage(err);
  const reason = err instanceof Deno.errors.PermissionDenied || err instanceof Deno.errors.NotCapable
    ? "os-denied"
    : "os-failed";
  return new AttestorError(reason, `${describe}: reading ${quote(path)}: ${text}`, { cause: err });
}

/**
 * Whether `path` exists and is a directory.
 *
 * @param path The path to check.
 * @returns `true` for a directory, `false` when nothing is there.
 * @throws {AttestorError} `os-denied` or `os-failed` when the check itself fails.
 */
// deno-lint-ignore require-await -- async on purpose: a failed check is a rejection, never a synchronous throw
export async function isDirectory(path: string): Promise<boolean> {
  try {
    // Synchronous: stat opens nothing, so it cannot block on a FIFO, and it costs a fraction of Deno.stat.
    return Deno.statSync(path).isDirectory;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) return false;
    throw osError(err, path, "unable to inspect process");
  }
}
