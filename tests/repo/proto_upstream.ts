/**
 * The check behind tests/repo/proto_upstream_test.ts: every `.proto` file is listed in `proto/UPSTREAM.md`
 * with the git blob id of the upstream file it copies, and its bytes still have that blob id.
 *
 * @module
 */

import { createHash } from "node:crypto";

/** One row of the `proto/UPSTREAM.md` table. */
export interface UpstreamEntry {
  /** Path in this repository, e.g. `proto/plugin/grpc_stdio.proto`. */
  readonly file: string;
  /** `owner/name` on GitHub. */
  readonly repository: string;
  /** The upstream commit (40 hex digits). */
  readonly commit: string;
  /** Path in the upstream repository. */
  readonly upstreamPath: string;
  /** The git blob id of the upstream file at that commit. */
  readonly blob: string;
}

/**
 * The git blob id of some bytes: what `git hash-object` prints (SHA-1 of `blob <length>\0<bytes>`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gitBlobId } from "./proto_upstream.ts";
 * assert.equal(gitBlobId(new TextEncoder().encode("hello\n")), "ce013625030ba8dba906f756967f9e9ca394464a");
 * ```
 *
 * @param bytes The file content.
 * @returns 40 lowercase hex digits.
 */
export function gitBlobId(bytes: Uint8Array): string {
  return createHash("sha1").update(`blob ${bytes.length}\0`).update(bytes).digest("hex");
}

const ROW = /^\|\s*`([^`]+)`\s*\|\s*`([^`]+)`\s*\|\s*`([^`]+)`\s*\|\s*`([^`]+)`\s*\|\s*`([^`]+)`\s*\|\s*$/;
const HEX40 = /^[0-9a-f]{40}$/;

/**
 * Reads the table of `proto/UPSTREAM.md`: every row whose first cell is a backquoted path. A row that starts
 * like one but does not have five backquoted cells, or whose commit or blob is not 40 hex digits, is an
 * error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseUpstreamTable } from "./proto_upstream.ts";
 * const c = "1".repeat(40), b = "2".repeat(40);
 * const [e] = parseUpstreamTable(`| \`proto/a.proto\` | \`o/r\` | \`${c}\` | \`a.proto\` | \`${b}\` |`);
 * assert.equal(e.repository, "o/r");
 * ```
 *
 * @param markdown The file's text.
 * @returns The rows, in order.
 * @throws {Error} On a malformed row, naming its line.
 */
export function parseUpstreamTable(markdown: string): UpstreamEntry[] {
  const entries: UpstreamEntry[] = [];
  markdown.split("\n").forEach((line, i) => {
    if (!/^\|\s*`/.test(line)) return;
    const m = ROW.exec(line);
    if (m === null) throw new Error(`UPSTREAM.md line ${i + 1}: expected five \`quoted\` cells`);
    const [, file, repository, commit, upstreamPath, blob] = m;
    if (!HEX40.test(commit) || !HEX40.test(blob)) {
      throw new Error(`UPSTREAM.md line ${i + 1}: commit and blob must be 40 lowercase hex digits`);
    }
    entries.push({ file, repository, commit, upstreamPath, blob });
  });
  return entries;
}

/**
 * Compares the `.proto` files with the table.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkProtoFiles, gitBlobId } from "./proto_upstream.ts";
 * const bytes = new TextEncoder().encode('syntax = "proto3";\n');
 * const entry = { file: "proto/a.proto", repository: "o/r", commit: "1".repeat(40), upstreamPath: "a.proto", blob: gitBlobId(bytes) };
 * assert.deepEqual(checkProtoFiles([entry], new Map([["proto/a.proto", bytes]])), []);
 * ```
 *
 * @param entries The table.
 * @param files Every `.proto` file of the repository, by path, with its bytes.
 * @returns One line per problem; empty when every file is listed once and matches its blob id.
 */
export function checkProtoFiles(
  entries: readonly UpstreamEntry[],
  files: ReadonlyMap<string, Uint8Array>,
): string[] {
  const problems: string[] = [];
  const listed = new Set<string>();
  for (const e of entries) {
    if (listed.has(e.file)) {
      problems.push(`${e.file}: listed more than once`);
      continue;
    }
    listed.add(e.file);
    const bytes = files.get(e.file);
    if (bytes === undefined) {
      problems.push(`${e.file}: listed but missing`);
      continue;
    }
    const actual = gitBlobId(bytes);
    if (actual !== e.blob) {
      problems.push(
        `${e.file}: blob ${actual} is not ${e.blob} (${e.repository}@${
          e.commit.slice(0, 12)
        }:${e.upstreamPath}); ` +
          "copy the upstream file verbatim",
      );
    }
  }
  for (const file of [...files.keys()].sort()) {
    if (!listed.has(file)) problems.push(`${file}: not listed in proto/UPSTREAM.md`);
  }
  return problems;
}
