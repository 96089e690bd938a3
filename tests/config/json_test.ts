import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { type JsonValue, lineColumnAt, MAX_JSON_DEPTH, readJson } from "../../src/config/json.ts";
import { rng as mulberry32 } from "../_rng.ts";

/** Converts the reader's value to what JSON.parse gives (last duplicate wins). */
function toPlain(v: JsonValue): unknown {
  switch (v.t) {
    case "string":
    case "bool":
      return v.value;
    case "number":
      return Number(v.text);
    case "null":
      return null;
    case "array":
      return v.items.map(toPlain);
    case "object":
      return Object.fromEntries(v.members.map(([k, x]) => [k, toPlain(x)]));
  }
}

function randomValue(rand: () => number, depth: number): unknown {
  const pick = Math.floor(rand() * (depth > 4 ? 5 : 7));
  switch (pick) {
    case 0:
      return null;
    case 1:
      return rand() < 0.5;
    case 2:
      return [0, -1, 1.5, 1e21, -2.5e-7, 123456789, 9007199254740993][Math.floor(rand() * 7)];
    case 3:
    case 4: {
      const chars = ['"', "\\", "\n", "\u0001", "é", "\u{1F600}", "a", "/", "\u2028", " "];
      let s = "";
      const n = Math.floor(rand() * 6);
      for (let i = 0; i < n; i++) s += chars[Math.floor(rand() * chars.length)];
      return s;
    }
    case 5:
      return Array.from({ length: Math.floor(rand() * 4) }, () => randomValue(rand, depth + 1));
    default:
      return Object.fromEntries(
        Array.from(
          { length: Math.floor(rand() * 4) },
          (_, i) => [`k${i}${rand() < 0.2 ? "é" : ""}`, randomValue(rand, depth + 1)],
        ),
      );
  }
}

describe("readJson", () => {
  it("agrees with JSON.parse on random documents (400 cases, seeded)", () => {
    const rand = mulberry32(1234);
    for (let i = 0; i < 400; i++) {
      const value = { root: randomValue(rand, 0) };
      const text = JSON.stringify(value, null, i % 3 === 0 ? 2 : undefined);
      const r = readJson(text);
      assert.ok(r.ok, `case ${i}: ${text}`);
      assert.deepEqual(toPlain(r.value), JSON.parse(text), `case ${i}`);
    }
  });

  it("accepts exactly what JSON.parse accepts on mutated documents (1500 cases, seeded)", () => {
    const rand = mulberry32(99);
    const alphabet = [
      '"',
      "{",
      "}",
      "[",
      "]",
      ":",
      ",",
      "\\",
      " ",
      "1",
      "-",
      ".",
      "e",
      "t",
      "n",
      "u",
      "x",
      "\n",
      "\t",
      "\u0000",
    ];
    for (let i = 0; i < 1500; i++) {
      let text = JSON.stringify({ a: randomValue(rand, 0), b: [1, "x", true] });
      const edits = 1 + Math.floor(rand() * 3);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(rand() * (text.length + 1));
        const op = Math.floor(rand() * 3);
        const ch = alphabet[Math.floor(rand() * alphabet.length)];
        if (op === 0) text = text.slice(0, at) + ch + text.slice(at);
        else if (op === 1) text = text.slice(0, at) + text.slice(at + 1);
        else text = text.slice(0, at) + ch + text.slice(at + 1);
      }
      let parsed = true;
      try {
        JSON.parse(text);
      } catch {
        parsed = false;
      }
      const r = readJson(text);
      assert.equal(r.ok, parsed, `case ${i}: ${JSON.stringify(text)}`);
      if (r.ok) assert.deepEqual(toPlain(r.value), JSON.parse(text));
    }
  });

  it("keeps duplicate keys, number text and where each key and value starts", () => {
    const r = readJson('{"a": 1.50, "a": [1e2]}');
    assert.deepEqual(r, {
      ok: true,
      value: {
        t: "object",
        at: 0,
        members: [["a", { t: "number", text: "1.50", at: 6 }, 1], ["a", {
          t: "array",
          items: [{ t: "number", text: "1e2", at: 18 }],
          at: 17,
        }, 12]],
      },
    });
  });

  it("reports the line and column of an error without echoing the input", () => {
    assert.deepEqual(readJson('{\n  "secret": "tok\u0001en"\n}'), {
      ok: false,
      line: 2,
      column: 17,
      message: "control character in string",
    });
    assert.deepEqual(readJson('{"a": tru}'), {
      ok: false,
      line: 1,
      column: 7,
      message: "expected a value, found 't'",
    });
    assert.deepEqual(readJson('{"a" 1}'), {
      ok: false,
      line: 1,
      column: 6,
      message: "expected ':' after a key, found '1'",
    });
    assert.deepEqual(readJson('{"a": "x'), {
      ok: false,
      line: 1,
      column: 7,
      message: "string not terminated",
    });
    assert.deepEqual(readJson(""), {
      ok: false,
      line: 1,
      column: 1,
      message: "expected a value, found end of input",
    });
  });

  it("bounds nesting instead of overflowing the stack", () => {
    const deep = "[".repeat(100_000) + "]".repeat(100_000);
    const r = readJson(deep);
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.message === `nesting deeper than ${MAX_JSON_DEPTH} levels`);
    assert.ok(readJson("[".repeat(MAX_JSON_DEPTH) + "]".repeat(MAX_JSON_DEPTH)).ok);
  });

  it("lineColumnAt counts lines and columns from 1", () => {
    assert.deepEqual(lineColumnAt("ab\ncd", 0), { line: 1, column: 1 });
    assert.deepEqual(lineColumnAt("ab\ncd", 4), { line: 2, column: 2 });
    assert.deepEqual(lineColumnAt("ab", 99), { line: 1, column: 3 });
  });
});
