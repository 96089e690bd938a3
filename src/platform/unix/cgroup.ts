/**
 * Parser for `/proc/<pid>/cgroup` (cgroups(7)): one `hierarchy-ID:controller-list:cgroup-path` entry per line,
 * for cgroup v1 (one line per hierarchy), v2 (`0::/path`) and hybrid layouts alike.
 *
 * @module
 */

import { AttestorError } from "../../errors.ts";
import { clip, quote, splitLines } from "./lines.ts";

/** The most bytes read from a cgroup file. Real files are a few hundred bytes to a few KiB. */
export const MAX_CGROUP_FILE_BYTES = 1024 * 1024;

/** One entry of a cgroup file. */
export interface CgroupEntry {
  /** 1-based line number in the file. */
  readonly line: number;
  /** The hierarchy ID (`0` for the v2 unified hierarchy). */
  readonly hierarchyId: string;
  /** The comma-separated controllers (empty for v2). */
  readonly controllers: string;
  /** The group path: everything after the second colon (it may contain colons). */
  readonly path: string;
}

/**
 * Builds the error for a malformed cgroup file. The message keeps upstream's prefix
 * (`unable to obtain cgroups: `) and names the file and the line.
 *
 * @param file The file path shown to the operator.
 * @param line The 1-based line number.
 * @param reason What is wrong.
 * @returns A `malformed-input` {@linkcode AttestorError}.
 */
export function cgroupFileError(file: string, line: number, reason: string): AttestorError {
  return new AttestorError(
    "malformed-input",
    `unable to obtain cgroups: ${quote(file)} line ${line}: ${reason}`,
  );
}

/**
 * Parses the text of a cgroup file. A line with fewer than two colons, including an empty line in the middle
 * of the file, is an error, as upstream; so is a line longer than 64 KiB. A trailing newline is fine.
 *
 * @example A hybrid file
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCgroupFile } from "./cgroup.ts";
 * const entries = parseCgroupFile("1:pids:/kubepods/x\n0::/\n", "/proc/1/cgroup");
 * assert.equal(entries.length, 2);
 * assert.equal(entries[1].path, "/");
 * ```
 *
 * @param text The file content.
 * @param file The file path, for error messages.
 * @returns The entries, in file order.
 * @throws {AttestorError} `malformed-input`, naming the file and the line.
 */
export function parseCgroupFile(text: string, file: string): CgroupEntry[] {
  const lines = splitLines(text, (n, why) => cgroupFileError(file, n, why));
  const entries: CgroupEntry[] = new Array(lines.length);
  for (let i = 0; i < lines.length; i++) {
    const { number, text: line } = lines[i];
    const first = line.indexOf(":");
    const second = first < 0 ? -1 : line.indexOf(":", first + 1);
    if (second < 0) {
      const fields = first < 0 ? 1 : 2;
      throw cgroupFileError(
        file,
        number,
        `invalid cgroup entry, contains ${fields} colon separated fields but expected at least 3: ${
          quote(clip(line))
        }`,
      );
    }
    entries[i] = {
      line: number,
      hierarchyId: line.slice(0, first),
      controllers: line.slice(first + 1, second),
      path: line.slice(second + 1),
    };
  }
  return entries;
}
