/**
 * Parser for `/proc/<pid>/mountinfo` (proc(5)), keeping only what the container locator needs: each mount's
 * root and filesystem type.
 *
 * @module
 */

import { AttestorError } from "../../errors.ts";
import { clip, quote, splitLines } from "./lines.ts";

/** The most bytes read from a mountinfo file (a busy node's host mount table is a few MiB at most). */
export const MAX_MOUNTINFO_FILE_BYTES = 16 * 1024 * 1024;

/** One mount of a mountinfo file. */
export interface MountEntry {
  /** 1-based line number in the file. */
  readonly line: number;
  /** Field 4: the path inside the mounted filesystem that forms the mount's root. Not octal-unescaped. */
  readonly root: string;
  /** The first non-empty field after the `-` separator. */
  readonly fsType: string;
}

/**
 * Builds the error for a malformed mountinfo file, with upstream's prefix
 * (`failed to parse mount info at "<path>": `) and the line number.
 *
 * @param file The file path shown to the operator.
 * @param line The 1-based line number.
 * @param reason What is wrong.
 * @returns A `malformed-input` {@linkcode AttestorError}.
 */
export function mountinfoFileError(file: string, line: number, reason: string): AttestorError {
  return new AttestorError(
    "malformed-input",
    `failed to parse mount info at ${quote(file)}: line ${line}: ${reason}`,
  );
}

/**
 * Parses the text of a mountinfo file. Empty lines are skipped. Fields are split on single spaces, so an
 * empty mount source (two spaces) is tolerated; the first field that is exactly `-` is the separator, and it
 * must have at least 6 fields before it and a non-empty filesystem type after it.
 *
 * @example One cgroup2 mount
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseMountinfo } from "./mountinfo.ts";
 * const [m] = parseMountinfo("30 25 0:26 /kubepods /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", "/proc/1/mountinfo");
 * assert.equal(m.root, "/kubepods");
 * assert.equal(m.fsType, "cgroup2");
 * ```
 *
 * @param text The file content.
 * @param file The file path, for error messages.
 * @returns The mounts, in file order.
 * @throws {AttestorError} `malformed-input`, naming the file and the line.
 */
export function parseMountinfo(text: string, file: string): MountEntry[] {
  const lines = splitLines(text, (n, why) => mountinfoFileError(file, n, why));
  const mounts: MountEntry[] = [];
  for (const { number, text: line } of lines) {
    if (line === "") continue;
    const fields = line.split(" ");
    const sep = fields.indexOf("-");
    if (sep < 0) {
      throw mountinfoFileError(file, number, `missing separator in mountinfo line: ${clip(line)}`);
    }
    if (sep < 6) {
      throw mountinfoFileError(
        file,
        number,
        `expected at least 6 fields before separator in mountinfo line: ${clip(line)}`,
      );
    }
    let fsType = "";
    for (let i = sep + 1; i < fields.length; i++) {
      if (fields[i] !== "") {
        fsType = fields[i];
        break;
      }
    }
    if (fsType === "") {
      throw mountinfoFileError(file, number, `missing filesystem type in mountinfo line: ${clip(line)}`);
    }
    mounts.push({ line: number, root: fields[3], fsType });
  }
  return mounts;
}

/**
 * Whether a mount is one the locator looks at: a `cgroup` or `cgroup2` filesystem whose root is not `/`
 * (a root of `/` names no container and would trigger the §2.2.4 conflict quirk, upstream #6462).
 *
 * @param mount A parsed mount.
 * @returns `true` when the mount's root should go through the extractor.
 */
export function isCandidateCgroupMount(mount: MountEntry): boolean {
  return (mount.fsType === "cgroup" || mount.fsType === "cgroup2") && mount.root !== "/";
}
