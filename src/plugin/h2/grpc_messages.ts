/**
 * gRPC message framing (the gRPC "PROTOCOL-HTTP2" spec, Length-Prefixed-Message): a 1-byte compressed flag
 * (always 0 here), a 4-byte big-endian length, the bytes. {@linkcode MessageReader} cuts a request's DATA
 * into messages, refusing compressed ones and any above {@linkcode MAX_MESSAGE_BYTES} from their prefix
 * alone, and counts what it holds against the connection's {@linkcode ConnectionBudget}.
 *
 * @module
 */

import { GrpcCode } from "../grpc_status.ts";
import type { CallStatus } from "./grpc_method.ts";

/** The largest request message accepted (grpc-go's default `MaxRecvMsgSize`). */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
/**
 * The most bytes of request messages one connection may hold: partly received ones, and complete unary or
 * server-stream requests until their call ends.
 */
export const MAX_PENDING_BYTES_PER_CONNECTION = 16 * 1024 * 1024;

/** Per-connection state shared by its calls. */
export interface ConnectionBudget {
  /** Bytes of request messages held now (see {@linkcode MAX_PENDING_BYTES_PER_CONNECTION}). */
  pending: number;
}

/**
 * A length-prefixed message frame.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { frameMessage } from "./grpc_messages.ts";
 * assert.deepEqual([...frameMessage(Uint8Array.of(8, 1))], [0, 0, 0, 0, 2, 8, 1]);
 * ```
 *
 * @param bytes The encoded message.
 * @returns The prefix and the bytes.
 */
export function frameMessage(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + bytes.length);
  const n = bytes.length;
  out[1] = n >>> 24;
  out[2] = (n >>> 16) & 0xff;
  out[3] = (n >>> 8) & 0xff;
  out[4] = n & 0xff;
  out.set(bytes, 5);
  return out;
}

/**
 * Reassembles the request messages of one call from its DATA, whatever the chunking. A message being
 * received counts against the connection budget; with `holdMessages` a complete one stays counted until
 * {@linkcode MessageReader.release} (its call holds it until it ends), else it is released as handed over.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { frameMessage, MessageReader } from "./grpc_messages.ts";
 * const budget = { pending: 0 };
 * const reader = new MessageReader(budget, true);
 * const got: number[][] = [];
 * const bytes = frameMessage(Uint8Array.of(1, 2, 3));
 * assert.equal(reader.push(bytes.subarray(0, 6), (m) => got.push([...m]), () => false), null);
 * assert.equal(reader.midMessage, true);
 * reader.push(bytes.subarray(6), (m) => got.push([...m]), () => false);
 * assert.deepEqual(got, [[1, 2, 3]]);
 * assert.equal(budget.pending, 3);
 * reader.release();
 * assert.equal(budget.pending, 0);
 * assert.equal(reader.push(Uint8Array.of(1, 0, 0, 0, 0), () => {}, () => false)?.code, 13);
 * ```
 */
export class MessageReader {
  readonly #budget: ConnectionBudget;
  readonly #holdMessages: boolean;
  #header = new Uint8Array(5);
  #headerFill = 0;
  #body: Uint8Array | null = null;
  #bodyFill = 0;
  #held = 0;

  /**
   * @param budget The connection's budget.
   * @param holdMessages Whether complete messages stay counted until {@linkcode MessageReader.release}.
   */
  constructor(budget: ConnectionBudget, holdMessages: boolean) {
    this.#budget = budget;
    this.#holdMessages = holdMessages;
  }

  /** Whether a message is partly received (the request may not end here). */
  get midMessage(): boolean {
    return this.#body !== null || this.#headerFill > 0;
  }

  /**
   * Feeds DATA. Stops at the first problem, or once `stopped` says so (checked after each message).
   *
   * @param chunk The DATA payload (read during the call only).
   * @param onMessage Receives each complete message.
   * @param stopped Whether the call ended meanwhile.
   * @returns The status to fail the call with, or null.
   */
  push(chunk: Uint8Array, onMessage: (bytes: Uint8Array) => void, stopped: () => boolean): CallStatus | null {
    let pos = 0;
    while (pos < chunk.length && !stopped()) {
      if (this.#body === null) {
        const n = Math.min(5 - this.#headerFill, chunk.length - pos);
        this.#header.set(chunk.subarray(pos, pos + n), this.#headerFill);
        this.#headerFill += n;
        pos += n;
        if (this.#headerFill < 5) break;
        this.#headerFill = 0;
        const problem = this.#startBody();
        if (problem) return problem;
      }
      const body = this.#body!;
      const n = Math.min(body.length - this.#bodyFill, chunk.length - pos);
      body.set(chunk.subarray(pos, pos + n), this.#bodyFill);
      this.#bodyFill += n;
      pos += n;
      if (this.#bodyFill === body.length) {
        this.#body = null;
        // A unary or server-stream request stays held (and counted) until the call ends; a bidi message is
        // handed over at once.
        if (this.#holdMessages) this.#held += body.length;
        else this.#budget.pending -= body.length;
        onMessage(body);
      }
    }
    return null;
  }

  /** Checks a complete prefix and makes room for the body. */
  #startBody(): CallStatus | null {
    const h = this.#header;
    if (h[0] !== 0) {
      return {
        code: GrpcCode.INTERNAL,
        details: h[0] === 1
          ? "grpc: compressed flag set with identity or empty encoding"
          : `grpc: invalid message flags ${h[0]}`,
      };
    }
    const length = ((h[1] << 24) | (h[2] << 16) | (h[3] << 8) | h[4]) >>> 0;
    if (length > MAX_MESSAGE_BYTES) {
      return {
        code: GrpcCode.RESOURCE_EXHAUSTED,
        details: `grpc: received message larger than max (${length} vs. ${MAX_MESSAGE_BYTES})`,
      };
    }
    if (this.#budget.pending + length > MAX_PENDING_BYTES_PER_CONNECTION) {
      return { code: GrpcCode.RESOURCE_EXHAUSTED, details: "too many large messages in flight" };
    }
    this.#budget.pending += length;
    this.#body = new Uint8Array(length);
    this.#bodyFill = 0;
    return null;
  }

  /** The call ended: everything this reader counted is released. */
  release(): void {
    if (this.#body) this.#budget.pending -= this.#body.length;
    this.#body = null;
    this.#budget.pending -= this.#held;
    this.#held = 0;
  }
}
