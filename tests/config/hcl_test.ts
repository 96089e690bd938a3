import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { isJsonText, parseConfigText } from "../../src/config/hcl.ts";
import { restoreGopherJsParse } from "../../src/config/hcl_parser.ts";

const num = (text: string) => ({ kind: "number", text });
const str = (value: string) => ({ kind: "string", value });
const obj = (...entries: { key: string; value: unknown; line: number }[]) => ({ kind: "object", entries });

describe("parseConfigText", () => {
  it("gives blocks and `= { }` objects the same shape", () => {
    const a = parseConfigText("x { y = 1 }");
    const b = parseConfigText("x = { y = 1 }");
    const c = parseConfigText('{"x": {"y": 1}}');
    const want = {
      ok: true,
      root: obj({ key: "x", value: obj({ key: "y", value: num("1"), line: 1 }), line: 1 }),
    };
    assert.deepEqual(a, want);
    assert.deepEqual(b, want);
    assert.deepEqual(c, want);
  });

  it("lists a repeated block once per occurrence with its line, in HCL and in JSON", () => {
    const want = {
      ok: true,
      root: obj({ key: "x", value: obj({ key: "a", value: num("1"), line: 1 }), line: 1 }, {
        key: "x",
        value: obj({ key: "b", value: str("s"), line: 2 }),
        line: 2,
      }),
    };
    assert.deepEqual(parseConfigText('x { a = 1 }\nx { b = "s" }'), want);
    assert.deepEqual(parseConfigText('x = [{ a = 1 },\n{ b = "s" }]'), want);
    assert.deepEqual(parseConfigText('{"x": [{"a": 1},\n {"b": "s"}]}'), want);
    assert.deepEqual(parseConfigText('{"x": {"a": 1},\n "x": {"b": "s"}}'), want);
  });

  it("keeps labels as nested keys and scalars, lists and bools exactly", () => {
    assert.deepEqual(parseConfigText('p "k8s" { on = true }\nl = ["a", 2, false, []]'), {
      ok: true,
      root: obj(
        {
          key: "l",
          value: {
            kind: "list",
            items: [str("a"), num("2"), { kind: "bool", value: false }, { kind: "list", items: [] }],
          },
          line: 2,
        },
        {
          key: "p",
          value: obj({
            key: "k8s",
            value: obj({ key: "on", value: { kind: "bool", value: true }, line: 1 }),
            line: 1,
          }),
          line: 1,
        },
      ),
    });
  });

  it("treats ${...} as literal text and decodes escapes", () => {
    assert.deepEqual(parseConfigText('a = "${HOME}\\t\\u00e9"'), {
      ok: true,
      root: obj({ key: "a", value: str("${HOME}\t\u00e9"), line: 1 }),
    });
  });

  it("does not let HCL v1 drop a trailing key without value", () => {
    assert.deepEqual(parseConfigText("a = 1\nb = # note\n"), {
      ok: false,
      problem:
        "unable to decode configuration: line 2, column 3: expected a value after '=', found the end of the input",
    });
  });

  it("keeps a key given twice in HCL (hcl v1 alone keeps only the last), each with its line", () => {
    const r = parseConfigText("a = 1\nb = 2\n\na = 3");
    assert.deepEqual(r, {
      ok: true,
      root: obj(
        { key: "a", value: num("1"), line: 1 },
        { key: "a", value: num("3"), line: 4 },
        { key: "b", value: num("2"), line: 2 },
      ),
    });
  });

  it("unquotes quoted keys exactly as hcl v1 does, escapes included", () => {
    const r = parseConfigText('"a\\tb" = 1\n"c${d}" = 2\n"\\u00e9" = 3');
    assert.ok(r.ok);
    assert.deepEqual(r.root.entries.map((e) => e.key), ["a\tb", "c${d}", "\u00e9"]);
  });

  it("leaves Error.stackTraceLimit as it was (the GopherJS prelude sets it to Infinity)", () => {
    assert.notEqual(Error.stackTraceLimit, Infinity);
  });
});

/** Calls `fn` with `depth` more stack frames in use (a stack overflow then hits at another point). */
function withFrames(depth: number, fn: () => unknown): unknown {
  return depth === 0 ? fn() : withFrames(depth - 1, fn);
}

describe("restoreGopherJsParse", () => {
  it("brings back a copy of js-hcl-parser whose runtime a stack overflow left half unwound", () => {
    // A private copy of the module (its own Go runtime), so the copy the config layer uses is not touched.
    const require = createRequire(import.meta.url);
    const path = require.resolve("js-hcl-parser");
    const shared = require.cache[path];
    const stackTraceLimit = Error.stackTraceLimit;
    delete require.cache[path];
    const copy: { parse: (text: string) => string } = require("js-hcl-parser");
    require.cache[path] = shared;
    Error.stackTraceLimit = stackTraceLimit;
    assert.equal(copy.parse("k = 1").replace(/\s+/g, ""), '{"k":1}');
    const overflow = "a = " + "{ b = ".repeat(10_000) + "1" + " }".repeat(10_000);
    // Whether an overflow leaves leftovers depends on where in the unwinding the stack runs out again: try
    // from several stack depths until it does (the restore then needs more than one probe).
    let repaired = 0;
    for (let frames = 0; frames < 600 && repaired < 3; frames += 7) {
      assert.throws(() => withFrames(frames, () => copy.parse(overflow)), RangeError);
      let calls = 0;
      const counted = (text: string) => {
        calls++;
        return copy.parse(text);
      };
      assert.equal(restoreGopherJsParse(counted), true, `after an overflow ${frames} frames deeper`);
      assert.equal(copy.parse("x = 2").replace(/\s+/g, ""), '{"x":2}');
      if (calls > 1) repaired++;
    }
    assert.ok(repaired > 0, "some overflow left the runtime needing repair");
  });
});

describe("isJsonText", () => {
  it("follows hcl.Decode: JSON when the first non-space character is {", () => {
    assert.equal(isJsonText('  \n\t{"a": 1}'), true);
    assert.equal(isJsonText("\u00a0{}"), true);
    assert.equal(isJsonText("# c\n{}"), false);
    assert.equal(isJsonText("a = {}"), false);
    assert.equal(isJsonText(""), false);
  });
});
