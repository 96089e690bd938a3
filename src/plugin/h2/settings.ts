/**
 * HTTP/2 settings (RFC 9113 §6.5) on the server side: the limits we announce and enforce
 * ({@linkcode H2Limits}, {@linkcode DEFAULT_LIMITS}), the frames that open a connection with them, and the
 * checks and effects of the peer's SETTINGS on what we send ({@linkcode PeerSettings}).
 *
 * @module
 */

import {
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_WINDOW,
  ErrorCode,
  H2Error,
  MAX_WINDOW,
  readUint32,
  Setting,
  settingsFrame,
  windowUpdateFrame,
} from "./frames.ts";

/** Limits of one connection. */
export interface H2Limits {
  /** SETTINGS_MAX_CONCURRENT_STREAMS we announce and enforce (REFUSED_STREAM beyond). */
  readonly maxConcurrentStreams: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE we announce and enforce (decoded size, RFC 9113 accounting). */
  readonly maxHeaderListSize: number;
  /** The largest header block (HEADERS + CONTINUATION fragments) we buffer before decoding. */
  readonly maxHeaderBlockBytes: number;
  /** SETTINGS_INITIAL_WINDOW_SIZE we announce: what one stream may send before we acknowledge. */
  readonly streamWindow: number;
  /** The connection receive window we open at the start. */
  readonly connectionWindow: number;
  /** Outbound bytes waiting for the transport beyond which the peer is not reading: connection error. */
  readonly maxOutboundBytes: number;
  /** Time for the preface and the first SETTINGS to arrive (ms) before the connection is closed. */
  readonly handshakeTimeoutMs: number;
}

/** The limits the plugin uses. */
export const DEFAULT_LIMITS: H2Limits = {
  // Not small: the broker and stdio streams stay open and Attest calls arrive in bursts (a node restart);
  // grpc-go queues streams beyond the limit rather than failing them. Each stream costs a few hundred bytes;
  // request messages held are bounded per connection in grpc.ts.
  maxConcurrentStreams: 1000,
  maxHeaderListSize: 16_384,
  maxHeaderBlockBytes: 32_768,
  streamWindow: 1 << 20,
  connectionWindow: 16 << 20,
  maxOutboundBytes: 8 << 20,
  // grpc-go sends both at once on connecting (its own server allows 120 s for the whole handshake); a
  // connection that sends nothing would otherwise hold its socket, and keep the plugin from noticing that the
  // host is gone, for ever.
  handshakeTimeoutMs: 10_000,
};

/**
 * The frames a server connection opens with: our SETTINGS (no push, our limits), then a connection
 * WINDOW_UPDATE when our connection window is larger than the default.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FrameType } from "./frames.ts";
 * import { DEFAULT_LIMITS, openingFrames } from "./settings.ts";
 * const frames = openingFrames(DEFAULT_LIMITS);
 * assert.deepEqual(frames.map((f) => f[3]), [FrameType.SETTINGS, FrameType.WINDOW_UPDATE]);
 * ```
 *
 * @param limits Our limits.
 * @returns The encoded frames, in order.
 */
export function openingFrames(limits: H2Limits): Uint8Array[] {
  const frames = [settingsFrame([
    [Setting.ENABLE_PUSH, 0],
    [Setting.MAX_CONCURRENT_STREAMS, limits.maxConcurrentStreams],
    [Setting.INITIAL_WINDOW_SIZE, limits.streamWindow],
    [Setting.MAX_HEADER_LIST_SIZE, limits.maxHeaderListSize],
  ])];
  if (limits.connectionWindow > DEFAULT_WINDOW) {
    frames.push(windowUpdateFrame(0, limits.connectionWindow - DEFAULT_WINDOW));
  }
  return frames;
}

/** The peer's settings that shape what we send. */
export interface PeerSettings {
  /** SETTINGS_INITIAL_WINDOW_SIZE: the send window of a new stream. */
  initialWindow: number;
  /** SETTINGS_MAX_FRAME_SIZE: the largest frame payload we may send. */
  maxFrameSize: number;
}

/** The settings of a peer that sent none yet (RFC 9113 §6.5.2 defaults). */
export function defaultPeerSettings(): PeerSettings {
  return { initialWindow: DEFAULT_WINDOW, maxFrameSize: DEFAULT_MAX_FRAME_SIZE };
}

/**
 * Applies the payload of a SETTINGS frame (not an ACK) to `peer`, in order. The changes of
 * SETTINGS_INITIAL_WINDOW_SIZE are handed to `adjustWindows` once per frame (RFC 9113 §6.9.2): `delta` is
 * what to add to every open stream's send window, and `peak` the largest difference any value of the frame
 * made on the way, against which a window must not exceed 2^31-1. Once per frame, not per setting: a frame
 * of 2730 such settings would otherwise walk every open stream 2730 times. HEADER_TABLE_SIZE is ignored (our
 * encoder never indexes), and unknown or advisory settings too.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { applyPeerSettings, defaultPeerSettings } from "./settings.ts";
 * const peer = defaultPeerSettings();
 * const calls: [number, number][] = [];
 * const payload = Uint8Array.of(0, 4, 0, 1, 0, 0, 0, 4, 0, 0, 0, 100, 0, 5, 0, 0, 0x80, 0);
 * applyPeerSettings(payload, peer, (delta, peak) => calls.push([delta, peak]));
 * assert.deepEqual(peer, { initialWindow: 100, maxFrameSize: 32_768 });
 * assert.deepEqual(calls, [[100 - 65_535, 65_536 - 65_535]]);
 * assert.throws(() => applyPeerSettings(Uint8Array.of(0, 2, 0, 0, 0, 2), peer, () => {}), /ENABLE_PUSH/);
 * ```
 *
 * @param payload The SETTINGS payload.
 * @param peer The peer's settings, updated in place.
 * @param adjustWindows Adds `delta` to every open stream's send window; throws a connection error when a
 *   window plus `peak` exceeds 2^31-1.
 * @throws {H2Error} FRAME_SIZE_ERROR for a length not a multiple of 6, PROTOCOL_ERROR or
 *   FLOW_CONTROL_ERROR for a value out of range.
 */
export function applyPeerSettings(
  payload: Uint8Array,
  peer: PeerSettings,
  adjustWindows: (delta: number, peak: number) => void,
): void {
  if (payload.length % 6 !== 0) {
    throw new H2Error(ErrorCode.FRAME_SIZE_ERROR, "SETTINGS length not a multiple of 6");
  }
  const initialBefore = peer.initialWindow;
  let initialPeak = -Infinity;
  for (let i = 0; i < payload.length; i += 6) {
    const id = (payload[i] << 8) | payload[i + 1];
    const value = readUint32(payload, i + 2);
    switch (id) {
      case Setting.ENABLE_PUSH:
        if (value > 1) throw new H2Error(ErrorCode.PROTOCOL_ERROR, "SETTINGS_ENABLE_PUSH not 0 or 1");
        break;
      case Setting.INITIAL_WINDOW_SIZE:
        if (value > MAX_WINDOW) {
          throw new H2Error(ErrorCode.FLOW_CONTROL_ERROR, "SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1");
        }
        peer.initialWindow = value;
        initialPeak = Math.max(initialPeak, value);
        break;
      case Setting.MAX_FRAME_SIZE:
        if (value < DEFAULT_MAX_FRAME_SIZE || value > 0xff_ffff) {
          throw new H2Error(ErrorCode.PROTOCOL_ERROR, `SETTINGS_MAX_FRAME_SIZE ${value} out of range`);
        }
        peer.maxFrameSize = value;
        break;
      default:
        break; // HEADER_TABLE_SIZE: our encoder never indexes; others are advisory or unknown.
    }
  }
  if (initialPeak !== -Infinity) {
    adjustWindows(peer.initialWindow - initialBefore, initialPeak - initialBefore);
  }
}
