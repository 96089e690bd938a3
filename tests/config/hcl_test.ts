import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { isJsonText, parseConfigText } from "../../src/config/hcl.ts";

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

  it("leaves Error.stackTraceLimit as it was (the GopherJS prelude sets it to Infinity)", () => {
    assert.notEqual(Error.stackTraceLimit, Infinity);
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
