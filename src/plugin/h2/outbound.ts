/**
 * What a connection sends: frames are queued and written to the transport together once the current task
 * is done (one write per burst), header blocks are cut into HEADERS + CONTINUATION frames at the peer's
 * SETTINGS_MAX_FRAME_SIZE, and replies the peer provokes are refused once it stops reading.
 *
 * @module
 */

import { concatBytes } from "../../io.ts";
import {
  encodeFrame,
  ErrorCode,
  Flag,
  FRAME_HEADER_LENGTH,
  FrameType,
  H2Error,
  writeFrameHeader,
} from "./frames.ts";

/** Where the connection's bytes go. */
export interface H2Transport {
  /** Sends bytes (in order). */
  write(bytes: Uint8Array): void;
  /** Closes the transport after what was written. */
  close(): void;
  /** Bytes written and not yet handed to the OS. */
  readonly pendingBytes: number;
}

/**
 * The frames of one header block: one HEADERS frame, or HEADERS then CONTINUATION frames of at most
 * `maxFrameSize` bytes each; END_HEADERS on the last, END_STREAM (when asked) on the first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FrameType } from "./frames.ts";
 * import { headerBlockFrames } from "./outbound.ts";
 * const frames = headerBlockFrames(1, new Uint8Array(40_000), true, 16_384);
 * assert.deepEqual(frames.map((f) => f[3]), [FrameType.HEADERS, FrameType.CONTINUATION, FrameType.CONTINUATION]);
 * assert.deepEqual(frames.map((f) => f[4]), [0x1, 0x0, 0x4]);
 * ```
 *
 * @param id The stream.
 * @param block The HPACK-encoded block.
 * @param endStream Whether the block ends the stream.
 * @param maxFrameSize The peer's SETTINGS_MAX_FRAME_SIZE.
 * @returns The encoded frames, in order.
 */
export function headerBlockFrames(
  id: number,
  block: Uint8Array,
  endStream: boolean,
  maxFrameSize: number,
): Uint8Array[] {
  if (block.length <= maxFrameSize) {
    const out = new Uint8Array(FRAME_HEADER_LENGTH + block.length);
    writeFrameHeader(
      out,
      0,
      block.length,
      FrameType.HEADERS,
      Flag.END_HEADERS | (endStream ? Flag.END_STREAM : 0),
      id,
    );
    out.set(block, FRAME_HEADER_LENGTH);
    return [out];
  }
  const frames: Uint8Array[] = [];
  for (let off = 0; off < block.length; off += maxFrameSize) {
    const part = block.subarray(off, off + maxFrameSize);
    const last = off + maxFrameSize >= block.length;
    const type = off === 0 ? FrameType.HEADERS : FrameType.CONTINUATION;
    const flags = (last ? Flag.END_HEADERS : 0) | (off === 0 && endStream ? Flag.END_STREAM : 0);
    frames.push(encodeFrame(type, flags, id, part));
  }
  return frames;
}

/**
 * The outbound queue of one connection.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Outbound } from "./outbound.ts";
 * const written: Uint8Array[] = [];
 * const out = new Outbound({ write: (b) => written.push(b), close() {}, pendingBytes: 0 }, 100);
 * out.send(Uint8Array.of(1));
 * out.send(Uint8Array.of(2));
 * await Promise.resolve();
 * assert.deepEqual(written.map((b) => [...b]), [[1, 2]]);
 * out.send(new Uint8Array(101)); // not yet written: the peer is taken not to read
 * assert.throws(() => out.sendControl(Uint8Array.of(0)), /does not read our replies/);
 * ```
 */
export class Outbound {
  readonly #transport: H2Transport;
  readonly #maxBytes: number;
  #out: Uint8Array[] = [];
  #outBytes = 0;
  #flushScheduled = false;
  #stopped = false;

  /**
   * @param transport Where the bytes go.
   * @param maxBytes Queued and unwritten bytes beyond which the peer is taken not to read.
   */
  constructor(transport: H2Transport, maxBytes: number) {
    this.#transport = transport;
    this.#maxBytes = maxBytes;
  }

  /** Whether more than the limit waits for the transport (checked as the peer's bytes arrive). */
  get peerNotReading(): boolean {
    return this.#transport.pendingBytes > this.#maxBytes;
  }

  /** Queues a frame (ignored once stopped); the queue is written once the current task is done. */
  send(frame: Uint8Array): void {
    if (this.#stopped) return;
    this.#out.push(frame);
    this.#outBytes += frame.length;
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  /**
   * Queues a reply the peer provokes (PING ACK, SETTINGS ACK).
   *
   * @throws {H2Error} ENHANCE_YOUR_CALM when the peer does not read what we send.
   */
  sendControl(frame: Uint8Array): void {
    if (this.#transport.pendingBytes + this.#outBytes > this.#maxBytes) {
      throw new H2Error(ErrorCode.ENHANCE_YOUR_CALM, "the host does not read our replies");
    }
    this.send(frame);
  }

  /** Accepts nothing more; what is queued is still written. */
  stop(): void {
    this.#stopped = true;
  }

  /** Writes what is queued now. */
  flush(): void {
    this.#flushScheduled = false;
    if (this.#out.length === 0) return;
    const bytes = this.#out.length === 1 ? this.#out[0] : concatBytes(this.#out, this.#outBytes);
    this.#out = [];
    this.#outBytes = 0;
    this.#transport.write(bytes);
  }
}
