/**
 * Test helper: a token that every encoding changes, the encodings a kubelet (or a proxy in front of it)
 * might echo it in, and the leak check used by the redaction tests.
 *
 * @module
 */

import assert from "node:assert/strict";

const encoder = new TextEncoder();

/** A token with characters that percent-encoding and JSON escaping both change, and a literal `%41`. */
export const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.tok/en+with=special&chars"quote\\back<>%41-end';

/** Every way a kubelet or a proxy in front of it might write the token back. */
export const ENCODINGS: Record<string, (s: string) => string> = {
  raw: (s) => s,
  "JSON-escaped": (s) => JSON.stringify(s).slice(1, -1),
  "JSON-escaped, Go style (<>& as \\u00XX)": (s) =>
    JSON.stringify(s).slice(1, -1).replace(
      /[<>&]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
    ),
  "JSON-escaped, every UTF-16 unit as \\uXXXX (surrogate pairs for astral characters)": (s) =>
    Array.from({ length: s.length }, (_, i) => `\\u${s.charCodeAt(i).toString(16).padStart(4, "0")}`).join(
      "",
    ),
  "percent-encoded": encodeURIComponent,
  "percent-encoded, lower-case hex": (s) =>
    encodeURIComponent(s).replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase()),
  "percent-encoded, every byte": (s) =>
    [...encoder.encode(s)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, "0")}`).join(""),
  "query-escaped (space as +)": (s) => encodeURIComponent(s).replace(/%20/g, "+"),
  "percent-encoded inside a JSON string": (s) => JSON.stringify(encodeURIComponent(s)).slice(1, -1),
};

/** Fails when any 8-character piece of `secret` (or of its encoded form `encoded`) is in `text`. */
export function assertNoPiece(text: string, secret: string, encoded = secret): void {
  for (const whole of [secret, encoded]) {
    for (let i = 0; i + 8 <= whole.length; i++) {
      const piece = whole.slice(i, i + 8);
      assert.ok(
        !text.includes(piece),
        `${JSON.stringify(piece)} (offset ${i}) leaked in ${JSON.stringify(text)}`,
      );
    }
  }
}

/**
 * As {@linkcode assertNoPiece} for one log line: the line as written, and, when it is a JSON entry (hclog),
 * every string in it as decoded, since JSON escaping would hide a leaked piece holding `"` or `\` from a
 * plain search.
 */
export function assertNoPieceInLogLine(line: string, secret: string, encoded = secret): void {
  assertNoPiece(line, secret, encoded);
  let entry: unknown;
  try {
    entry = JSON.parse(line);
  } catch {
    return;
  }
  const visit = (value: unknown): void => {
    if (typeof value === "string") assertNoPiece(value, secret, encoded);
    else if (value !== null && typeof value === "object") Object.values(value).forEach(visit);
  };
  visit(entry);
}
