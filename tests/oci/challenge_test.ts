/**
 * The `WWW-Authenticate` parser (RFC 7235 §4.1): the challenges registries send, the grammar's corners, and
 * fuzz-ish checks (generated headers read back exactly; mutated headers either parse or fail with a
 * `ChallengeSyntaxError`, never anything else).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ChallengeSyntaxError, MAX_CHALLENGE_CHARS, parseWwwAuthenticate } from "../../src/oci/challenge.ts";
import { rng as prng } from "../_rng.ts";

function plain(header: string) {
  return parseWwwAuthenticate(header).map((c) => ({
    scheme: c.scheme,
    params: Object.fromEntries(c.params),
    token68: c.token68,
  }));
}

describe("parseWwwAuthenticate", () => {
  it("reads Docker Hub's bearer challenge", () => {
    assert.deepEqual(
      plain(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"',
      ),
      [{
        scheme: "bearer",
        params: {
          realm: "https://auth.docker.io/token",
          service: "registry.docker.io",
          scope: "repository:library/nginx:pull",
        },
        token68: null,
      }],
    );
  });

  it("reads a quoted comma, escapes and spaces around '=' without splitting the challenge", () => {
    assert.deepEqual(plain('Bearer realm = "a,b" , scope="x\\"y\\\\z",error=insufficient_scope'), [{
      scheme: "bearer",
      params: { realm: "a,b", scope: 'x"y\\z', error: "insufficient_scope" },
      token68: null,
    }]);
  });

  it("separates several challenges, lowercases schemes and parameter names", () => {
    assert.deepEqual(plain('Negotiate abc+/==, BASIC Realm="r", Bearer realm=x , NTLM'), [
      { scheme: "negotiate", params: {}, token68: "abc+/==" },
      { scheme: "basic", params: { realm: "r" }, token68: null },
      { scheme: "bearer", params: { realm: "x" }, token68: null },
      { scheme: "ntlm", params: {}, token68: null },
    ]);
  });

  it("accepts empty list elements", () => {
    assert.deepEqual(plain(', Basic realm="r",, charset="UTF-8" ,'), [
      { scheme: "basic", params: { realm: "r", charset: "UTF-8" }, token68: null },
    ]);
  });

  const bad: [string, RegExp][] = [
    ["", /no challenge/],
    [" , ", /no challenge/],
    ['Bearer realm="open', /unterminated quoted string/],
    ['Bearer realm="a\\', /unterminated quoted string/],
    ['Bearer realm="a\nb"', /control character/],
    ['Bearer realm="a\u0000b"', /control character/],
    ['Bearer realm="a" service="b"', /expected a comma/],
    ['Bearer realm="a",realm="b"', /repeated parameter "realm"/],
    ['Bearer REALM="a", realm="b"', /repeated parameter "realm"/],
    ['Bearer="x"', /expected a space after the auth scheme/],
    ["Bearer @", /expected a parameter or a token68/],
    ['"Bearer"', /expected a token/],
    ["Negotiate abc== def", /expected a comma/],
  ];
  for (const [header, message] of bad) {
    it(`rejects ${JSON.stringify(header)}`, () => {
      assert.throws(() => parseWwwAuthenticate(header), (err: unknown) => {
        assert.ok(err instanceof ChallengeSyntaxError);
        assert.match(err.message, message);
        return true;
      });
    });
  }

  it("rejects an over-long header before parsing it", () => {
    const header = `Bearer realm="${"a".repeat(MAX_CHALLENGE_CHARS)}"`;
    assert.throws(() => parseWwwAuthenticate(header), /longer than 8192 characters/);
  });
});

const TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const QDTEXT = ' \t!#$%&()*+,-./:;<=>?@[]^_`{|}~azAZ09"\\é';

describe("parseWwwAuthenticate, generated input", () => {
  it("reads back 500 generated headers exactly (quoted values with escapes, tokens, whitespace)", () => {
    const rand = prng(11);
    const pick = (s: string) => s[Math.floor(rand() * s.length)];
    const word = (n: number) =>
      Array.from({ length: 1 + Math.floor(rand() * n) }, () => pick(TCHARS)).join("");
    const ws = () => [" ", "", "\t", "  "][Math.floor(rand() * 4)];
    for (let i = 0; i < 500; i++) {
      const expected: { scheme: string; params: Record<string, string>; token68: null }[] = [];
      const parts: string[] = [];
      const count = 1 + Math.floor(rand() * 3);
      for (let c = 0; c < count; c++) {
        const scheme = word(8);
        const params: Record<string, string> = {};
        const texts: string[] = [];
        const n = Math.floor(rand() * 4);
        for (let p = 0; p < n; p++) {
          const name = word(6);
          if (name.toLowerCase() in params) continue;
          let value: string;
          let text: string;
          if (rand() < 0.5) {
            value = word(10);
            text = value;
          } else {
            value = Array.from({ length: Math.floor(rand() * 12) }, () => pick(QDTEXT)).join("");
            text = `"${value.replace(/[\\"]/g, (ch) => `\\${ch}`)}"`;
          }
          params[name.toLowerCase()] = value;
          texts.push(`${name}${ws()}=${ws()}${text}`);
        }
        expected.push({ scheme: scheme.toLowerCase(), params, token68: null });
        parts.push(texts.length > 0 ? `${scheme} ${texts.join(`${ws()},${ws()}`)}` : scheme);
      }
      const header = parts.join(`${ws()},${ws()}`);
      assert.deepEqual(plain(header), expected, header);
    }
  });

  it("never throws anything but ChallengeSyntaxError on 3000 mutated headers", () => {
    const rand = prng(7);
    const seeds = [
      'Bearer realm="https://auth.example/token",service="reg",scope="repository:a/b:pull"',
      'Basic realm="x", Negotiate abc==',
      'Bearer realm=x,error="insufficient_scope"',
    ];
    const alphabet = ' \t,="\\=abcAB/+:\u0000\u007f\né';
    let parsed = 0;
    for (let i = 0; i < 3000; i++) {
      const chars = [...seeds[i % seeds.length]];
      const edits = 1 + Math.floor(rand() * 4);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(rand() * (chars.length + 1));
        const kind = rand();
        const ch = alphabet[Math.floor(rand() * alphabet.length)];
        if (kind < 0.4) chars.splice(at, 0, ch);
        else if (kind < 0.7) chars.splice(at, 1);
        else chars[Math.min(at, chars.length - 1)] = ch;
      }
      const header = chars.join("");
      try {
        const challenges = parseWwwAuthenticate(header);
        assert.ok(challenges.length > 0);
        for (const c of challenges) assert.match(c.scheme, /^[!#$%&'*+\-.^_`|~0-9a-z]+$/);
        parsed++;
      } catch (err) {
        assert.ok(err instanceof ChallengeSyntaxError, `${JSON.stringify(header)}: ${err}`);
      }
    }
    // Both outcomes occur: the mutations are neither all harmless nor all fatal.
    assert.ok(parsed > 100 && parsed < 2900, `parsed ${parsed}`);
  });
});
