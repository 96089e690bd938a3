/**
 * Secret redaction before the cut (issue 9, finding 7): every encoding the kubelet might echo a secret in,
 * at every position around the cut, leaves no 8-character piece of the secret in the result.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  FRAGMENT,
  REDACTED,
  redactedPrefix,
  redactionMargin,
  redactSecrets,
} from "../../src/kubelet/redact.ts";
import { parsePodList } from "../../src/kubelet/pods.ts";
import { AttestorError } from "../../src/errors.ts";
import { chars, int, pick, rng } from "../_rng.ts";
import { assertNoPiece, ENCODINGS, TOKEN } from "./_secrets.ts";

const encoder = new TextEncoder();

function bodyWith(
  prefix: number,
  encoded: string,
  suffix = " trailing text that is not secret\n",
): Uint8Array {
  return encoder.encode(`${"x".repeat(prefix)}${encoded}${suffix.repeat(40)}`);
}

describe("redactedPrefix: a secret echoed around the cut", () => {
  const LIMIT = 1024;
  for (const [name, encode] of Object.entries(ENCODINGS)) {
    const encoded = encode(TOKEN);
    const n = encoded.length;
    const starts = [
      0,
      100,
      LIMIT - n - 1,
      LIMIT - n,
      LIMIT - n + 5,
      LIMIT - Math.floor(n / 2),
      LIMIT - 8,
      LIMIT - 1,
    ];
    it(`${name}: removed whole wherever it starts before the cut`, () => {
      for (const start of starts) {
        const body = bodyWith(start, encoded);
        const text = redactedPrefix(body, [TOKEN], LIMIT);
        assertNoPiece(text, TOKEN, encoded);
        const after = new TextDecoder().decode(body).slice(start + n, Math.max(start + n, LIMIT));
        assert.equal(text, `${"x".repeat(start)}${REDACTED}${after}`, `start ${start}`);
      }
    });
    it(`${name}: starting at or after the cut, nothing of it is shown`, () => {
      for (const start of [LIMIT, LIMIT + 3]) {
        const text = redactedPrefix(bodyWith(start, encoded), [TOKEN], LIMIT);
        assert.equal(text, "x".repeat(LIMIT));
      }
    });
  }

  it("what follows a secret inside the cut is kept, and the cut still counts bytes of the body", () => {
    const body = encoder.encode(`a ${TOKEN} b ${encodeURIComponent(TOKEN)} c`);
    assert.equal(redactedPrefix(body, [TOKEN], body.length), `a ${REDACTED} b ${REDACTED} c`);
    assert.equal(redactedPrefix(encoder.encode("no secrets here"), [TOKEN], 5), "no se");
    assert.equal(redactedPrefix(encoder.encode("no secrets here"), [], 5), "no se");
  });

  it("overlapping and adjacent occurrences are one redaction; several secrets at once", () => {
    assert.equal(redactedPrefix(encoder.encode("-abababab-"), ["ababab"], 100), `-${REDACTED}-`);
    assert.equal(
      redactedPrefix(encoder.encode("-s3cretS3CRET-"), ["s3cret", "S3CRET"], 100),
      `-${REDACTED}-`,
    );
    assert.equal(
      redactedPrefix(encoder.encode(`${"y".repeat(20)}-private-key`), ["private-key", "y".repeat(20)], 100),
      `${REDACTED}-${REDACTED}`,
    );
  });

  it("non-ASCII secrets in JSON surrogate pairs and percent-encoded UTF-8", () => {
    const secret = "tökén-😀-sëcret";
    for (
      const encode of [
        ENCODINGS["JSON-escaped, every UTF-16 unit as \\uXXXX (surrogate pairs for astral characters)"],
        encodeURIComponent,
        (s: string) => s,
      ]
    ) {
      const text = redactedPrefix(bodyWith(10, encode(secret)), [secret], 30);
      assert.equal(text, `${"x".repeat(10)}${REDACTED}`);
    }
  });

  it("a secret the body only partly contains is not guessed at (only whole occurrences are secrets)", () => {
    assert.equal(redactedPrefix(encoder.encode("abc-sec"), ["secret"], 100), "abc-sec");
  });

  it("property: random secrets in random encodings at random places never leave an 8-character piece", () => {
    const r = rng(20260907);
    const alphabet = 'abcXYZ019-._~/+=&%"\\<> é';
    for (let round = 0; round < 400; round++) {
      const secret = chars(r, alphabet, 8 + int(r, 60)).trim() || "fallback-secret";
      const [, encode] = pick(r, Object.entries(ENCODINGS));
      const encoded = encode(secret);
      const limit = 16 + int(r, 200);
      const start = Math.max(0, limit - int(r, encoded.length + 20));
      const filler = chars(r, "xyz \n{}:,", start);
      const body = encoder.encode(`${filler}${encoded}${chars(r, "xyz", 50)}${encoded}`);
      const read = body.subarray(0, limit + redactionMargin([secret]));
      const text = redactedPrefix(read, [secret], limit);
      assertNoPiece(text, secret, encoded);
      assert.ok(
        encoder.encode(text).length <= limit + REDACTED.length * 2,
        "never more of the body than the cut",
      );
    }
  });
});

describe("redactionMargin and redactSecrets", () => {
  it("the margin covers the most expanded form of the longest secret", () => {
    for (const encode of Object.values(ENCODINGS)) {
      assert.ok(encoder.encode(encode(TOKEN)).length <= redactionMargin([TOKEN, "short"]));
    }
  });

  it("redactSecrets removes every form from a whole message", () => {
    const message = `unable to perform request: ${TOKEN} / ${encodeURIComponent(TOKEN)} / ${
      JSON.stringify(TOKEN)
    }`;
    assert.equal(
      redactSecrets(message, [TOKEN]),
      `unable to perform request: ${REDACTED} / ${REDACTED} / "${REDACTED}"`,
    );
    assert.equal(redactSecrets("nothing to hide", [TOKEN]), "nothing to hide");
    assert.equal(redactSecrets("nothing to hide", ["", ""]), "nothing to hide");
  });
});

describe("redaction of pieces of a secret (review findings)", () => {
  const token = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.c2VjcmV0LXBheWxvYWQ.c2lnbmF0dXJlLWJ5dGVz";

  it("removes an echo the sender cut short", () => {
    const out = redactSecrets(`denied for ${token.slice(0, -5)}`, [token]);
    assert.equal(out.includes(token.slice(0, 8)), false, out);
    assert.ok(out.startsWith("denied for [redacted]"), out);
  });

  it("removes a secret broken up by one differently encoded character", () => {
    const mid = Math.floor(token.length / 2);
    // one character double-percent-encoded, the rest raw
    const echo = `${token.slice(0, mid)}%25${token.charCodeAt(mid).toString(16)}${token.slice(mid + 1)}`;
    const out = redactSecrets(`token=${echo}`, [token]);
    for (let i = 0; i + FRAGMENT <= token.length; i++) {
      assert.equal(out.includes(token.slice(i, i + FRAGMENT)), false, `piece at ${i} leaked: ${out}`);
    }
  });

  it("leaves text that shares fewer than FRAGMENT bytes with a secret alone", () => {
    assert.equal(redactSecrets(`eyJhbGc is a JWT prefix`, [token]), "eyJhbGc is a JWT prefix");
  });
});

describe("parsePodList: a body that is not JSON is not quoted in the error", () => {
  it("keeps the engine's description but not the body text", () => {
    assert.throws(() => parsePodList("eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.secret", 1), (err: unknown) => {
      assert.ok(err instanceof AttestorError);
      assert.equal(err.message, "unable to parse kubelet response: Unexpected token 'e' is not valid JSON");
      assert.equal(err.cause, undefined);
      return true;
    });
  });
});
