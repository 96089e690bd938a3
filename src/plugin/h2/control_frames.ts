/**
 * The shape checks of HTTP/2 control frames (RFC 9113 §6): where each may appear (stream 0 or a stream) and
 * its exact payload size, and what the connection needs from it. A bad frame throws the connection error the
 * RFC names; the connection (`connection.ts`) acts on the values.
 *
 * @module
 */

import { ErrorCode, Flag, type Frame, FrameType, H2Error, MAX_WINDOW, readUint32 } from "./frames.ts";

/**
 * A SETTINGS frame's kind: `true` for an ACK (which must be empty), `false` for settings to apply.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isSettingsAck } from "./control_frames.ts";
 * assert.equal(isSettingsAck({ type: 4, flags: 1, streamId: 0, payload: new Uint8Array() }), true);
 * assert.throws(() => isSettingsAck({ type: 4, flags: 0, streamId: 1, payload: new Uint8Array() }), /on a stream/);
 * ```
 *
 * @param f A SETTINGS frame.
 * @returns Whether it is an ACK.
 * @throws {H2Error} On a stream, or an ACK with a payload.
 */
export function isSettingsAck(f: Frame): boolean {
  if (f.streamId !== 0) throw new H2Error(ErrorCode.PROTOCOL_ERROR, "SETTINGS on a stream");
  if ((f.flags & Flag.ACK) === 0) return false;
  if (f.payload.length !== 0) throw new H2Error(ErrorCode.FRAME_SIZE_ERROR, "SETTINGS ACK with a payload");
  return true;
}

/**
 * What a PING asks: the 8 bytes to echo in a PING ACK, or null for an ACK of ours.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pingToEcho } from "./control_frames.ts";
 * const payload = new Uint8Array(8).fill(7);
 * assert.equal(pingToEcho({ type: 6, flags: 0, streamId: 0, payload }), payload);
 * assert.throws(() => pingToEcho({ type: 6, flags: 0, streamId: 0, payload: new Uint8Array(7) }), /8 bytes/);
 * ```
 *
 * @param f A PING frame.
 * @returns The payload to echo, or null.
 * @throws {H2Error} On a stream, or not 8 bytes.
 */
export function pingToEcho(f: Frame): Uint8Array | null {
  if (f.streamId !== 0) throw new H2Error(ErrorCode.PROTOCOL_ERROR, "PING on a stream");
  if (f.payload.length !== 8) throw new H2Error(ErrorCode.FRAME_SIZE_ERROR, "PING not 8 bytes");
  return (f.flags & Flag.ACK) !== 0 ? null : f.payload;
}

/**
 * The error code of the host's GOAWAY.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { goawayCode } from "./control_frames.ts";
 * assert.equal(goawayCode({ type: 7, flags: 0, streamId: 0, payload: new Uint8Array([0, 0, 0, 1, 0, 0, 0, 2]) }), 2);
 * ```
 *
 * @param f A GOAWAY frame.
 * @returns Its error code.
 * @throws {H2Error} On a stream, or shorter than 8 bytes.
 */
export function goawayCode(f: Frame): number {
  if (f.streamId !== 0) throw new H2Error(ErrorCode.PROTOCOL_ERROR, "GOAWAY on a stream");
  if (f.payload.length < 8) throw new H2Error(ErrorCode.FRAME_SIZE_ERROR, "GOAWAY shorter than 8 bytes");
  return readUint32(f.payload, 4);
}

/**
 * A WINDOW_UPDATE's increment (reserved bit cleared; 0 is the caller's to judge: a stream error on a stream).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { windowIncrement } from "./control_frames.ts";
 * assert.equal(windowIncrement({ type: 8, flags: 0, streamId: 0, payload: new Uint8Array([0x80, 0, 1, 0]) }), 256);
 * ```
 *
 * @param f A WINDOW_UPDATE frame.
 * @returns The increment.
 * @throws {H2Error} Not 4 bytes.
 */
export function windowIncrement(f: Frame): number {
  if (f.payload.length !== 4) throw new H2Error(ErrorCode.FRAME_SIZE_ERROR, "WINDOW_UPDATE not 4 bytes");
  return readUint32(f.payload, 0) & MAX_WINDOW;
}

/**
 * The error code of the host's RST_STREAM.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rstStreamCode } from "./control_frames.ts";
 * assert.equal(rstStreamCode({ type: 3, flags: 0, streamId: 1, payload: new Uint8Array([0, 0, 0, 8]) }), 8);
 * assert.throws(() => rstStreamCode({ type: 3, flags: 0, streamId: 0, payload: new Uint8Array(4) }), /stream 0/);
 * ```
 *
 * @param f A RST_STREAM frame.
 * @returns Its error code.
 * @throws {H2Error} On stream 0, or not 4 bytes.
 */
export function rstStreamCode(f: Frame): number {
  if (f.streamId === 0) throw new H2Error(ErrorCode.PROTOCOL_ERROR, "RST_STREAM on stream 0");
  if (f.payload.length !== 4) throw new H2Error(ErrorCode.FRAME_SIZE_ERROR, "RST_STREAM not 4 bytes");
  return readUint32(f.payload, 0);
}

/**
 * What is wrong with a PRIORITY frame's size (a stream error), or null. (Priorities themselves are ignored, as
 * RFC 9113 deprecates them.)
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { priorityProblem } from "./control_frames.ts";
 * assert.equal(priorityProblem({ type: 2, flags: 0, streamId: 1, payload: new Uint8Array(5) }), null);
 * assert.match(priorityProblem({ type: 2, flags: 0, streamId: 1, payload: new Uint8Array(4) })!, /5 bytes/);
 * ```
 *
 * @param f A PRIORITY frame.
 * @returns The stream error's message, or null.
 * @throws {H2Error} On stream 0.
 */
export function priorityProblem(f: Frame): string | null {
  if (f.streamId === 0) throw new H2Error(ErrorCode.PROTOCOL_ERROR, "PRIORITY on stream 0");
  return f.payload.length === 5 ? null : "PRIORITY frame not 5 bytes";
}

/**
 * Checks that the first frame after the client preface is a SETTINGS frame that is not an ACK (RFC 9113 §3.4).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requireInitialSettings } from "./control_frames.ts";
 * requireInitialSettings({ type: 4, flags: 0, streamId: 0, payload: new Uint8Array() });
 * assert.throws(() => requireInitialSettings({ type: 6, flags: 0, streamId: 0, payload: new Uint8Array(8) }));
 * ```
 *
 * @param f The first frame.
 * @throws {H2Error} Anything else.
 */
export function requireInitialSettings(f: Frame): void {
  if (f.type !== FrameType.SETTINGS || (f.flags & Flag.ACK) !== 0) {
    throw new H2Error(ErrorCode.PROTOCOL_ERROR, "the first frame after the preface is not SETTINGS");
  }
}
