/**
 * Every text the plugin echoes is bounded at the edge where it leaves the process (issue 9, finding 10): a
 * log line's message and fields, a gRPC status message, a Validate note, CLI error output. Each keeps at
 * most 4 KiB and states the original length.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { clipText, MAX_ECHO_BYTES, utf8Length } from "../../src/clip.ts";
import { createHclogLogger } from "../../src/log.ts";
import { asciiStatusMessage, toServiceError, validateNotes } from "../../src/plugin/grpc_status.ts";
import { AttestorError } from "../../src/errors.ts";
import { runLocate } from "../../src/cli/locate.ts";

const MIB = 1024 * 1024;

describe("clipText", () => {
  it("keeps short text and clips long text to 4 KiB of UTF-8, stating the original length", () => {
    assert.equal(MAX_ECHO_BYTES, 4096);
    assert.equal(clipText("a".repeat(4096)), "a".repeat(4096));
    for (const size of [4097, MIB, 20 * MIB]) {
      const out = clipText("k".repeat(size));
      assert.ok(out.endsWith(`…(truncated, ${size} bytes)`), out.slice(-40));
      assert.ok(utf8Length(out) <= 4096 && utf8Length(out) > 4000);
    }
  });

  it("counts UTF-8 bytes and never splits a character", () => {
    const emoji = "😀".repeat(3000); // 4 bytes each, two UTF-16 units each
    const out = clipText(emoji);
    assert.ok(out.endsWith("…(truncated, 12000 bytes)"));
    assert.ok(utf8Length(out) <= 4096);
    const head = out.slice(0, out.indexOf("…"));
    assert.equal(head, "😀".repeat(head.length / 2), "whole emoji only");
    assert.equal(utf8Length("é".repeat(2048)), 4096);
    assert.equal(clipText("é".repeat(2048)), "é".repeat(2048));
    assert.equal(utf8Length("\ud800"), 3, "a lone surrogate is written as U+FFFD");
  });

  it("clips to a smaller budget when asked", () => {
    assert.equal(clipText("x".repeat(200), 64), "x".repeat(39) + "…(truncated, 200 bytes)");
  });
});

describe("log lines", () => {
  it("clip the message, every string field and every field name, whatever their size", () => {
    const lines: string[] = [];
    const log = createHclogLogger({ write: (l) => lines.push(l) });
    const key = "L".repeat(2 * MIB);
    log.with({ base: key }).warn(`message ${key}`, {
      error: `pod "u": metadata.labels[${key}]`,
      [key]: 1,
      n: 7,
    });
    assert.equal(lines.length, 1);
    assert.ok(lines[0].length < 5 * 4200, `a line of ${lines[0].length} characters`);
    const entry = JSON.parse(lines[0]);
    assert.ok(entry["@message"].endsWith(`…(truncated, ${2 * MIB + 8} bytes)`));
    assert.ok(entry.base.endsWith(`…(truncated, ${2 * MIB} bytes)`));
    assert.ok(entry.error.startsWith('pod "u": metadata.labels[LLL'));
    assert.ok(entry.error.endsWith(`…(truncated, ${2 * MIB + 26} bytes)`));
    assert.equal(entry.n, 7);
    const longName = Object.keys(entry).find((k) => k.startsWith("LLL"))!;
    assert.ok(longName.endsWith(`…(truncated, ${2 * MIB} bytes)`));
  });
});

describe("gRPC status messages and Validate notes", () => {
  it("a status message is at most 4096 ASCII characters and states the original UTF-8 length", () => {
    const err = toServiceError(new AttestorError("kubelet-rejected", `label ${"é".repeat(MIB)}`));
    assert.equal(err.details.length, 4096);
    assert.ok(err.details.endsWith(`...(truncated, ${2 * MIB + 6} bytes)`));
    assert.ok(/^[\x20-\x7e]*$/.test(err.details));
    assert.equal(asciiStatusMessage("short"), "short");
  });

  it("each Validate note is clipped to 4 KiB with its length; short notes stay whole", () => {
    const notes = validateNotes(["fine", "n".repeat(3 * MIB)]);
    assert.equal(notes[0], "fine");
    assert.ok(notes[1].endsWith(`…(truncated, ${3 * MIB} bytes)`));
    assert.ok(utf8Length(notes[1]) <= 4096);
  });
});

describe("CLI error output", () => {
  it("k8s-attestor locate prints a clipped error for a huge argument", async () => {
    let out = "";
    const code = await runLocate(["--pid", "1".repeat(MIB)], { stdout: (s) => (out += s) });
    assert.equal(code, 1);
    const { error } = JSON.parse(out);
    assert.ok(utf8Length(error) <= 4096, `an error of ${error.length} characters`);
  });
});
