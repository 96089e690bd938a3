import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { encodeHeaders, HpackDecoder, HpackError, huffmanDecode } from "../../src/plugin/h2/hpack.ts";

interface Step {
  hex: string;
  want: [string, string][];
  table: [string, string][];
  size?: number;
}
interface Series {
  name: string;
  tableSize: number;
  steps: Step[];
}

const vectors = JSON.parse(
  await Deno.readTextFile(new URL("./fixtures/hpack_rfc7541.json", import.meta.url)),
) as { series: Series[] };

const hex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16));
const bytes = (...parts: (number | string)[]) =>
  Uint8Array.from(parts.flatMap((p) => typeof p === "number" ? [p] : [...new TextEncoder().encode(p)]));
const isHpackError = (match: RegExp, tooLarge = false) => (e: unknown) => {
  assert.ok(e instanceof HpackError, String(e));
  assert.match(e.message, match);
  assert.equal(e.tooLarge, tooLarge);
  return true;
};

describe("HPACK decoder: RFC 7541 Appendix C vectors (one decoder per series, tables carried over)", () => {
  it("has every series of the appendix (C.2.1-C.2.4, C.3-C.6)", () => {
    assert.deepEqual(vectors.series.map((s) => s.name), [
      "C.2.1",
      "C.2.2",
      "C.2.3",
      "C.2.4",
      "C.3",
      "C.4",
      "C.5",
      "C.6",
    ]);
  });
  for (const series of vectors.series) {
    it(`${series.name} (table size ${series.tableSize})`, () => {
      const d = new HpackDecoder({ maxTableSize: series.tableSize, maxHeaderListSize: 65_536 });
      for (const [i, step] of series.steps.entries()) {
        assert.deepEqual(d.decode(hex(step.hex)), step.want, `step ${i + 1}: fields`);
        assert.deepEqual(d.entries, step.table, `step ${i + 1}: dynamic table`);
        if (step.size !== undefined) assert.equal(d.tableSize, step.size, `step ${i + 1}: table size`);
      }
    });
  }
});

describe("HPACK decoder: malformed input is a clear error", () => {
  const decoder = () => new HpackDecoder({ maxHeaderListSize: 16_384 });

  it("rejects Huffman padding that is not EOS bits, or longer than 7 bits, and EOS in a string", () => {
    assert.equal(huffmanDecode(hex("f1e3c2e5f23a6ba0ab90f4ff")), "www.example.com");
    // "a" is 00011: padded with 111 it is 0x1f; padded with 000 it is invalid, and so are 11 padding bits.
    assert.equal(huffmanDecode(Uint8Array.of(0x1f)), "a");
    assert.throws(() => huffmanDecode(Uint8Array.of(0x18)), isHpackError(/padding/));
    assert.throws(() => huffmanDecode(Uint8Array.of(0x1f, 0xff)), isHpackError(/padding/));
    assert.throws(() => huffmanDecode(hex("ffffffff")), isHpackError(/EOS/));
  });

  it("rejects index 0, an index beyond both tables, and truncated integers and strings", () => {
    assert.throws(() => decoder().decode(Uint8Array.of(0x80)), isHpackError(/index 0/));
    assert.throws(() => decoder().decode(Uint8Array.of(0xbe)), isHpackError(/index 62 is outside/));
    assert.throws(() => decoder().decode(Uint8Array.of(0xff)), isHpackError(/truncated integer/));
    assert.throws(() => decoder().decode(bytes(0x40, 0x05, "ab")), isHpackError(/string length exceeds/));
  });

  it("rejects integers beyond 2^31 - 1 (no unbounded shift)", () => {
    const block = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f);
    assert.throws(() => decoder().decode(block), isHpackError(/integer too large/));
  });

  it("rejects a table size update above our setting, and one after a field", () => {
    assert.throws(() => decoder().decode(Uint8Array.of(0x3f, 0xe2, 0x1f)), isHpackError(/exceeds 4096/));
    assert.throws(() => decoder().decode(Uint8Array.of(0x82, 0x20)), isHpackError(/after a header field/));
    const d = decoder();
    assert.deepEqual(d.decode(bytes(0x20, 0x40, 0x01, "a", 0x01, "b")), [["a", "b"]]);
    assert.equal(d.tableSize, 0, "a table of size 0 holds nothing");
  });

  it("stops a header list that grows beyond the limit (an HPACK bomb) as it decodes", () => {
    // One 4000-byte entry, then 1000 one-byte references to it: ~4 MB of headers from ~5 KB.
    const value = "v".repeat(4000);
    const literal = [0x40, 0x01, 0x78, 0x7f, ...encodeInt(4000 - 127), ...new TextEncoder().encode(value)];
    const bomb = Uint8Array.from([...literal, ...new Array(1000).fill(0xbe)]);
    const d = new HpackDecoder({ maxHeaderListSize: 16_384 });
    assert.throws(() => d.decode(bomb), isHpackError(/header list exceeds 16384 bytes/, true));
    const roomy = new HpackDecoder({ maxHeaderListSize: 8_000_000 });
    assert.equal(roomy.decode(bomb).length, 1001, "the same block is well-formed");
  });
});

function encodeInt(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

describe("HPACK encoder", () => {
  it("encodes what the decoder reads back, long values and non-static names included", () => {
    const fields: [string, string][] = [
      [":status", "200"],
      ["content-type", "application/grpc"],
      ["grpc-status", "3"],
      ["grpc-message", "m".repeat(5000)],
      [":status", "415"],
    ];
    const d = new HpackDecoder({ maxHeaderListSize: 65_536 });
    assert.deepEqual(d.decode(encodeHeaders(fields)), fields);
    assert.equal(d.tableSize, 0, "nothing is indexed");
  });

  it("uses the static table for :status 200 and for known names", () => {
    assert.deepEqual([...encodeHeaders([[":status", "200"]])], [0x88]);
    // content-type is static index 31: literal without indexing, 4-bit prefix 15 + 16.
    assert.deepEqual([...encodeHeaders([["content-type", "a"]])], [0x0f, 0x10, 0x01, 0x61]);
  });
});
