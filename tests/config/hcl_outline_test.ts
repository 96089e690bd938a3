/**
 * The HCL outline against the real parser (hashicorp/hcl v1 under GopherJS): it must accept what the parser
 * accepts (except values the parser silently drops), and the key-renaming parse built on it must give the
 * tree the plain parse gives whenever no key repeats. Plus the quirks of hcl v1 it has to follow.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { type HclLimits, outlineHcl } from "../../src/config/hcl_outline.ts";
import { type ConfigNode, parseConfigText } from "../../src/config/hcl.ts";
import { type JsonValue, readJson } from "../../src/config/json.ts";
import { rng } from "../_rng.ts";
import { mutate } from "./_mutate.ts";

const realParse: (text: string) => string = createRequire(import.meta.url)("js-hcl-parser").parse;
const LIMITS: HclLimits = {
  maxDepth: 32,
  maxKeys: 1000,
  maxListItems: 1000,
  maxTokenBytes: 65536,
  maxTokens: 10000,
};

const SEEDS = [
  'a = 1\nb "c" { d = [1, 2.5, "x", true] }\ne = { f = "g" }',
  "x = [{a=1},{b=2}]\ny = <<EOF\nhello\nEOF\nz = <<-T\n  in\n  T\n",
  '"q\\tk" = "v${a}"\n# c\n/* d */ k2 = -3\nl = [[1] 2]',
  'experimental {\n  sigstore {\n    rekor_url = "https://r"\n    allowed_subjects_list {\n' +
  '      "https://i" = ["a@b.c"]\n    }\n  }\n}',
  'a = 0x1F, b = 077, c = .5e3, d = 1e5\r\ne = "${"}"}"',
];
const PIECES = [
  "{",
  "}",
  "[",
  "]",
  "=",
  '"',
  ",",
  "\n",
  "\r\n",
  " ",
  "#",
  "//",
  "/*",
  "*/",
  "<<",
  "<<-",
  "EOF",
  "T",
  "\\",
  "\\t",
  "0",
  "9",
  "0x",
  "-",
  ".",
  "e",
  "x",
  "true",
  "${",
  "é",
  "\u0000",
  "a.b",
  "k-1",
  "+",
];

/** The tree the plain parse (keys not renamed) gives, built the way the config layer used to. */
function plainTree(json: string): unknown {
  const r = readJson(json, { maxDepth: 1000 });
  assert.ok(r.ok && r.value.t === "object");
  const node = (v: JsonValue): unknown => {
    switch (v.t) {
      case "string":
      case "bool":
        return { kind: v.t, value: v.value };
      case "number":
        return { kind: "number", text: v.text };
      case "null":
        return { kind: "null" };
      case "array":
        return { kind: "list", items: v.items.map(node) };
      case "object": {
        const entries: unknown[] = [];
        for (const [key, x] of v.members) {
          if (x.t === "array" && x.items.length > 0 && x.items.every((i) => i.t === "object")) {
            for (const item of x.items) entries.push({ key, value: node(item) });
          } else entries.push({ key, value: node(x) });
        }
        return { kind: "object", entries };
      }
    }
  };
  return node(r.value);
}

function withoutLines(n: ConfigNode): unknown {
  if (n.kind === "object") {
    return { kind: "object", entries: n.entries.map((e) => ({ key: e.key, value: withoutLines(e.value) })) };
  }
  if (n.kind === "list") return { kind: "list", items: n.items.map(withoutLines) };
  return n;
}

function hasRepeatedKey(n: ConfigNode): boolean {
  if (n.kind === "object") {
    const keys = n.entries.map((e) => e.key);
    return new Set(keys).size !== keys.length || n.entries.some((e) => hasRepeatedKey(e.value));
  }
  return n.kind === "list" && n.items.some(hasRepeatedKey);
}

describe("HCL outline against the real parser", () => {
  it("agrees on 4000 mutated texts (seeded)", () => {
    const r = rng(20260115);
    const seen = { bothValid: 0, sameTree: 0, bothInvalid: 0 };
    for (let i = 0; i < 4000; i++) {
      const text = mutate(r, SEEDS[i % SEEDS.length], { pieces: PIECES, maxEdits: 3 });
      if (text.trimStart().startsWith("{")) continue; // JSON mode
      const real = realParse(text);
      const realOk = !real.startsWith("unable to ");
      const outline = outlineHcl(text.replaceAll("\r\n", "\n"), LIMITS);
      const at = `case ${i}: ${JSON.stringify(text)} → ${real.slice(0, 120)}`;
      assert.notEqual(outline.kind, "limit", at);
      if (!realOk && outline.kind !== "ok") seen.bothInvalid++;
      if (realOk && outline.kind === "syntax") {
        // hcl v1 ignores an error inside a block when the bad token is a `}` a later `}` balances, and drops
        // the item; the outline refuses that instead (the only way it may refuse what the parser accepts).
        assert.equal(text.replaceAll("\r\n", "\n")[outline.offset], "}", `${at}: ${outline.message}`);
      }
      if (outline.kind !== "ok") continue;
      const parsed = parseConfigText(text);
      if (!realOk) {
        // Valid grammar, but a value hcl v1 cannot decode (a float like "1e"), or a key repeated with two
        // kinds of value (which the plain parse cannot merge): refused either way.
        assert.ok(!parsed.ok || hasRepeatedKey(parsed.root), at);
        continue;
      }
      seen.bothValid++;
      assert.ok(parsed.ok, `${at}: ${!parsed.ok && parsed.problem}`);
      if (hasRepeatedKey(parsed.root)) continue; // the plain parse keeps only one of them
      assert.deepEqual(withoutLines(parsed.root), plainTree(real), at);
      seen.sameTree++;
    }
    // The mutations must exercise both outcomes, or the agreement says little.
    assert.ok(seen.sameTree > 300 && seen.bothInvalid > 2000, JSON.stringify(seen));
  });
});

describe("HCL outline: what hcl v1 does that the outline must know", () => {
  const outline = (text: string) => outlineHcl(text, LIMITS);

  it("finds keys in blocks, labels, objects and lists of objects, never in values or comments", () => {
    const text = 'a = "b = 1" # c = 2\nd "e" { f = [{ g = 1 }, { "h" = <<EOT\ni = 1\nEOT\n }] }';
    const r = outline(text);
    assert.equal(r.kind, "ok");
    assert.deepEqual(
      r.kind === "ok" && r.keys.map((k) => text.slice(k.start, k.end)),
      ["a", "d", '"e"', "f", "g", '"h"'],
    );
  });

  it("records where the items of a list value start", () => {
    const text = "x = [{a=1},\n{b=2}]";
    const r = outline(text);
    assert.ok(r.kind === "ok");
    assert.deepEqual(r.keys[0].itemStarts, [5, 12]);
  });

  it("refuses values hcl v1 silently drops", () => {
    assert.deepEqual(outline("a = 1\nb ="), {
      kind: "dropped",
      offset: 8,
      message: "expected a value after '=', found the end of the input",
    });
    assert.deepEqual(outline("a { b = } }"), {
      kind: "dropped",
      offset: 6,
      message: "expected a value after '=', found '}'",
    });
    assert.equal(realParse("a { b = } }").replace(/\s+/g, ""), '{"a":[{}]}', "hcl v1 drops b");
  });

  it("follows the scanner's token boundaries (numbers, heredocs, interpolation)", () => {
    const cases: [string, "ok" | "syntax"][] = [
      ['a = "${f("x")}"', "ok"], // quotes inside ${ } do not end the string
      ["a = .5", "ok"],
      ["a = .5e3", "syntax"], // hcl v1 scans ".5e" and then "3"
      ["a = 1.5e3", "ok"],
      ["a = 0x1F, b = 08.5", "ok"],
      ["a = 0x", "syntax"],
      ["a=[1,,2]", "ok"],
      ["a = [[1] 2]", "ok"], // no comma needed after a nested list
      ["a = [1 2]", "syntax"],
      ["a = <<-EOF\nx\n EOF\n", "ok"],
    ];
    for (const [text, kind] of cases) {
      assert.equal(outline(text).kind, kind, text);
      assert.equal(realParse(text).startsWith("unable to parse JSON: At"), kind === "syntax", text);
    }
    // `<<-EOF` needs the terminator line to be at least as long as "-EOF" (a quirk of hcl v1).
    assert.equal(outline("a = <<-EOF\nx\nEOF\n").kind, "syntax");
    assert.ok(realParse("a = <<-EOF\nx\nEOF\n").includes("heredoc not terminated"));
  });

  it("checks the limits on the whole token stream, also after a syntax error", () => {
    assert.equal(outline("a = 1 ,, \nb = " + "[".repeat(40)).kind, "limit");
    assert.equal(outline("} " + "{".repeat(40)).kind, "limit");
    assert.deepEqual(outline("a = [" + "1,".repeat(1001) + "]"), {
      kind: "limit",
      offset: 2005,
      message: "more than 1000 list items",
    });
  });
});
