/**
 * HTTP/2 flow control (RFC 9113 §5.2, §6.9) on the server side, both ways: what the peer may still send us
 * (the connection receive window, acknowledged in halves; stream windows are acknowledged as the consumer
 * frees bytes) and what we may still send it ({@linkcode SendWindows}: DATA cut to the connection window,
 * the stream window and the peer's SETTINGS_MAX_FRAME_SIZE; streams without room wait for a WINDOW_UPDATE
 * or a SETTINGS change).
 *
 * @module
 */

import {
  DEFAULT_WINDOW,
  ErrorCode,
  FRAME_HEADER_LENGTH,
  FrameType,
  H2Error,
  MAX_WINDOW,
  writeFrameHeader,
} from "./frames.ts";
import type { PeerSettings } from "./settings.ts";
import type { H2Stream } from "./stream.ts";

/**
 * The connection's receive window: every DATA frame counts against it, whatever becomes of its stream,
 * and it is acknowledged (one connection WINDOW_UPDATE) once half of it was received.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConnectionReceiveWindow } from "./flow_control.ts";
 * const w = new ConnectionReceiveWindow(100);
 * assert.equal(w.received(30), 0);
 * assert.equal(w.received(20), 50);
 * assert.throws(() => w.received(101), /exceeded the connection window/);
 * ```
 */
export class ConnectionReceiveWindow {
  readonly #size: number;
  #unacked = 0;

  /** @param size The window we opened. */
  constructor(size: number) {
    this.#size = size;
  }

  /**
   * Counts a received DATA frame.
   *
   * @param length The frame's payload length (padding included).
   * @returns The increment to acknowledge now, or 0.
   * @throws {H2Error} FLOW_CONTROL_ERROR when the peer sent more than the window.
   */
  received(length: number): number {
    this.#unacked += length;
    if (this.#unacked > this.#size) {
      throw new H2Error(ErrorCode.FLOW_CONTROL_ERROR, "the host exceeded the connection window");
    }
    if (this.#unacked < this.#size / 2) return 0;
    const increment = this.#unacked;
    this.#unacked = 0;
    return increment;
  }
}

/**
 * The stream WINDOW_UPDATE due once the consumer freed at least half of the stream window: reopens the
 * stream's receive window by that much.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { streamAcknowledgement } from "./flow_control.ts";
 * const s = { unacked: 60, recvWindow: 40 };
 * assert.equal(streamAcknowledgement(s, 100), 60);
 * assert.deepEqual(s, { unacked: 0, recvWindow: 100 });
 * assert.equal(streamAcknowledgement({ unacked: 10, recvWindow: 90 }, 100), 0);
 * ```
 *
 * @param s The stream's receive accounting (updated when an update is due).
 * @param streamWindow The stream window we announced.
 * @returns The increment to send now, or 0.
 */
export function streamAcknowledgement(
  s: Pick<H2Stream, "unacked" | "recvWindow">,
  streamWindow: number,
): number {
  if (s.unacked < streamWindow / 2) return 0;
  const increment = s.unacked;
  s.recvWindow += increment;
  s.unacked = 0;
  return increment;
}

/**
 * Applies a change of the peer's SETTINGS_INITIAL_WINDOW_SIZE to the send windows of the open streams (RFC
 * 9113 §6.9.2): each moves by `delta`; `peak` is the largest increase within the SETTINGS frame, so a window
 * that would pass 2^31-1 part-way through the frame is an error too.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { shiftSendWindows } from "./flow_control.ts";
 * const streams = [{ sendWindow: 10 }, { sendWindow: -5 }];
 * shiftSendWindows(streams, 100, 100);
 * assert.deepEqual(streams.map((s) => s.sendWindow), [110, 95]);
 * assert.throws(() => shiftSendWindows([{ sendWindow: 2 ** 31 - 1 }], 1, 1), /exceeds/);
 * ```
 *
 * @param streams The open streams.
 * @param delta The net change of the initial window.
 * @param peak The largest increase seen within the frame.
 * @throws {H2Error} FLOW_CONTROL_ERROR when a window would exceed 2^31-1.
 */
export function shiftSendWindows(
  streams: Iterable<{ sendWindow: number }>,
  delta: number,
  peak: number,
): void {
  for (const s of streams) {
    if (s.sendWindow + peak > MAX_WINDOW) {
      throw new H2Error(ErrorCode.FLOW_CONTROL_ERROR, "a stream window exceeds 2^31-1");
    }
    s.sendWindow += delta;
  }
}

/**
 * Our send windows: the connection's, and each stream's (kept on the stream). DATA leaves only as the
 * windows and the peer's frame size allow; a stream that cannot send waits in the blocked set until
 * {@linkcode SendWindows.blocked} is drained again.
 */
export class SendWindows {
  readonly #peer: PeerSettings;
  readonly #send: (frame: Uint8Array) => void;
  readonly #blocked = new Set<H2Stream>();
  #connection = DEFAULT_WINDOW;

  /**
   * @param peer The peer's settings (read at each send: SETTINGS_MAX_FRAME_SIZE may change).
   * @param send Queues an encoded frame.
   */
  constructor(peer: PeerSettings, send: (frame: Uint8Array) => void) {
    this.#peer = peer;
    this.#send = send;
  }

  /**
   * Sends what the windows allow of the stream's queue.
   *
   * @returns True when the queue is empty; false when the stream waits for window.
   */
  drain(s: H2Stream): boolean {
    while (s.queue.length > 0) {
      const chunk = s.queue[0];
      const room = Math.min(this.#connection, s.sendWindow, this.#peer.maxFrameSize);
      if (room <= 0) {
        this.#blocked.add(s);
        return false;
      }
      const n = Math.min(room, chunk.length);
      const out = new Uint8Array(FRAME_HEADER_LENGTH + n);
      writeFrameHeader(out, 0, n, FrameType.DATA, 0, s.id);
      out.set(n === chunk.length ? chunk : chunk.subarray(0, n), FRAME_HEADER_LENGTH);
      this.#send(out);
      this.#connection -= n;
      s.sendWindow -= n;
      if (n === chunk.length) s.queue.shift();
      else s.queue[0] = chunk.subarray(n);
    }
    this.#blocked.delete(s);
    return true;
  }

  /**
   * Adds a connection WINDOW_UPDATE's increment.
   *
   * @throws {H2Error} PROTOCOL_ERROR for 0, FLOW_CONTROL_ERROR beyond 2^31-1.
   */
  credit(increment: number): void {
    if (increment === 0) throw new H2Error(ErrorCode.PROTOCOL_ERROR, "connection WINDOW_UPDATE of 0");
    this.#connection += increment;
    if (this.#connection > MAX_WINDOW) {
      throw new H2Error(ErrorCode.FLOW_CONTROL_ERROR, "connection window exceeds 2^31-1");
    }
  }

  /** The streams waiting for window (a copy: draining them changes the set). */
  blocked(): H2Stream[] {
    return [...this.#blocked];
  }

  /** The stream is gone: it waits no more. */
  forget(s: H2Stream): void {
    this.#blocked.delete(s);
  }
}
