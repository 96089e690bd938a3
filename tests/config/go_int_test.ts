import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseGoInt } from "../../src/config/go_int.ts";

const syntax = (s: string) => ({
  ok: false,
  error: `strconv.ParseInt: parsing ${JSON.stringify(s)}: invalid syntax`,
});
const range = (s: string) => ({
  ok: false,
  error: `strconv.ParseInt: parsing ${JSON.stringify(s)}: value out of range`,
});

describe("parseGoInt (strconv.ParseInt(s, 0, 64))", () => {
  const good: [string, bigint][] = [
    ["0", 0n],
    ["10250", 10250n],
    ["+7", 7n],
    ["-7", -7n],
    ["0x10", 16n],
    ["0X1f", 31n],
    ["-0x10", -16n],
    ["0o17", 15n],
    ["017", 15n],
    ["0b101", 5n],
    ["1_000", 1000n],
    ["0x_1", 1n],
    ["00", 0n],
    ["9223372036854775807", (1n << 63n) - 1n],
    ["-9223372036854775808", -(1n << 63n)],
  ];
  for (const [s, v] of good) {
    it(`parses ${JSON.stringify(s)}`, () => assert.deepEqual(parseGoInt(s), { ok: true, value: v }));
  }
  const bad: [string, object][] = [
    ["", syntax("")],
    ["+", syntax("+")],
    ["-", syntax("-")],
    ["0x", syntax("0x")],
    ["08", syntax("08")],
    [" 1", syntax(" 1")],
    ["1 ", syntax("1 ")],
    ["1e3", syntax("1e3")],
    ["1.0", syntax("1.0")],
    ["_1", syntax("_1")],
    ["1__0", syntax("1__0")],
    ["1_", syntax("1_")],
    ["0b2", syntax("0b2")],
    ["\u212a", syntax("\u212a")], // KELVIN SIGN lowercases to "k" in JS; Go rejects it
    ["9223372036854775808", range("9223372036854775808")],
    ["-9223372036854775809", range("-9223372036854775809")],
    ["99999999999999999999999", range("99999999999999999999999")],
  ];
  for (const [s, want] of bad) {
    it(`rejects ${JSON.stringify(s)}`, () => assert.deepEqual(parseGoInt(s), want));
  }
});
