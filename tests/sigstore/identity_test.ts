/** src/sigstore/identity.ts: upstream's literal-or-regex rule, pairing of issuer and subject, fail-closed corners. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  createIdentityMatcher,
  IDENTITY_REGEX_CHARS,
  isIdentityPattern,
} from "../../src/sigstore/identity.ts";
import { Re2SyntaxError } from "../../src/sigstore/re2.ts";

const matcher = (entries: [string, string[]][]) => createIdentityMatcher(new Map(entries));

describe("identity: which strings are patterns (upstream's containsRegexChars)", () => {
  // pkg/agent/common/sigstore/sigstore_test.go TestProcessAllowedIdentities and TestNewVerifier.
  const UPSTREAM: [string, boolean][] = [
    ["test-issuer", false],
    ["refs/tags/1.0.0", false],
    ["test-issuer/*", true],
    ["refs/tags/*", true],
    ["refs/(heads|tags)/release-.*", true],
    ["refs/heads/main", false],
    [String.raw`https://ci\.[a-zA-Z0-9-]+\.example\.com/workflows/[a-zA-Z0-9-]+`, true],
    [String.raw`refs/tags/v\d+\.\d+\.\d+`, true],
    ["test-issuer-2*", true],
    ["test-subject-2*", true],
    ["test-subject", false],
  ];
  for (const [text, pattern] of UPSTREAM) {
    it(`${JSON.stringify(text)} is ${pattern ? "a pattern" : "a literal"}`, () => {
      assert.equal(isIdentityPattern(text), pattern);
    });
  }

  it("each of *+?^${}[]|() alone makes a pattern; . and \\ do not", () => {
    for (const c of IDENTITY_REGEX_CHARS) assert.equal(isIdentityPattern(`a${c}b`), true, c);
    assert.equal(IDENTITY_REGEX_CHARS.length, 12);
    for (const c of [".", "\\", "/", "@", ":", "-", "#", "&", "%"]) {
      assert.equal(isIdentityPattern(`a${c}b`), false, c);
    }
  });
});

describe("identity: matching", () => {
  it("a literal issuer and subject match exactly (case and all), never as a prefix or substring", () => {
    const m = matcher([["https://accounts.google.com", ["release@example.com"]]]);
    assert.equal(m("https://accounts.google.com", ["release@example.com"]), true);
    assert.equal(m("https://accounts.google.com/", ["release@example.com"]), false);
    assert.equal(m("https://Accounts.google.com", ["release@example.com"]), false);
    assert.equal(m("https://accounts.google.com", ["release@example.com.evil"]), false);
    assert.equal(m("https://accounts.google.com", ["xrelease@example.com"]), false);
  });

  it("a dot in a literal is a dot; a backslash in a literal is a backslash (as upstream)", () => {
    const m = matcher([["https://accounts.google.com", [String.raw`ci\.example`]]]);
    assert.equal(m("https://accountsXgoogle.com", [String.raw`ci\.example`]), false);
    assert.equal(m("https://accounts.google.com", ["ci.example"]), false);
    assert.equal(m("https://accounts.google.com", [String.raw`ci\.example`]), true);
  });

  it("a pattern matches unanchored, as Go's MatchString (upstream's TestNewVerifier identities)", () => {
    const m = matcher([["test-issuer-2*", ["test-subject-2*"]]]);
    assert.equal(m("test-issuer-2", ["test-subject-2"]), true);
    assert.equal(m("https://evil.example/test-issuer-", ["prefix-test-subject-x"]), true); // 2* may be empty
    assert.equal(m("test-issuer", ["test-subject-2"]), false);
  });

  it("anchors pin a pattern: a suffix or prefix attack fails", () => {
    const m = matcher([[
      "^https://token\\.actions\\.githubusercontent\\.com$",
      [String
        .raw`^https://github\.com/spiffe/spire/\.github/workflows/release\.yml@refs/tags/v\d+\.\d+\.\d+$`],
    ]]);
    const good = "https://github.com/spiffe/spire/.github/workflows/release.yml@refs/tags/v1.15.3";
    assert.equal(m("https://token.actions.githubusercontent.com", [good]), true);
    assert.equal(m("https://token.actions.githubusercontent.com.evil", [good]), false);
    assert.equal(m("https://token.actions.githubusercontent.com", [`${good}-evil`]), false);
    assert.equal(
      m("https://token.actions.githubusercontent.com", [`https://github.com/evil/x?${good}`]),
      false,
    );
  });

  it("upstream's mixed case: regex subjects with literal issuer and the reverse", () => {
    const m = matcher([
      ["test-issuer", ["refs/(heads|tags)/release-.*", "refs/heads/main"]],
      [String.raw`https://ci\.[a-zA-Z0-9-]+\.example\.com/workflows/[a-zA-Z0-9-]+`, [
        "refs/heads/main",
        String.raw`refs/tags/v\d+\.\d+\.\d+`,
      ]],
    ]);
    assert.equal(m("test-issuer", ["refs/tags/release-2"]), true);
    assert.equal(m("test-issuer", ["refs/heads/main"]), true);
    assert.equal(m("test-issuer", ["refs/heads/dev"]), false);
    assert.equal(m("https://ci.org-1.example.com/workflows/build", ["refs/tags/v1.2.3"]), true);
    assert.equal(m("https://ci.org-1.example.com/workflows/build", ["refs/heads/main"]), true);
    assert.equal(m("https://ci.org-1.example.com/workflows/build", ["refs/tags/1.2.3"]), false);
    assert.equal(m("https://ci.org_1.example.com/workflows/build", ["refs/heads/main"]), false);
  });

  it("issuer and subject are matched as a pair, never across pairs", () => {
    const m = matcher([["https://a.example", ["alice@example.com"]], ["https://b.example", [
      "bob@example.com",
    ]]]);
    assert.equal(m("https://a.example", ["alice@example.com"]), true);
    assert.equal(m("https://b.example", ["bob@example.com"]), true);
    assert.equal(m("https://a.example", ["bob@example.com"]), false);
    assert.equal(m("https://b.example", ["alice@example.com"]), false);
  });

  it("any subject alternative name may match (cosign checks them all), not only the first", () => {
    const m = matcher([["https://a.example", ["release@example.com"]]]);
    assert.equal(m("https://a.example", ["spiffe://x/y", "https://other", "release@example.com"]), true);
    assert.equal(m("https://a.example", []), false);
  });

  it("fails closed where upstream fails open: empty map, issuer without subjects, empty strings", () => {
    assert.equal(matcher([])("https://a.example", ["x"]), false);
    assert.equal(matcher([["https://a.example", []]])("https://a.example", ["x"]), false);
    assert.equal(matcher([["", ["x"]]])("https://a.example", ["x"]), false);
    assert.equal(matcher([["https://a.example", [""]]])("https://a.example", ["x"]), false);
  });

  it("an explicit match-anything pattern does match anything (the operator's choice)", () => {
    const m = matcher([[".*", [".*"]]]);
    assert.equal(m("https://any.example", ["anyone@anywhere"]), true);
  });

  it("an invalid pattern throws Go's error; upstream's own config example '*@example.com' is one", () => {
    assert.throws(() => matcher([["https://a.example", ["*@example.com"]]]), {
      name: "Re2SyntaxError",
      message: "error parsing regexp: missing argument to repetition operator: `*`",
    });
    assert.throws(() => matcher([["(unclosed", ["x"]]]), Re2SyntaxError);
  });
});
