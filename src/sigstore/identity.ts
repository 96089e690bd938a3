/**
 * Who may sign, for the current SPIRE form (`sigstore { allowed_identities = { "<issuer>" = ["<subject>"] } }`):
 * each issuer and each subject is a literal or a Go regular expression, exactly as upstream decides
 * (`containsRegexChars` in `pkg/agent/common/sigstore/sigstore.go`: a string with any of `*+?^${}[]|()` is a
 * regex, anything else, dots and backslashes included, is compared literally). A regex is matched unanchored,
 * as Go's `MatchString` (cosign's `CheckCertificatePolicy`): write `^…$` to pin it. A signature's identity is
 * allowed when one configured pair matches: the issuer matches the pair's issuer, and at least one of the
 * certificate's subject alternative names matches the pair's subject.
 *
 * Stricter than upstream on purpose: the patterns are compiled when the configuration is read (an invalid
 * one is a Configure error naming it, upstream fails every verification later), matched by a linear-time
 * engine (`re2.ts`), and nothing is a wildcard by being empty (upstream reads an empty issuer or subject, or
 * an empty map, as "anything"; the config refuses those, and this matcher would match nothing).
 *
 * @module
 */

import { compileRe2, type Re2Pattern } from "./re2.ts";

/** The characters that make an identity string a regular expression (upstream's `containsRegexChars`). */
export const IDENTITY_REGEX_CHARS = "*+?^${}[]|()";

/**
 * Whether upstream reads `text` as a regular expression (it holds one of {@linkcode IDENTITY_REGEX_CHARS}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isIdentityPattern } from "./identity.ts";
 * assert.equal(isIdentityPattern("refs/tags/*"), true);
 * assert.equal(isIdentityPattern("https://accounts.google.com"), false); // a dot alone is literal
 * assert.equal(isIdentityPattern(String.raw`https://accounts\.google\.com`), false); // so is a backslash
 * ```
 *
 * @param text An issuer or subject from the configuration.
 * @returns True when it is a regular expression.
 */
export function isIdentityPattern(text: string): boolean {
  for (const c of text) if (IDENTITY_REGEX_CHARS.includes(c)) return true;
  return false;
}

/** Decides whether a signer is allowed: its OIDC issuer and every subject alternative name of its certificate. */
export type IdentityMatcher = (issuer: string, subjects: readonly string[]) => boolean;

/** One side of a pair: equal to a literal, or matched (unanchored) by a pattern. */
type Side = (value: string) => boolean;

function side(text: string): Side {
  if (!isIdentityPattern(text)) return (value) => value === text;
  const re: Re2Pattern = compileRe2(text);
  return (value) => re.matchString(value);
}

/**
 * Compiles the allowed identities into a matcher.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createIdentityMatcher } from "./identity.ts";
 * const allowed = createIdentityMatcher(new Map([
 *   ["https://token.actions.githubusercontent.com", [String.raw`^https://github\.com/spiffe/spire/.+@refs/tags/v\d+`]],
 *   ["https://accounts.google.com", ["release@example.com"]],
 * ]));
 * const tag = "https://github.com/spiffe/spire/.github/workflows/release.yml@refs/tags/v1.15.3";
 * assert.equal(allowed("https://token.actions.githubusercontent.com", [tag]), true);
 * assert.equal(allowed("https://accounts.google.com", ["other@example.com", "release@example.com"]), true);
 * assert.equal(allowed("https://accounts.google.com", [tag]), false);
 * assert.equal(allowed("https://evil.example", ["release@example.com"]), false);
 * ```
 *
 * @param allowed OIDC issuer → the subjects allowed for it (each a literal or a pattern, see the module text).
 * @returns The matcher: true when some issuer matches `issuer` and one of its subjects matches one of
 *   `subjects`. An empty map, or an issuer with no subjects, allows nothing.
 * @throws {import("./re2.ts").Re2SyntaxError} For a pattern Go's `regexp.Compile` refuses (or that `re2.ts`
 *   does not support); the config module reports it naming the issuer or subject.
 */
export function createIdentityMatcher(allowed: ReadonlyMap<string, readonly string[]>): IdentityMatcher {
  const pairs: { issuer: Side; subjects: Side[] }[] = [];
  for (const [issuer, subjects] of allowed) {
    pairs.push({ issuer: side(issuer), subjects: subjects.map(side) });
  }
  return (issuer, sans) =>
    pairs.some((pair) =>
      pair.subjects.length > 0 && pair.issuer(issuer) && sans.some((san) => pair.subjects.some((s) => s(san)))
    );
}
