/**
 * Bounds every text the plugin echoes. Configuration values, keys and kubelet-supplied strings can be
 * megabytes long; wherever such text leaves the process (a gRPC status message, a Validate note, a log
 * line, CLI output) it goes through {@linkcode clipText} exactly once, at that edge. Clipping happens last,
 * after anything that rewrites the text (such as credential redaction), so it can never cut a secret in half
 * before the redaction sees it.
 *
 * @module
 */

/** The most UTF-8 bytes of one echoed text: an error message, a Validate note or a log field value. */
export const MAX_ECHO_BYTES = 4096;

/** UTF-8 length of the UTF-16 code unit at `i` (a surrogate pair counts 4 at its first unit, 0 at its second). */
function unitBytes(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c < 0x80) return 1;
  if (c < 0x800) return 2;
  if (c >= 0xd800 && c <= 0xdbff) {
    const d = s.charCodeAt(i + 1);
    return d >= 0xdc00 && d <= 0xdfff ? 4 : 3;
  }
  if (c >= 0xdc00 && c <= 0xdfff) {
    const p = i > 0 ? s.charCodeAt(i - 1) : 0;
    return p >= 0xd800 && p <= 0xdbff ? 0 : 3;
  }
  return 3;
}

/**
 * The length of `text` in UTF-8 bytes (a lone surrogate counts as U+FFFD, 3 bytes, as `TextEncoder` writes it).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { utf8Length } from "./clip.ts";
 * assert.equal(utf8Length("aé€😀"), 1 + 2 + 3 + 4);
 * ```
 *
 * @param text Any text.
 * @returns Its UTF-8 length.
 */
export function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) n += unitBytes(text, i);
  return n;
}

/**
 * Returns `text` when it fits in `maxBytes` UTF-8 bytes, else its head followed by
 * `…(truncated, N bytes)`, where N is the UTF-8 length of the whole original text; the result (marker
 * included) fits in `maxBytes` and never splits a surrogate pair. Linear in the length of `text`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { clipText } from "./clip.ts";
 * assert.equal(clipText("short"), "short");
 * const long = clipText("x".repeat(3_900_000));
 * assert.ok(long.endsWith("…(truncated, 3900000 bytes)") && long.length < 4096);
 * ```
 *
 * @param text Any text.
 * @param maxBytes The most UTF-8 bytes of the result (at least 64). @default {MAX_ECHO_BYTES}
 * @returns The text, whole or clipped.
 */
export function clipText(text: string, maxBytes: number = MAX_ECHO_BYTES): string {
  const limit = Math.max(64, Math.floor(maxBytes));
  if (text.length * 3 <= limit) return text; // fast path: cannot exceed the limit
  const total = utf8Length(text);
  if (total <= limit) return text;
  const marker = `…(truncated, ${total} bytes)`;
  const budget = limit - utf8Length(marker);
  let used = 0;
  let end = 0;
  while (end < text.length) {
    const c = text.charCodeAt(end);
    const pair = c >= 0xd800 && c <= 0xdbff && end + 1 < text.length &&
      text.charCodeAt(end + 1) >= 0xdc00 && text.charCodeAt(end + 1) <= 0xdfff;
    const bytes = pair ? 4 : unitBytes(text, end);
    if (used + bytes > budget) break;
    used += bytes;
    end += pair ? 2 : 1;
  }
  return text.slice(0, end) + marker;
}
