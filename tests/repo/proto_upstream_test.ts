/**
 * The `.proto` files are verbatim copies of upstream files, each recorded with repository, commit, path and
 * git blob id in `proto/UPSTREAM.md`. First the check on small inputs, then on the repository.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { checkProtoFiles, gitBlobId, parseUpstreamTable, type UpstreamEntry } from "./proto_upstream.ts";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const COMMIT = "0123456789abcdef0123456789abcdef01234567";
const encode = (s: string) => new TextEncoder().encode(s);

function entry(file: string, text: string): UpstreamEntry {
  return {
    file,
    repository: "owner/repo",
    commit: COMMIT,
    upstreamPath: `x/${file}`,
    blob: gitBlobId(encode(text)),
  };
}

describe("gitBlobId", () => {
  it("is what git hash-object prints", () => {
    assert.equal(gitBlobId(new Uint8Array()), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
    assert.equal(gitBlobId(encode("hello\n")), "ce013625030ba8dba906f756967f9e9ca394464a");
  });
});

describe("parseUpstreamTable", () => {
  it("reads the rows and ignores the header, separator and prose", () => {
    const md = [
      "# Sources",
      "",
      "| File | Repository | Commit | Upstream path | Blob |",
      "| ---- | ---------- | ------ | ------------- | ---- |",
      `| \`proto/a.proto\` | \`o/r\` | \`${COMMIT}\` | \`p/a.proto\` | \`${"f".repeat(40)}\` |`,
      "",
      "Notes with `code`.",
    ].join("\n");
    assert.deepEqual(parseUpstreamTable(md), [
      {
        file: "proto/a.proto",
        repository: "o/r",
        commit: COMMIT,
        upstreamPath: "p/a.proto",
        blob: "f".repeat(40),
      },
    ]);
  });

  it("rejects a row with a missing cell or a short commit", () => {
    assert.throws(
      () => parseUpstreamTable(`| \`proto/a.proto\` | \`o/r\` | \`${COMMIT}\` | \`p/a.proto\` |`),
      /line 1: expected five `quoted` cells/,
    );
    assert.throws(
      () =>
        parseUpstreamTable(`x\n| \`proto/a.proto\` | \`o/r\` | \`abc123\` | \`p/a.proto\` | \`${COMMIT}\` |`),
      /line 2: commit and blob must be 40 lowercase hex digits/,
    );
  });
});

describe("checkProtoFiles", () => {
  const text = 'syntax = "proto3";\npackage p;\n';

  it("accepts files that match their rows", () => {
    assert.deepEqual(
      checkProtoFiles([entry("proto/a.proto", text)], new Map([["proto/a.proto", encode(text)]])),
      [],
    );
  });

  it("reports a file that differs from upstream by one byte (a reformatted or hand-written copy)", () => {
    const problems = checkProtoFiles(
      [entry("proto/a.proto", text)],
      new Map([["proto/a.proto", encode(text.replace("\n", "\r\n"))]]),
    );
    assert.equal(problems.length, 1);
    assert.match(
      problems[0],
      /^proto\/a\.proto: blob [0-9a-f]{40} is not [0-9a-f]{40} \(owner\/repo@0123456789ab:x\//,
    );
  });

  it("reports unlisted, missing and twice-listed files", () => {
    const files = new Map([["proto/a.proto", encode(text)], ["proto/extra.proto", encode(text)]]);
    const rows = [
      entry("proto/a.proto", text),
      entry("proto/a.proto", text),
      entry("proto/gone.proto", text),
    ];
    assert.deepEqual(checkProtoFiles(rows, files), [
      "proto/a.proto: listed more than once",
      "proto/gone.proto: listed but missing",
      "proto/extra.proto: not listed in proto/UPSTREAM.md",
    ]);
  });
});

/** The `.proto` files under `dir` (relative to the repository), recursively, with their bytes. */
async function protoFiles(
  dir: string,
  out = new Map<string, Uint8Array>(),
): Promise<Map<string, Uint8Array>> {
  for await (const e of Deno.readDir(join(REPO_ROOT, dir))) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) await protoFiles(path, out);
    else if (e.name.endsWith(".proto")) out.set(path, await Deno.readFile(join(REPO_ROOT, path)));
  }
  return out;
}

describe("proto/", () => {
  it("holds only verbatim upstream files, each recorded in proto/UPSTREAM.md", async () => {
    const entries = parseUpstreamTable(await Deno.readTextFile(join(REPO_ROOT, "proto", "UPSTREAM.md")));
    const files = await protoFiles("proto");
    assert.ok(files.size > 0, "found the .proto files");
    assert.deepEqual(checkProtoFiles(entries, files), []);
  });
});
