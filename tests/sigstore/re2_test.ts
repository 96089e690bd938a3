/**
 * src/sigstore/re2.ts against Go's own `regexp` (tools/re2oracle, run with `go run`): the same compile errors
 * (exact text) and the same `MatchString` answers on a fixed corpus and on generated patterns and inputs;
 * plus what differs on purpose (Unicode classes refused; `(?<name>…)` as Go 1.22+ reads it) and linear time on
 * patterns that make a backtracking engine explode. Without Go: skipped, loudly; a failure in CI (CI=true).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { compileRe2, Re2SyntaxError } from "../../src/sigstore/re2.ts";
import { REPO_ROOT } from "../../src/testing/plugin_process.ts";
import { rng as prng } from "../_rng.ts";

const ORACLE = join(REPO_ROOT, "tools", "re2oracle", "main.go");

function findGo(): string | null {
  for (const candidate of ["/usr/bin/go", "/usr/local/go/bin/go"]) {
    try {
      if (Deno.statSync(candidate).isFile) return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

const GO = Deno.build.os === "linux" ? findGo() : null;
const skip = GO === null ? "SKIPPED: no Go toolchain (scripts/gohost_setup.sh installs golang-go)" : false;
if (skip) console.error(`\n*** re2 oracle: ${skip} ***\n`);
if (GO === null && Deno.build.os === "linux" && Deno.env.get("CI") === "true") {
  it("Go is installed (CI requires it for the regexp oracle)", () => assert.fail("no Go toolchain"));
}

interface Answer {
  error: string;
  matches: boolean[];
}

/** Asks Go's regexp about every pattern and input. */
async function oracle(patterns: string[], inputs: string[]): Promise<Answer[]> {
  const cache = await Deno.makeTempDir({ prefix: "re2oracle-" });
  try {
    const child = new Deno.Command(GO!, {
      args: ["run", ORACLE],
      env: {
        GOCACHE: join(cache, "cache"),
        GOPATH: join(cache, "gopath"),
        GOFLAGS: "-mod=mod",
        GO111MODULE: "on",
      },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(JSON.stringify({ patterns, inputs })));
    await writer.close();
    const out = await child.output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    return JSON.parse(new TextDecoder().decode(out.stdout));
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
}

/** What this module says, in the oracle's form. */
function ours(pattern: string, inputs: string[]): Answer {
  try {
    const re = compileRe2(pattern);
    return { error: "", matches: inputs.map((i) => re.matchString(i)) };
  } catch (err) {
    assert.ok(err instanceof Re2SyntaxError, `${pattern}: ${err}`);
    return { error: err.message, matches: [] };
  }
}

const FIXED_PATTERNS = [
  // upstream's own test cases (pkg/agent/common/sigstore/sigstore_test.go, config_test.go)
  "test-issuer-2*",
  "test-subject-2*",
  "test-issuer/*",
  "refs/tags/*",
  "refs/(heads|tags)/release-.*",
  String.raw`https://ci\.[a-zA-Z0-9-]+\.example\.com/workflows/[a-zA-Z0-9-]+`,
  String.raw`refs/tags/v\d+\.\d+\.\d+`,
  "*@example.com",
  "domain/ci.yaml@refs/tags/*",
  // identity-shaped patterns an operator writes
  String.raw`^https://github\.com/spiffe/.+/\.github/workflows/release\.yml@refs/tags/v[0-9]+$`,
  String.raw`^[a-z0-9._%+-]+@example\.com$`,
  "https://token.actions.githubusercontent.com$",
  "(?i)^HTTPS://ACCOUNTS.GOOGLE.COM$",
  "^(https://accounts.google.com|https://oauth2.sigstore.dev/auth)$",
  // syntax corners
  "",
  "a|",
  "|",
  "()",
  "(|a)*",
  "a{0}",
  "a{0,}",
  "a{,3}",
  "a{01}",
  "a{1,0}",
  "a{2}{3}",
  "a{1000}",
  "a{1001}",
  "(a{10}){100}",
  "(a{10}){101}",
  "x{",
  "x{2",
  "x{2,",
  "x{a}",
  "a**",
  "a*?",
  "a*??",
  "a+*",
  "*",
  "(*)",
  "a|*",
  "^*",
  "$+",
  "(?i)*",
  "(?i)a(?-i)b",
  "(?i:a)b",
  "(?i-s:.)",
  "(?)",
  "(?-)",
  "(?i-)",
  "(?x)",
  "(?P<name>a)",
  "(?P<>a)",
  "(?P<na-me>a)",
  "(?P=name)",
  "(?P<name",
  "(?=a)",
  "(?!a)",
  "(?>a)",
  "(?#c)",
  "(a",
  "a)",
  "((a)",
  "[",
  "[]",
  "[]a]",
  "[^]a]",
  "[a-]",
  "[-a]",
  "[a-b-c]",
  "[z-a]",
  "[[:alpha:]]",
  "[[:^alpha:]]",
  "[[:foo:]]",
  "[[:alpha:]",
  "[[:word:][:punct:]]",
  "[\\d-z]",
  "[\\w]",
  "[^\\W]",
  "[\\b]",
  "[\\Q]\\E]",
  "[a\\]b]",
  "\\",
  "a\\",
  "\\1",
  "\\8",
  "\\0",
  "\\012",
  "\\18",
  "\\x",
  "\\x4",
  "\\x41",
  "\\x{}",
  "\\x{41}",
  "\\x{10FFFF}",
  "\\x{110000}",
  "\\x{41",
  "\\Qa.b\\E.c",
  "\\Qa.b",
  "\\C",
  "\\Z",
  "\\e",
  "\\_",
  "\\-",
  "\\@",
  "\\ ",
  "\\A\\z",
  "\\bab\\b",
  "\\Bb\\B",
  "\\d\\D\\s\\S\\w\\W",
  "(?m)^b$",
  "^b$",
  "(?s)a.b",
  "a.b",
  "(?U)a+",
  "(?i)k",
  "(?i)[k]",
  "(?i)[^k]",
  "(?i)\\W",
  "(?i)[\\W]",
  "(?i)s",
  "(?i)ſ",
  "(?i)[[:^lower:]]",
  "(?i)[a-z]+",
  "[\u212a]",
  "\u00e9+",
  ".{3}",
];

const FIXED_INPUTS = [
  "",
  "a",
  "aa",
  "ab",
  "b",
  "a\nb",
  "a.b",
  "a\u00e9b",
  "test-issuer",
  "test-issuer-2",
  "test-issuer/x",
  "refs/tags/1.0.0",
  "refs/heads/main",
  "refs/heads/release-1",
  "https://ci.my-org.example.com/workflows/build",
  "https://github.com/spiffe/spire/.github/workflows/release.yml@refs/tags/v1",
  "user@example.com",
  "user@example.com.evil",
  "https://token.actions.githubusercontent.com",
  "https://accounts.google.com",
  "https://ACCOUNTS.google.com",
  "x{",
  "x{2}",
  "k",
  "K",
  "\u212a",
  "s",
  "\u017f",
  "_",
  "-",
  "@",
  " ",
  "\t",
  "]",
  "\u{1F600}",
  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
];

const TOKENS = [
  "a",
  "b",
  "k",
  "K",
  "s",
  "\u017f",
  "\u212a",
  "-",
  "/",
  "@",
  ".",
  "\n",
  " ",
  "*",
  "+",
  "?",
  "*?",
  "{2}",
  "{1,3}",
  "{2,}",
  "{0}",
  "{",
  "}",
  "|",
  "(",
  ")",
  "(?:",
  "(?i)",
  "(?-i)",
  "(?s)",
  "(?m)",
  "(?U)",
  "(?i:",
  "(?P<g>",
  "^",
  "$",
  "[",
  "]",
  "[ab]",
  "[^a]",
  "[a-c]",
  "[[:alpha:]]",
  "[[:^space:]]",
  "[\\W]",
  "\\d",
  "\\w",
  "\\s",
  "\\S",
  "\\b",
  "\\B",
  "\\A",
  "\\z",
  "\\.",
  "\\Q.*\\E",
  "\\x41",
  "\\101",
  "\\",
  "\\1",
  "\\-",
  "[^k]",
];
const INPUT_ALPHABET = [
  "a",
  "b",
  "k",
  "K",
  "s",
  "S",
  "\u017f",
  "\u212a",
  "-",
  "/",
  "@",
  ".",
  "\n",
  " ",
  "1",
  "_",
  "A",
];

function generated(seed: number, count: number): { patterns: string[]; inputs: string[] } {
  const rand = prng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
  const patterns: string[] = [];
  for (let i = 0; i < count; i++) {
    const n = 1 + Math.floor(rand() * 7);
    patterns.push(Array.from({ length: n }, () => pick(TOKENS)).join(""));
  }
  const inputs: string[] = [];
  for (let i = 0; i < 40; i++) {
    const n = Math.floor(rand() * 9);
    inputs.push(Array.from({ length: n }, () => pick(INPUT_ALPHABET)).join(""));
  }
  return { patterns, inputs };
}

/** Go 1.22 added `(?<name>…)`; the oracle may be older, so such patterns are compared in the unit tests. */
const comparable = (p: string) => !p.includes("(?<");

describe("re2: the same answers as Go's regexp", { skip }, () => {
  it("a fixed corpus (upstream's identity patterns and syntax corners): errors and matches", async () => {
    const patterns = FIXED_PATTERNS.filter(comparable);
    const answers = await oracle(patterns, FIXED_INPUTS);
    patterns.forEach((p, i) => {
      assert.deepEqual(ours(p, FIXED_INPUTS), answers[i], `pattern ${JSON.stringify(p)}`);
    });
  });

  it("generated patterns and inputs (3 seeds × 1500 patterns)", async () => {
    for (const seed of [1, 2, 3]) {
      const { patterns: all, inputs } = generated(seed, 1500);
      const patterns = all.filter(comparable);
      const answers = await oracle(patterns, inputs);
      let compiled = 0;
      patterns.forEach((p, i) => {
        const mine = ours(p, inputs);
        if (mine.error === "") compiled++;
        assert.deepEqual(mine, answers[i], `seed ${seed}, pattern ${JSON.stringify(p)}`);
      });
      // The generator must exercise both sides: many patterns that compile and many that do not.
      assert.ok(compiled > patterns.length / 4 && compiled < patterns.length, `seed ${seed}: ${compiled}`);
    }
  });
});

describe("re2: differences on purpose and limits", () => {
  it("refuses Unicode classes (Go accepts them), naming the class", () => {
    for (const [p, expr] of [["\\pL", "\\pL"], ["a\\p{Greek}b", "\\p{Greek}"], ["[\\PN]", "\\PN"]]) {
      assert.throws(() => compileRe2(p), {
        message: `error parsing regexp: Unicode character classes are not supported here: \`${expr}\``,
      });
    }
  });

  it("reads (?<name>…) as Go 1.22 and later (a named group), and (?<=…) / (?<!…) as bad names", () => {
    assert.equal(compileRe2("(?<host>[a-z]+)\\.example$").matchString("ci.example"), true);
    assert.throws(() => compileRe2("(?<=a)b"), {
      message: "error parsing regexp: invalid named capture: `(?<=a)b`",
    });
    assert.throws(() => compileRe2("(?<!a"), {
      message: "error parsing regexp: invalid named capture: `(?<!a`",
    });
  });

  it("refuses JS-only syntax: backreferences, lookahead, named backreferences", () => {
    for (const p of ["(a)\\1", "a(?=b)", "a(?!b)", "(?<n>a)\\k<n>"]) {
      assert.throws(() => compileRe2(p), Re2SyntaxError);
    }
  });

  it("matches unanchored, like MatchString, and anchors only where the pattern says", () => {
    assert.equal(compileRe2("example.com").matchString("user@example.com.evil.org"), true);
    assert.equal(compileRe2("^user@example\\.com$").matchString("user@example.com.evil.org"), false);
    assert.equal(compileRe2("^a$").matchString("a\n"), false); // $ is the end of text, not before a newline
  });

  it("runs in linear time on patterns that explode a backtracking engine", () => {
    const evil = "a".repeat(5000) + "!";
    assert.equal(compileRe2("(a+)+$").matchString(evil), false);
    assert.equal(compileRe2("(a|aa)*b").matchString(evil), false);
    assert.equal(compileRe2("(.*a){20}$").matchString(evil), false);
    assert.equal(compileRe2("(a*)*!").matchString(evil), true);
  });

  it("reads a lone surrogate in the input as U+FFFD and refuses one in the pattern", () => {
    assert.equal(compileRe2("^\\x{FFFD}$").matchString("\ud800"), true);
    assert.throws(() => compileRe2("a\ud800"), { message: /invalid UTF-8/ });
  });

  it("refuses a pattern nested too deeply", () => {
    assert.throws(() => compileRe2("(".repeat(1001) + ")".repeat(1001)), {
      message: /expression nests too deeply/,
    });
    assert.equal(compileRe2("(".repeat(500) + "a" + ")".repeat(500)).matchString("a"), true);
  });
});
