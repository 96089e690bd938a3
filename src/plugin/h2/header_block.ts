/**
 * Header blocks (RFC 9113 §4.3, §6.2, §6.10): assembling one from a HEADERS frame and its CONTINUATION
 * frames, bounded in size before anything is decoded, and decoding it with the connection's HPACK decoder.
 * What the block means is the connection's business.
 *
 * @module
 */

import { concatBytes } from "../../io.ts";
import { ErrorCode, Flag, type Frame, H2Error, unpad } from "./frames.ts";
import { type HeaderField, type HpackDecoder, HpackError } from "./hpack.ts";

/** A complete header block and the HEADERS frame's stream and flags. */
export interface HeaderBlock {
  /** The stream the block belongs to. */
  readonly streamId: number;
  /** The flags of the HEADERS frame (END_STREAM matters). */
  readonly flags: number;
  /** The HPACK-encoded block. */
  readonly block: Uint8Array;
}

/**
 * Collects the fragments of one header block at a time. While a block is open, every frame the connection
 * receives must be one of its CONTINUATION frames.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Flag, FrameType } from "./frames.ts";
 * import { HeaderBlockAssembler } from "./header_block.ts";
 * const a = new HeaderBlockAssembler(100);
 * assert.equal(a.headers({ type: FrameType.HEADERS, flags: 0, streamId: 1, payload: Uint8Array.of(1) }), null);
 * assert.equal(a.open, true);
 * const done = a.continuation({
 *   type: FrameType.CONTINUATION, flags: Flag.END_HEADERS, streamId: 1, payload: Uint8Array.of(2),
 * });
 * assert.deepEqual([...done!.block], [1, 2]);
 * assert.equal(a.open, false);
 * ```
 */
export class HeaderBlockAssembler {
  readonly #maxBytes: number;
  #current: { streamId: number; flags: number; fragments: Uint8Array[]; bytes: number } | null = null;

  /** @param maxBytes The largest block accepted (ENHANCE_YOUR_CALM beyond). */
  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** Whether a block waits for CONTINUATION frames. */
  get open(): boolean {
    return this.#current !== null;
  }

  /**
   * Starts a block with a HEADERS frame (padding and priority fields removed).
   *
   * @returns The block when the frame has END_HEADERS, else null.
   * @throws {H2Error} for bad padding, a truncated priority field, or a block above the limit.
   */
  headers(f: Frame): HeaderBlock | null {
    let payload = unpad(f);
    if (f.flags & Flag.PRIORITY) {
      if (payload.length < 5) {
        throw new H2Error(ErrorCode.FRAME_SIZE_ERROR, "HEADERS priority field truncated");
      }
      payload = payload.subarray(5); // Priority is advisory: ignored.
    }
    this.#current = { streamId: f.streamId, flags: f.flags, fragments: [], bytes: 0 };
    this.#add(payload);
    return (f.flags & Flag.END_HEADERS) ? this.#done() : null;
  }

  /**
   * Adds a CONTINUATION frame.
   *
   * @returns The block when the frame has END_HEADERS, else null.
   * @throws {H2Error} PROTOCOL_ERROR without an open block on that stream; ENHANCE_YOUR_CALM above the limit.
   */
  continuation(f: Frame): HeaderBlock | null {
    const c = this.#current;
    if (c === null || c.streamId !== f.streamId) {
      throw new H2Error(ErrorCode.PROTOCOL_ERROR, "CONTINUATION without an open header block");
    }
    this.#add(f.payload);
    return (f.flags & Flag.END_HEADERS) ? this.#done() : null;
  }

  #add(fragment: Uint8Array): void {
    const c = this.#current!;
    c.bytes += fragment.length;
    if (c.bytes > this.#maxBytes) {
      throw new H2Error(ErrorCode.ENHANCE_YOUR_CALM, `header block exceeds ${this.#maxBytes} bytes`);
    }
    // Transports hand over fresh buffers (never reused), so a view is safe to keep.
    c.fragments.push(fragment);
  }

  #done(): HeaderBlock {
    const c = this.#current!;
    this.#current = null;
    const block = c.fragments.length === 1 ? c.fragments[0] : concatBytes(c.fragments, c.bytes);
    return { streamId: c.streamId, flags: c.flags, block };
  }
}

/**
 * Decodes a complete header block. A failure is a connection error: the decoder's dynamic table may be out
 * of step with the peer's, so the connection cannot continue.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeHeaderBlock } from "./header_block.ts";
 * import { encodeHeaders, HpackDecoder } from "./hpack.ts";
 * const decoder = new HpackDecoder({ maxHeaderListSize: 1000 });
 * assert.deepEqual(decodeHeaderBlock(decoder, encodeHeaders([["a", "b"]])), [["a", "b"]]);
 * assert.throws(() => decodeHeaderBlock(decoder, Uint8Array.of(0xff)), /header block: /);
 * ```
 *
 * @param decoder The connection's decoder.
 * @param block The block.
 * @returns The header fields, in order.
 * @throws {H2Error} COMPRESSION_ERROR for a malformed block, ENHANCE_YOUR_CALM for a list above the limit.
 */
export function decodeHeaderBlock(decoder: HpackDecoder, block: Uint8Array): HeaderField[] {
  try {
    return decoder.decode(block);
  } catch (err) {
    if (err instanceof HpackError) {
      throw new H2Error(
        err.tooLarge ? ErrorCode.ENHANCE_YOUR_CALM : ErrorCode.COMPRESSION_ERROR,
        `header block: ${err.message}`,
      );
    }
    throw err;
  }
}
