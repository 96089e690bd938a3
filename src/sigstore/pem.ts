/**
 * PEM blocks and public keys for the sigstore trust and Rekor checks: strict PEM parsing (base64 bodies,
 * matching labels) and SPKI public keys from PEM or DER with their log ID.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { createHash, createPublicKey, type KeyObject } from "node:crypto";

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;

const BASE64_BODY = /^[A-Za-z0-9+/=\s]*$/;

/** One PEM block: its label and its DER bytes. */
export interface PemBlock {
  /** The label, e.g. `CERTIFICATE`, `PUBLIC KEY`. */
  readonly label: string;
  /** The decoded bytes. */
  readonly der: Buffer;
}

/**
 * Splits PEM text into blocks. Text between blocks must be whitespace; a block with mismatched labels or a
 * body that is not base64 is an error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePemBlocks } from "./x509.ts";
 * const blocks = parsePemBlocks("-----BEGIN PUBLIC KEY-----\nAAEC\n-----END PUBLIC KEY-----\n");
 * assert.equal(blocks[0].label, "PUBLIC KEY");
 * assert.deepEqual([...blocks[0].der], [0, 1, 2]);
 * ```
 *
 * @param text PEM text.
 * @returns The blocks in order (empty when there is none).
 */
export function parsePemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  let last = 0;
  for (const match of text.matchAll(PEM_BLOCK)) {
    if (text.slice(last, match.index).trim() !== "") throw new Error("text outside a PEM block");
    last = match.index + match[0].length;
    const [, begin, body, end] = match;
    if (begin !== end) throw new Error(`PEM block BEGIN ${begin} ends with END ${end}`);
    if (!BASE64_BODY.test(body)) throw new Error(`PEM block ${begin} is not base64`);
    const der = Buffer.from(body.replace(/\s+/g, ""), "base64");
    if (der.length === 0) throw new Error(`PEM block ${begin} is empty`);
    blocks.push({ label: begin, der });
  }
  if (text.slice(last).trim() !== "") throw new Error("text outside a PEM block");
  return blocks;
}

/**
 * Loads an SPKI public key from PEM or DER bytes and gives its log ID (hex sha256 of the SPKI DER).
 *
 * @param bytes A `PUBLIC KEY` PEM (text bytes) or SPKI DER.
 * @returns The key, its SPKI DER and its log ID.
 * @throws Error when no usable public key is found.
 */
export function loadPublicKey(
  bytes: Uint8Array,
): { key: KeyObject; spki: Buffer; logId: string; pem: string } {
  let spkiDer: Buffer;
  const text = new TextDecoder().decode(bytes);
  if (text.includes("-----BEGIN")) {
    const blocks = parsePemBlocks(text);
    if (blocks.length !== 1) throw new Error(`expected one PEM block, found ${blocks.length}`);
    if (blocks[0].label !== "PUBLIC KEY") throw new Error(`PEM block is ${blocks[0].label}, not PUBLIC KEY`);
    spkiDer = blocks[0].der;
  } else {
    spkiDer = Buffer.from(bytes);
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: spkiDer, format: "der", type: "spki" });
  } catch (err) {
    throw new Error(`not a public key: ${err instanceof Error ? err.message : String(err)}`);
  }
  const spki = key.export({ format: "der", type: "spki" }) as Buffer;
  const pem = key.export({ format: "pem", type: "spki" }) as string;
  return { key, spki, logId: createHash("sha256").update(spki).digest("hex"), pem };
}
