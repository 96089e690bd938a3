/**
 * HPACK (RFC 7541): a complete decoder (static and dynamic table, Huffman strings, table size updates)
 * with hard limits, and a minimal encoder that never indexes (static-table names where they exist,
 * "literal without indexing" otherwise), so our side keeps no encoder state the peer could grow.
 *
 * @module
 */

import { HUFFMAN_CODES, HUFFMAN_LENGTHS, STATIC_TABLE } from "./hpack_tables.ts";

/** A decoding failure: a COMPRESSION_ERROR (or the header list exceeded its limit). */
export class HpackError extends Error {
  /** True when the failure is the header-list size limit rather than malformed input. */
  readonly tooLarge: boolean;
  /**
   * @param message What was wrong.
   * @param tooLarge Whether the header list limit was exceeded.
   */
  constructor(message: string, tooLarge = false) {
    super(message);
    this.name = "HpackError";
    this.tooLarge = tooLarge;
  }
}

/** One decoded header field. */
export type HeaderField = readonly [name: string, value: string];

/** The per-entry overhead of the table size accounting (RFC 7541 §4.1). */
const ENTRY_OVERHEAD = 32;

// The Huffman decoding tree, built on first use: node i has children tree[2i] (bit 0) and tree[2i+1]
// (bit 1); a child value >= 0 is the next node, < 0 is a leaf holding -(symbol + 1). 0 means "no child".
let huffmanTree: Int32Array | null = null;

function buildHuffmanTree(): Int32Array {
  const tree = new Int32Array(2 * 512);
  let nodes = 1;
  const add = (code: number, length: number, symbol: number) => {
    let node = 0;
    for (let i = length - 1; i >= 0; i--) {
      const bit = (code >>> i) & 1;
      const slot = 2 * node + bit;
      if (i === 0) {
        tree[slot] = -(symbol + 1);
      } else {
        if (tree[slot] === 0) tree[slot] = nodes++;
        node = tree[slot];
      }
    }
  };
  for (let s = 0; s < 256; s++) add(HUFFMAN_CODES[s], HUFFMAN_LENGTHS[s], s);
  add(0x3fff_ffff, 30, 256); // EOS
  return tree;
}

/**
 * Decodes a Huffman-coded string (RFC 7541 §5.2): padding must be the most significant bits of EOS and
 * shorter than 8 bits; EOS inside the string is an error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { huffmanDecode } from "./hpack.ts";
 * // RFC 7541 C.4.1: "www.example.com"
 * const bytes = Uint8Array.from([0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab, 0x90, 0xf4, 0xff]);
 * assert.equal(huffmanDecode(bytes), "www.example.com");
 * ```
 *
 * @param bytes The coded bytes.
 * @returns The decoded string (bytes as Latin-1 code points).
 * @throws {HpackError} For EOS in the string or invalid padding.
 */
export function huffmanDecode(bytes: Uint8Array): string {
  const tree = huffmanTree ??= buildHuffmanTree();
  const out: number[] = [];
  let node = 0;
  let depth = 0; // bits consumed since the last symbol
  let allOnes = true; // whether those bits are all 1
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    for (let bit = 7; bit >= 0; bit--) {
      const b = (byte >>> bit) & 1;
      const next = tree[2 * node + b];
      depth++;
      if (b === 0) allOnes = false;
      if (next < 0) {
        const symbol = -next - 1;
        if (symbol === 256) throw new HpackError("Huffman string contains EOS");
        out.push(symbol);
        node = 0;
        depth = 0;
        allOnes = true;
      } else if (next === 0) {
        throw new HpackError("invalid Huffman code");
      } else {
        node = next;
      }
    }
  }
  if (depth > 7 || !allOnes) throw new HpackError("invalid Huffman padding");
  return latin1(out);
}

function latin1(codes: number[]): string {
  let s = "";
  for (let i = 0; i < codes.length; i += 4096) s += String.fromCharCode(...codes.slice(i, i + 4096));
  return s;
}

/** Options of {@linkcode HpackDecoder}. */
export interface HpackDecoderOptions {
  /** The dynamic table size we allow (our SETTINGS_HEADER_TABLE_SIZE). @default {4096} */
  readonly maxTableSize?: number;
  /** The largest decoded header list (RFC 9113 §6.5.2 accounting: name + value + 32 per field). */
  readonly maxHeaderListSize: number;
}

/**
 * The HPACK decoder of one connection. It must see every header block of the connection, in order, even
 * of streams that are refused, or its dynamic table goes out of step with the peer's.
 *
 * @example RFC 7541 C.3.1 (first request, no Huffman)
 * ```ts
 * import assert from "node:assert/strict";
 * import { HpackDecoder } from "./hpack.ts";
 * const d = new HpackDecoder({ maxHeaderListSize: 16_384 });
 * const block = Uint8Array.from([
 *   0x82, 0x86, 0x84, 0x41, 0x0f, ...new TextEncoder().encode("www.example.com"),
 * ]);
 * assert.deepEqual(d.decode(block), [
 *   [":method", "GET"], [":scheme", "http"], [":path", "/"], [":authority", "www.example.com"],
 * ]);
 * assert.equal(d.tableSize, 57);
 * ```
 */
export class HpackDecoder {
  /** Newest first. */
  #table: HeaderField[] = [];
  #size = 0;
  #maxSize: number;
  readonly #limit: number;
  readonly #maxHeaderListSize: number;

  /** @param options Limits. */
  constructor(options: HpackDecoderOptions) {
    this.#limit = options.maxTableSize ?? 4096;
    this.#maxSize = this.#limit;
    this.#maxHeaderListSize = options.maxHeaderListSize;
  }

  /** The dynamic table's current size (RFC 7541 §4.1). */
  get tableSize(): number {
    return this.#size;
  }

  /** The dynamic table's entries, newest first (for tests). */
  get entries(): readonly HeaderField[] {
    return this.#table;
  }

  /**
   * Decodes one complete header block.
   *
   * @param block The concatenated HEADERS and CONTINUATION fragments.
   * @returns The fields in order.
   * @throws {HpackError} For malformed input, or `tooLarge` when the list exceeds the limit.
   */
  decode(block: Uint8Array): HeaderField[] {
    const fields: HeaderField[] = [];
    let listSize = 0;
    let pos = 0;
    let sawField = false;
    const integer = (prefixBits: number): number => {
      if (pos >= block.length) throw new HpackError("truncated integer");
      const mask = (1 << prefixBits) - 1;
      let value = block[pos++] & mask;
      if (value < mask) return value;
      let shift = 0;
      for (;;) {
        if (pos >= block.length) throw new HpackError("truncated integer");
        const b = block[pos++];
        value += (b & 0x7f) * 2 ** shift;
        shift += 7;
        if (value > 0x7fff_ffff) throw new HpackError("integer too large");
        if ((b & 0x80) === 0) return value;
      }
    };
    const string = (): string => {
      if (pos >= block.length) throw new HpackError("truncated string");
      const huffman = (block[pos] & 0x80) !== 0;
      const length = integer(7);
      if (length > block.length - pos) throw new HpackError("string length exceeds the header block");
      const bytes = block.subarray(pos, pos + length);
      pos += length;
      if (huffman) return huffmanDecode(bytes);
      let s = "";
      for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
      return s;
    };
    const emit = (field: HeaderField) => {
      sawField = true;
      listSize += field[0].length + field[1].length + ENTRY_OVERHEAD;
      if (listSize > this.#maxHeaderListSize) {
        throw new HpackError(`header list exceeds ${this.#maxHeaderListSize} bytes`, true);
      }
      fields.push(field);
    };
    while (pos < block.length) {
      const b = block[pos];
      if (b & 0x80) {
        // Indexed header field.
        emit(this.#lookup(integer(7)));
      } else if (b & 0x40) {
        // Literal with incremental indexing.
        const index = integer(6);
        const name = index === 0 ? string() : this.#lookup(index)[0];
        const field: HeaderField = [name, string()];
        this.#insert(field);
        emit(field);
      } else if (b & 0x20) {
        // Dynamic table size update: only before the first field.
        if (sawField) throw new HpackError("dynamic table size update after a header field");
        const size = integer(5);
        if (size > this.#limit) {
          throw new HpackError(`dynamic table size update to ${size} exceeds ${this.#limit}`);
        }
        this.#maxSize = size;
        this.#evict(0);
      } else {
        // Literal without indexing (0000) or never indexed (0001).
        const index = integer(4);
        const name = index === 0 ? string() : this.#lookup(index)[0];
        emit([name, string()]);
      }
    }
    return fields;
  }

  #lookup(index: number): HeaderField {
    if (index === 0) throw new HpackError("index 0");
    if (index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1];
    const entry = this.#table[index - STATIC_TABLE.length - 1];
    if (entry === undefined) throw new HpackError(`index ${index} is outside the tables`);
    return entry;
  }

  #evict(room: number): void {
    while (this.#size + room > this.#maxSize && this.#table.length > 0) {
      const [name, value] = this.#table.pop()!;
      this.#size -= name.length + value.length + ENTRY_OVERHEAD;
    }
  }

  #insert(field: HeaderField): void {
    const size = field[0].length + field[1].length + ENTRY_OVERHEAD;
    this.#evict(size);
    if (size > this.#maxSize) return; // An entry larger than the table empties it (RFC 7541 §4.4).
    this.#table.unshift(field);
    this.#size += size;
  }
}

const STATIC_NAME_INDEX = new Map<string, number>();
STATIC_TABLE.forEach(([name], i) => {
  if (!STATIC_NAME_INDEX.has(name)) STATIC_NAME_INDEX.set(name, i + 1);
});

/**
 * Encodes header fields without indexing and without Huffman coding: a static-table reference for
 * `:status: 200`, a static-table name where there is one, literal names otherwise. Names must be lower
 * case; values must be Latin-1 (callers send ASCII).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeHeaders, HpackDecoder } from "./hpack.ts";
 * const block = encodeHeaders([[":status", "200"], ["content-type", "application/grpc"], ["grpc-status", "0"]]);
 * const fields = new HpackDecoder({ maxHeaderListSize: 4096 }).decode(block);
 * assert.deepEqual(fields, [[":status", "200"], ["content-type", "application/grpc"], ["grpc-status", "0"]]);
 * ```
 *
 * @param fields The fields in order.
 * @returns The header block.
 */
export function encodeHeaders(fields: readonly HeaderField[]): Uint8Array {
  const out: number[] = [];
  const integer = (value: number, prefixBits: number, first: number) => {
    const mask = (1 << prefixBits) - 1;
    if (value < mask) {
      out.push(first | value);
      return;
    }
    out.push(first | mask);
    value -= mask;
    while (value >= 0x80) {
      out.push((value & 0x7f) | 0x80);
      value = Math.floor(value / 128);
    }
    out.push(value);
  };
  const string = (s: string) => {
    integer(s.length, 7, 0);
    for (let i = 0; i < s.length; i++) out.push(s.charCodeAt(i) & 0xff);
  };
  for (const [name, value] of fields) {
    if (name === ":status" && value === "200") {
      out.push(0x88);
      continue;
    }
    const index = STATIC_NAME_INDEX.get(name);
    if (index !== undefined) {
      integer(index, 4, 0);
    } else {
      out.push(0);
      string(name);
    }
    string(value);
  }
  return Uint8Array.from(out);
}
