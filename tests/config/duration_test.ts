import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { goTimeQuote, parseGoDuration } from "../../src/config/duration.ts";

const NS = 1n;
const US = 1_000n;
const MS = 1_000_000n;
const S = 1_000_000_000n;
const M = 60n * S;
const H = 60n * M;
const MAX = (1n << 63n) - 1n;
const MIN = -(1n << 63n);

// Go's own table (src/time/time_test.go, parseDurationTests).
const GOOD: [string, bigint][] = [
  ["0", 0n],
  ["5s", 5n * S],
  ["30s", 30n * S],
  ["1478s", 1478n * S],
  ["-5s", -5n * S],
  ["+5s", 5n * S],
  ["-0", 0n],
  ["+0", 0n],
  ["5.0s", 5n * S],
  ["5.6s", 5n * S + 600n * MS],
  ["5.s", 5n * S],
  [".5s", 500n * MS],
  ["1.0s", 1n * S],
  ["1.00s", 1n * S],
  ["1.004s", 1n * S + 4n * MS],
  ["1.0040s", 1n * S + 4n * MS],
  ["100.00100s", 100n * S + 1n * MS],
  ["10ns", 10n * NS],
  ["11us", 11n * US],
  ["12\u00b5s", 12n * US],
  ["12\u03bcs", 12n * US],
  ["13ms", 13n * MS],
  ["14s", 14n * S],
  ["15m", 15n * M],
  ["16h", 16n * H],
  ["3h30m", 3n * H + 30n * M],
  ["10.5s4m", 4n * M + 10n * S + 500n * MS],
  ["-2m3.4s", -(2n * M + 3n * S + 400n * MS)],
  ["1h2m3s4ms5us6ns", 1n * H + 2n * M + 3n * S + 4n * MS + 5n * US + 6n * NS],
  ["39h9m14.425s", 39n * H + 9n * M + 14n * S + 425n * MS],
  ["52763797000ns", 52763797000n],
  ["0.3333333333333333333h", 20n * M],
  ["9007199254740993ns", (1n << 53n) + 1n],
  ["9223372036854775807ns", MAX],
  ["9223372036854775.807us", MAX],
  ["9223372036s854ms775us807ns", MAX],
  ["-9223372036854775808ns", MIN],
  ["-9223372036854775.808us", MIN],
  ["-9223372036s854ms775us808ns", MIN],
  ["-2562047h47m16.854775808s", MIN],
  ["0.100000000000000000000h", 6n * M],
  ["0.830103483285477580700h", 49n * M + 48n * S + 372539827n],
];

// Go's error table (parseDurationErrorTests), with the full error text.
const BAD: [string, string][] = [
  ["", 'time: invalid duration ""'],
  ["3", 'time: missing unit in duration "3"'],
  ["-", 'time: invalid duration "-"'],
  ["s", 'time: invalid duration "s"'],
  [".", 'time: invalid duration "."'],
  ["-.", 'time: invalid duration "-."'],
  [".s", 'time: invalid duration ".s"'],
  ["+.s", 'time: invalid duration "+.s"'],
  ["1d", 'time: unknown unit "d" in duration "1d"'],
  ["\uFFFD", 'time: invalid duration "\\xef\\xbf\\xbd"'],
  ["\uFFFD hello \uFFFD world", 'time: invalid duration "\\xef\\xbf\\xbd hello \\xef\\xbf\\xbd world"'],
  ["9223372036854775810ns", 'time: invalid duration "9223372036854775810ns"'],
  ["9223372036854775808ns", 'time: invalid duration "9223372036854775808ns"'],
  ["-9223372036854775809ns", 'time: invalid duration "-9223372036854775809ns"'],
  ["9223372036854776us", 'time: invalid duration "9223372036854776us"'],
  ["3000000h", 'time: invalid duration "3000000h"'],
  ["9223372036854775.808us", 'time: invalid duration "9223372036854775.808us"'],
  ["9223372036854ms775us808ns", 'time: invalid duration "9223372036854ms775us808ns"'],
  ["blah", 'time: invalid duration "blah"'],
  ["1 s", 'time: unknown unit " s" in duration "1 s"'],
  ["1S", 'time: unknown unit "S" in duration "1S"'],
  ['1"', 'time: unknown unit "\\"" in duration "1\\""'],
];

describe("parseGoDuration", () => {
  for (const [text, ns] of GOOD) {
    it(`parses ${JSON.stringify(text)}`, () => {
      assert.deepEqual(parseGoDuration(text), { ok: true, nanoseconds: ns });
    });
  }
  for (const [text, error] of BAD) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      assert.deepEqual(parseGoDuration(text), { ok: false, error });
    });
  }
});

describe("goTimeQuote", () => {
  it("escapes quotes, backslashes, control and non-ASCII bytes like Go's time.quote", () => {
    assert.equal(goTimeQuote('a"b\\c'), '"a\\"b\\\\c"');
    assert.equal(goTimeQuote("\n\u00e9"), '"\\x0a\\xc3\\xa9"');
    assert.equal(goTimeQuote("\x7f"), '"\x7f"');
  });
});
