/**
 * Line splitting with the limits of Go's `bufio.Scanner`, shared by the cgroup and mountinfo parsers.
 *
 * @module
 */

import type { AttestorError } from "../../errors.ts";

/**
 * The longest accepted line, in UTF-8 bytes, a trailing `\r` included. Go's `bufio.Scanner` (which SPIRE
 * reads `/proc/<pid>/cgroup` with) fails with `token too long` on longer lines; we apply the same bound to
 * both files so that hostile input cannot make the parser do unbounded work per line.
 */
export const MAX_LINE_BYTES = 64 * 1024 - 1;

/** One line of a text file, with its 1-based number. */
export interface NumberedLine {
  /** 1-based line number in the file. */
  readonly number: number;
  /** The line without its `\n` and without one trailing `\r`. */
  readonly text: string;
}

const encoder = new TextEncoder();

/** UTF-8 length of `line`, computed only when the UTF-16 length alone cannot decide the bound. */
function exceedsLineLimit(line: string): boolean {
  if (line.length > MAX_LINE_BYTES) return true; // every UTF-16 unit is at least one UTF-8 byte
  if (line.length * 3 <= MAX_LINE_BYTES) return false; // at most three UTF-8 bytes per UTF-16 unit
  return encoder.encode(line).length > MAX_LINE_BYTES;
}

/**
 * Splits `text` into lines the way Go's `bufio.ScanLines` does: on `\n`, dropping one trailing `\r` per line,
 * with no empty token after a final newline. Empty lines in the middle are kept (callers decide what they
 * mean).
 *
 * @example Go scanner semantics
 * ```ts
 * import assert from "node:assert/strict";
 * import { AttestorError } from "../../errors.ts";
 * import { splitLines } from "./lines.ts";
 * const lines = splitLines("a\r\n\nb\n", (n, why) => new AttestorError("malformed-input", `${n}: ${why}`));
 * assert.deepEqual(lines.map((l) => l.text), ["a", "", "b"]);
 * ```
 *
 * @param text The whole file.
 * @param fail Builds the error thrown for a line over {@linkcode MAX_LINE_BYTES}.
 * @returns The lines, numbered from 1.
 * @throws {AttestorError} The error built by `fail` for an over-long line.
 */
export function splitLines(
  text: string,
  fail: (lineNumber: number, reason: string) => AttestorError,
): NumberedLine[] {
  if (text === "") return [];
  const raw = text.split("\n");
  if (raw[raw.length - 1] === "") raw.pop();
  const out: NumberedLine[] = new Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    let line = raw[i];
    if (exceedsLineLimit(line)) {
      throw fail(i + 1, `line is longer than ${MAX_LINE_BYTES} bytes (bufio.Scanner: token too long)`);
    }
    if (line.endsWith("\r")) line = line.slice(0, -1);
    out[i] = { number: i + 1, text: line };
  }
  return out;
}

/**
 * Renders a string the way Go's `%q` does for the ASCII-printable case, and escapes everything else so that
 * the result is a single printable line. Used to quote input in error messages.
 *
 * @param s The string to quote.
 * @returns The quoted string.
 */
export function quote(s: string): string {
  return JSON.stringify(s).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/**
 * Shortens `s` to at most `max` characters for an error message, marking the cut.
 *
 * @param s The text.
 * @param max The most characters kept.
 * @returns `s`, or its head followed by `…(N more)`.
 */
export function clip(s: string, max = 512): string {
  return s.length <= max ? s : `${s.slice(0, max)}…(${s.length - max} more)`;
}
