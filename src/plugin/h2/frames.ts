/**
 * The HTTP/2 frame layer (RFC 9113 §4, §6): frame types, flags, error codes and settings identifiers, a
 * frame encoder, and {@linkcode FrameReader}, which cuts a byte stream into frames without copying more than
 * one frame's worth of bytes. Nothing here knows streams or HPACK.
 *
 * @module
 */

/** Frame types (RFC 9113 §6). */
export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

/** Frame flags (RFC 9113 §6). */
export const Flag = {
  /** DATA, HEADERS. */
  END_STREAM: 0x1,
  /** SETTINGS, PING. */
  ACK: 0x1,
  /** HEADERS, CONTINUATION. */
  END_HEADERS: 0x4,
  /** DATA, HEADERS. */
  PADDED: 0x8,
  /** HEADERS. */
  PRIORITY: 0x20,
} as const;

/** Error codes of RST_STREAM and GOAWAY (RFC 9113 §7). */
export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const;

/** Settings identifiers (RFC 9113 §6.5.2). */
export const Setting = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

/** The client connection preface (RFC 9113 §3.4). */
export const CLIENT_PREFACE: Uint8Array = new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/** The 9-byte frame header length. */
export const FRAME_HEADER_LENGTH = 9;
/** The default (and smallest allowed) SETTINGS_MAX_FRAME_SIZE. */
export const DEFAULT_MAX_FRAME_SIZE = 16_384;
/** The default flow-control window of a connection and of a new stream. */
export const DEFAULT_WINDOW = 65_535;
/** The largest flow-control window (2^31 - 1). */
export const MAX_WINDOW = 0x7fff_ffff;

/** A frame as read: its payload is a view into the reader's buffer, valid until the next read. */
export interface Frame {
  /** The frame type (unknown types included). */
  readonly type: number;
  /** The flags byte. */
  readonly flags: number;
  /** The stream identifier (reserved bit cleared). */
  readonly streamId: number;
  /** The payload (padding not removed). */
  readonly payload: Uint8Array;
}

/** A connection error found while reading frames: the GOAWAY code and why. */
export class H2Error extends Error {
  /** The HTTP/2 error code ({@linkcode ErrorCode}). */
  readonly code: number;
  /**
   * @param code The HTTP/2 error code.
   * @param message What was wrong, for the log and the GOAWAY debug data.
   */
  constructor(code: number, message: string) {
    super(message);
    this.name = "H2Error";
    this.code = code;
  }
}

/**
 * Encodes one frame.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeFrame, Flag, FrameType } from "./frames.ts";
 * const ack = encodeFrame(FrameType.SETTINGS, Flag.ACK, 0);
 * assert.deepEqual([...ack], [0, 0, 0, 4, 1, 0, 0, 0, 0]);
 * ```
 *
 * @param type The frame type.
 * @param flags The flags byte.
 * @param streamId The stream identifier (31 bits).
 * @param payload The payload (at most 2^24 - 1 bytes).
 * @returns Header and payload in one array.
 */
export function encodeFrame(type: number, flags: number, streamId: number, payload?: Uint8Array): Uint8Array {
  const length = payload?.length ?? 0;
  const out = new Uint8Array(FRAME_HEADER_LENGTH + length);
  writeFrameHeader(out, 0, length, type, flags, streamId);
  if (payload) out.set(payload, FRAME_HEADER_LENGTH);
  return out;
}

/**
 * Writes a 9-byte frame header into `out` at `offset`.
 *
 * @param out The destination.
 * @param offset Where the header starts.
 * @param length The payload length.
 * @param type The frame type.
 * @param flags The flags byte.
 * @param streamId The stream identifier.
 */
export function writeFrameHeader(
  out: Uint8Array,
  offset: number,
  length: number,
  type: number,
  flags: number,
  streamId: number,
): void {
  out[offset] = (length >>> 16) & 0xff;
  out[offset + 1] = (length >>> 8) & 0xff;
  out[offset + 2] = length & 0xff;
  out[offset + 3] = type;
  out[offset + 4] = flags;
  out[offset + 5] = (streamId >>> 24) & 0x7f;
  out[offset + 6] = (streamId >>> 16) & 0xff;
  out[offset + 7] = (streamId >>> 8) & 0xff;
  out[offset + 8] = streamId & 0xff;
}

/** Reads a big-endian 32-bit unsigned integer. */
export function readUint32(b: Uint8Array, offset: number): number {
  return ((b[offset] << 24) | (b[offset + 1] << 16) | (b[offset + 2] << 8) | b[offset + 3]) >>> 0;
}

/** Writes a big-endian 32-bit unsigned integer. */
export function writeUint32(b: Uint8Array, offset: number, value: number): void {
  b[offset] = (value >>> 24) & 0xff;
  b[offset + 1] = (value >>> 16) & 0xff;
  b[offset + 2] = (value >>> 8) & 0xff;
  b[offset + 3] = value & 0xff;
}

/** A SETTINGS frame with the given `[identifier, value]` pairs. */
export function settingsFrame(settings: readonly (readonly [number, number])[]): Uint8Array {
  const payload = new Uint8Array(settings.length * 6);
  settings.forEach(([id, value], i) => {
    payload[i * 6] = id >>> 8;
    payload[i * 6 + 1] = id & 0xff;
    writeUint32(payload, i * 6 + 2, value);
  });
  return encodeFrame(FrameType.SETTINGS, 0, 0, payload);
}

/** A WINDOW_UPDATE frame. */
export function windowUpdateFrame(streamId: number, increment: number): Uint8Array {
  const payload = new Uint8Array(4);
  writeUint32(payload, 0, increment & MAX_WINDOW);
  return encodeFrame(FrameType.WINDOW_UPDATE, 0, streamId, payload);
}

/** A RST_STREAM frame. */
export function rstStreamFrame(streamId: number, code: number): Uint8Array {
  const payload = new Uint8Array(4);
  writeUint32(payload, 0, code);
  return encodeFrame(FrameType.RST_STREAM, 0, streamId, payload);
}

/** A GOAWAY frame; `debug` is sent as the debug data (ASCII, clipped to 256 bytes). */
export function goawayFrame(lastStreamId: number, code: number, debug = ""): Uint8Array {
  const text = new TextEncoder().encode(debug.slice(0, 256));
  const payload = new Uint8Array(8 + text.length);
  writeUint32(payload, 0, lastStreamId & MAX_WINDOW);
  writeUint32(payload, 4, code);
  payload.set(text, 8);
  return encodeFrame(FrameType.GOAWAY, 0, 0, payload);
}

/**
 * Cuts a byte stream into frames. Bytes are appended with {@linkcode FrameReader.push}; complete frames
 * come out of {@linkcode FrameReader.next}. A frame longer than `maxFrameSize` is a FRAME_SIZE_ERROR
 * before any of its payload is buffered, so the reader never holds more than one frame plus one chunk.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeFrame, FrameReader, FrameType } from "./frames.ts";
 * const reader = new FrameReader(16_384);
 * const bytes = encodeFrame(FrameType.PING, 0, 0, new Uint8Array(8));
 * reader.push(bytes.subarray(0, 5));
 * assert.equal(reader.next(), null);
 * reader.push(bytes.subarray(5));
 * assert.equal(reader.next()?.type, FrameType.PING);
 * ```
 */
export class FrameReader {
  #buf: Uint8Array = new Uint8Array(0);
  #start = 0;
  #end = 0;
  /** Whether `#buf` is ours (may be appended to) rather than a caller's chunk. */
  #owned = false;
  /** The largest payload accepted (our SETTINGS_MAX_FRAME_SIZE). */
  maxFrameSize: number;

  /** @param maxFrameSize The largest payload accepted. */
  constructor(maxFrameSize: number) {
    this.maxFrameSize = maxFrameSize;
  }

  /** Bytes buffered and not yet returned as frames. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /**
   * Appends bytes. The chunk is used in place when nothing is buffered, so the caller must not reuse it
   * before the frames read from it are processed. Otherwise the bytes are copied into a buffer that grows
   * geometrically, so a peer trickling a frame byte by byte costs linear, not quadratic, copying.
   */
  push(chunk: Uint8Array): void {
    if (this.#start === this.#end) {
      this.#buf = chunk;
      this.#start = 0;
      this.#end = chunk.length;
      this.#owned = false;
      return;
    }
    const pending = this.#end - this.#start;
    if (this.#owned && this.#end + chunk.length <= this.#buf.length) {
      this.#buf.set(chunk, this.#end);
      this.#end += chunk.length;
      return;
    }
    const merged = new Uint8Array(Math.max(pending + chunk.length, 2 * pending, 4096));
    merged.set(this.#buf.subarray(this.#start, this.#end), 0);
    merged.set(chunk, pending);
    this.#buf = merged;
    this.#start = 0;
    this.#end = pending + chunk.length;
    this.#owned = true;
  }

  /** Takes `n` raw bytes (the connection preface), or returns null when fewer are buffered. */
  take(n: number): Uint8Array | null {
    if (this.#end - this.#start < n) return null;
    const out = this.#buf.subarray(this.#start, this.#start + n);
    this.#start += n;
    return out;
  }

  /**
   * The next complete frame, or null when more bytes are needed.
   *
   * @throws {H2Error} FRAME_SIZE_ERROR for a frame longer than {@linkcode FrameReader.maxFrameSize}.
   */
  next(): Frame | null {
    const available = this.#end - this.#start;
    if (available < FRAME_HEADER_LENGTH) return null;
    const b = this.#buf;
    const s = this.#start;
    const length = (b[s] << 16) | (b[s + 1] << 8) | b[s + 2];
    if (length > this.maxFrameSize) {
      throw new H2Error(
        ErrorCode.FRAME_SIZE_ERROR,
        `frame of ${length} bytes exceeds SETTINGS_MAX_FRAME_SIZE ${this.maxFrameSize}`,
      );
    }
    if (available < FRAME_HEADER_LENGTH + length) return null;
    const frame: Frame = {
      type: b[s + 3],
      flags: b[s + 4],
      streamId: readUint32(b, s + 5) & MAX_WINDOW,
      payload: b.subarray(s + FRAME_HEADER_LENGTH, s + FRAME_HEADER_LENGTH + length),
    };
    this.#start = s + FRAME_HEADER_LENGTH + length;
    return frame;
  }
}

/**
 * The payload of a DATA or HEADERS frame without its padding (RFC 9113 §6.1, §6.2).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Flag, FrameType, unpad } from "./frames.ts";
 * const f = { type: FrameType.DATA, flags: Flag.PADDED, streamId: 1, payload: Uint8Array.of(2, 7, 0, 0) };
 * assert.deepEqual([...unpad(f)], [7]);
 * assert.throws(() => unpad({ ...f, payload: Uint8Array.of(4, 7, 0, 0) }), /padding exceeds the frame/);
 * ```
 *
 * @param f The frame.
 * @returns A view of the payload between the pad length and the padding.
 * @throws {H2Error} FRAME_SIZE_ERROR without a pad length, PROTOCOL_ERROR when the padding is too long.
 */
export function unpad(f: Frame): Uint8Array {
  if ((f.flags & Flag.PADDED) === 0) return f.payload;
  if (f.payload.length < 1) {
    throw new H2Error(ErrorCode.FRAME_SIZE_ERROR, "padded frame without a pad length");
  }
  const pad = f.payload[0];
  if (pad >= f.payload.length) throw new H2Error(ErrorCode.PROTOCOL_ERROR, "padding exceeds the frame");
  return f.payload.subarray(1, f.payload.length - pad);
}

/**
 * Reads the client connection preface (RFC 9113 §3.4) off the front of the reader. A wrong prefix is
 * rejected as soon as it differs, without waiting for all 24 bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CLIENT_PREFACE, FrameReader, takePreface } from "./frames.ts";
 * const reader = new FrameReader(16_384);
 * reader.push(CLIENT_PREFACE.slice(0, 10));
 * assert.equal(takePreface(reader), false);
 * reader.push(CLIENT_PREFACE.slice(10));
 * assert.equal(takePreface(reader), true);
 * reader.push(new TextEncoder().encode("GET /"));
 * assert.throws(() => takePreface(reader), /bad connection preface/);
 * ```
 *
 * @param reader The reader, positioned at the start of the connection.
 * @returns True once the preface was taken; false while it is incomplete (the bytes stay buffered).
 * @throws {H2Error} PROTOCOL_ERROR for bytes that are not the preface.
 */
export function takePreface(reader: FrameReader): boolean {
  const preface = reader.take(CLIENT_PREFACE.length);
  if (preface === null) {
    const seen = Math.min(reader.buffered, CLIENT_PREFACE.length);
    const head = reader.take(seen)!;
    if (!isPrefixOf(head, CLIENT_PREFACE)) {
      throw new H2Error(ErrorCode.PROTOCOL_ERROR, "bad connection preface");
    }
    reader.push(head.slice());
    return false;
  }
  if (!isPrefixOf(preface, CLIENT_PREFACE)) {
    throw new H2Error(ErrorCode.PROTOCOL_ERROR, "bad connection preface");
  }
  return true;
}

function isPrefixOf(part: Uint8Array, full: Uint8Array): boolean {
  for (let i = 0; i < part.length; i++) if (full[i] !== part[i]) return false;
  return true;
}
