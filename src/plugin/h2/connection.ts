/**
 * The server side of one HTTP/2 connection (RFC 9113) over any byte transport: the preface, SETTINGS and
 * their ACKs, PING, GOAWAY, RST_STREAM, HEADERS + CONTINUATION (one HPACK decoder per connection), stream
 * states and limits, and flow control both ways (the peer's windows and SETTINGS_MAX_FRAME_SIZE are
 * respected when sending; received DATA is acknowledged with WINDOW_UPDATEs as the stream's consumer frees
 * it). Every peer-controlled allocation is bounded: one frame of at most our SETTINGS_MAX_FRAME_SIZE, a header
 * block of at most {@linkcode H2Limits.maxHeaderBlockBytes}, a decoded header list of at most
 * {@linkcode H2Limits.maxHeaderListSize}, at most {@linkcode H2Limits.maxConcurrentStreams} streams, each
 * holding at most its receive window, and at most {@linkcode H2Limits.maxOutboundBytes} of replies waiting
 * for the transport. A violation is a connection error (GOAWAY, then close) or a stream error (RST_STREAM),
 * logged with what was wrong; nothing throws out of {@linkcode H2Connection.receive}.
 *
 * @module
 */

import type { Logger } from "../../log.ts";
import {
  CLIENT_PREFACE,
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_WINDOW,
  encodeFrame,
  ErrorCode,
  Flag,
  type Frame,
  FRAME_HEADER_LENGTH,
  FrameReader,
  FrameType,
  goawayFrame,
  H2Error,
  MAX_WINDOW,
  readUint32,
  rstStreamFrame,
  Setting,
  settingsFrame,
  windowUpdateFrame,
  writeFrameHeader,
} from "./frames.ts";
import { type HeaderField, HpackDecoder, HpackError } from "./hpack.ts";
import { requestHeaderProblem } from "./request_headers.ts";
import { H2Stream, type StreamHandler, type StreamOwner } from "./stream.ts";

/** Where the connection's bytes go. */
export interface H2Transport {
  /** Sends bytes (in order). */
  write(bytes: Uint8Array): void;
  /** Closes the transport after what was written. */
  close(): void;
  /** Bytes written and not yet handed to the OS. */
  readonly pendingBytes: number;
}

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

/** Peer settings that shape what we send. */
interface PeerSettings {
  initialWindow: number;
  maxFrameSize: number;
}

/**
 * The server side of one HTTP/2 connection. Feed it received bytes with {@linkcode H2Connection.receive};
 * tell it the transport closed with {@linkcode H2Connection.transportClosed}.
 */
export class H2Connection implements StreamOwner {
  readonly #transport: H2Transport;
  readonly #handler: StreamHandler;
  readonly #logger: Logger;
  readonly #limits: H2Limits;
  readonly #reader: FrameReader;
  readonly #decoder: HpackDecoder;
  readonly #streams = new Map<number, H2Stream>();
  readonly #peer: PeerSettings = { initialWindow: DEFAULT_WINDOW, maxFrameSize: DEFAULT_MAX_FRAME_SIZE };
  #prefaceSeen = false;
  #lastStreamId = 0;
  #connSendWindow = DEFAULT_WINDOW;
  #connUnacked = 0;
  #blocked = new Set<H2Stream>();
  /** A header block being assembled: the stream it opens and its fragments. */
  #continuation: { streamId: number; flags: number; fragments: Uint8Array[]; bytes: number } | null = null;
  #out: Uint8Array[] = [];
  #outBytes = 0;
  #flushScheduled = false;
  #dead = false;
  #goawaySent = false;
  #handshakeTimer: ReturnType<typeof setTimeout> | undefined;

  /**
   * @param transport Where our bytes go.
   * @param handler Receives each new stream.
   * @param logger Diagnostics (connection errors at warn, stream errors at debug).
   * @param limits Bounds (see {@linkcode DEFAULT_LIMITS}).
   */
  constructor(
    transport: H2Transport,
    handler: StreamHandler,
    logger: Logger,
    limits: H2Limits = DEFAULT_LIMITS,
  ) {
    this.#transport = transport;
    this.#handler = handler;
    this.#logger = logger;
    this.#limits = limits;
    this.#reader = new FrameReader(DEFAULT_MAX_FRAME_SIZE);
    this.#decoder = new HpackDecoder({ maxHeaderListSize: limits.maxHeaderListSize });
    this.#send(settingsFrame([
      [Setting.ENABLE_PUSH, 0],
      [Setting.MAX_CONCURRENT_STREAMS, limits.maxConcurrentStreams],
      [Setting.INITIAL_WINDOW_SIZE, limits.streamWindow],
      [Setting.MAX_HEADER_LIST_SIZE, limits.maxHeaderListSize],
    ]));
    if (limits.connectionWindow > DEFAULT_WINDOW) {
      this.#send(windowUpdateFrame(0, limits.connectionWindow - DEFAULT_WINDOW));
    }
    this.#handshakeTimer = setTimeout(() => {
      this.#connectionError(
        ErrorCode.PROTOCOL_ERROR,
        `no connection preface and SETTINGS within ${limits.handshakeTimeoutMs} ms`,
      );
    }, limits.handshakeTimeoutMs);
  }

  /** Open streams (for tests and diagnostics). */
  get streamCount(): number {
    return this.#streams.size;
  }

  /** Whether the connection ended (error, GOAWAY sent, or transport closed). */
  get closed(): boolean {
    return this.#dead;
  }

  /**
   * Processes received bytes. Never throws: a protocol violation becomes GOAWAY and close.
   *
   * @param chunk The bytes (kept by reference until processed; do not reuse the buffer).
   */
  receive(chunk: Uint8Array): void {
    if (this.#dead) return;
    try {
      // Whatever the host asks for (replies to PINGs, answers to calls), it must also read it.
      if (this.#transport.pendingBytes > this.#limits.maxOutboundBytes) {
        throw new H2Error(ErrorCode.ENHANCE_YOUR_CALM, "the host does not read our replies");
      }
      this.#reader.push(chunk);
      if (!this.#prefaceSeen) {
        const preface = this.#reader.take(CLIENT_PREFACE.length);
        if (preface === null) {
          // Reject a wrong prefix at once rather than waiting for 24 bytes.
          const seen = Math.min(this.#reader.buffered, CLIENT_PREFACE.length);
          const head = this.#reader.take(seen)!;
          if (!startsWith(CLIENT_PREFACE, head)) {
            throw new H2Error(ErrorCode.PROTOCOL_ERROR, "bad connection preface");
          }
          this.#reader.push(head.slice());
          return;
        }
        if (!startsWith(CLIENT_PREFACE, preface)) {
          throw new H2Error(ErrorCode.PROTOCOL_ERROR, "bad connection preface");
        }
        this.#prefaceSeen = true;
        this.#expectSettings = true;
      }
      for (let frame = this.#reader.next(); frame !== null && !this.#dead; frame = this.#reader.next()) {
        this.#onFrame(frame);
      }
    } catch (err) {
      if (err instanceof H2Error) {
        this.#connectionError(err.code, err.message);
      } else {
        this.#logger.error("HTTP/2 connection failed unexpectedly", {
          error: err instanceof Error ? err.stack ?? err.message : String(err),
        });
        this.#connectionError(ErrorCode.INTERNAL_ERROR, "internal error");
      }
    }
  }

  /** The transport is gone: every open stream is aborted. */
  transportClosed(): void {
    clearTimeout(this.#handshakeTimer);
    if (this.#dead && this.#streams.size === 0) return;
    this.#dead = true;
    this.#abortAll("the connection closed");
  }

  #expectSettings = false;

  #onFrame(f: Frame): void {
    if (this.#expectSettings) {
      if (f.type !== FrameType.SETTINGS || (f.flags & Flag.ACK) !== 0) {
        throw new H2Error(ErrorCode.PROTOCOL_ERROR, "the first frame after the preface is not SETTINGS");
      }
      this.#expectSettings = false;
      clearTimeout(this.#handshakeTimer);
    }
    if (this.#continuation !== null && f.type !== FrameType.CONTINUATION) {
      throw new H2Error(ErrorCode.PROTOCOL_ERROR, `expected CONTINUATION, got frame type ${f.type}`);
    }
    switch (f.type) {
      case FrameType.DATA:
        return this.#onData(f);
      case FrameType.HEADERS:
        return this.#onHeaders(f);
      case FrameType.PRIORITY:
        if (f.streamId === 0) throw new H2Error(ErrorCode.PROTOCOL_ERROR, "PRIORITY on stream 0");
        if (f.payload.length !== 5) {
          this.#streamError(f.streamId, ErrorCode.FRAME_SIZE_ERROR, "PRIORITY frame not 5 bytes");
        }
        return;
      case FrameType.RST_STREAM:
        return this.#onRstStream(f);
      case FrameType.SETTINGS:
        return this.#onSettings(f);
      case FrameType.PUSH_PROMISE:
        throw new H2Error(ErrorCode.PROTOCOL_ERROR, "PUSH_PROMISE from a client");
      case FrameType.PING:
        return this.#onPing(f);
      case FrameType.GOAWAY:
        if (f.streamId !== 0) throw new H2Error(ErrorCode.PROTOCOL_ERROR, "GOAWAY on a stream");
        if (f.payload.length < 8) {
          throw new H2Error(ErrorCode.FRAME_SIZE_ERROR, "GOAWAY shorter than 8 bytes");
        }
        this.#logger.debug("the host sent GOAWAY", { code: readUint32(f.payload, 4) });
        return;
      case FrameType.WINDOW_UPDATE:
        return this.#onWindowUpdate(f);
      case FrameType.CONTINUATION:
        return this.#onContinuation(f);
      default:
        return; // Unknown frame types are ignored (RFC 9113 §4.1).
    }
  }

  #onSettings(f: Frame): void {
    if (f.streamId !== 0) throw new H2Error(ErrorCode.PROTOCOL_ERROR, "SETTINGS on a stream");
    if (f.flags & Flag.ACK) {
      if (f.payload.length !== 0) {
        throw new H2Error(ErrorCode.FRAME_SIZE_ERROR, "SETTINGS ACK with a payload");
      }
      return;
    }
    if (f.payload.length % 6 !== 0) {
      throw new H2Error(ErrorCode.FRAME_SIZE_ERROR, "SETTINGS length not a multiple of 6");
    }
    for (let i = 0; i < f.payload.length; i += 6) {
      const id = (f.payload[i] << 8) | f.payload[i + 1];
      const value = readUint32(f.payload, i + 2);
      switch (id) {
        case Setting.ENABLE_PUSH:
          if (value > 1) throw new H2Error(ErrorCode.PROTOCOL_ERROR, "SETTINGS_ENABLE_PUSH not 0 or 1");
          break;
        case Setting.INITIAL_WINDOW_SIZE: {
          if (value > MAX_WINDOW) {
            throw new H2Error(ErrorCode.FLOW_CONTROL_ERROR, "SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1");
          }
          const delta = value - this.#peer.initialWindow;
          this.#peer.initialWindow = value;
          for (const s of this.#streams.values()) {
            s.sendWindow += delta;
            if (s.sendWindow > MAX_WINDOW) {
              throw new H2Error(ErrorCode.FLOW_CONTROL_ERROR, "a stream window exceeds 2^31-1");
            }
          }
          break;
        }
        case Setting.MAX_FRAME_SIZE:
          if (value < DEFAULT_MAX_FRAME_SIZE || value > 0xff_ffff) {
            throw new H2Error(ErrorCode.PROTOCOL_ERROR, `SETTINGS_MAX_FRAME_SIZE ${value} out of range`);
          }
          this.#peer.maxFrameSize = value;
          break;
        default:
          break; // HEADER_TABLE_SIZE: our encoder never indexes; others are advisory or unknown.
      }
    }
    this.#sendControl(encodeFrame(FrameType.SETTINGS, Flag.ACK, 0));
    this.#flushBlocked();
  }

  #onPing(f: Frame): void {
    if (f.streamId !== 0) throw new H2Error(ErrorCode.PROTOCOL_ERROR, "PING on a stream");
    if (f.payload.length !== 8) throw new H2Error(ErrorCode.FRAME_SIZE_ERROR, "PING not 8 bytes");
    if (f.flags & Flag.ACK) return;
    this.#sendControl(encodeFrame(FrameType.PING, Flag.ACK, 0, f.payload));
  }

  #onWindowUpdate(f: Frame): void {
    if (f.payload.length !== 4) throw new H2Error(ErrorCode.FRAME_SIZE_ERROR, "WINDOW_UPDATE not 4 bytes");
    const increment = readUint32(f.payload, 0) & MAX_WINDOW;
    if (f.streamId === 0) {
      if (increment === 0) throw new H2Error(ErrorCode.PROTOCOL_ERROR, "connection WINDOW_UPDATE of 0");
      this.#connSendWindow += increment;
      if (this.#connSendWindow > MAX_WINDOW) {
        throw new H2Error(ErrorCode.FLOW_CONTROL_ERROR, "connection window exceeds 2^31-1");
      }
      this.#flushBlocked();
      return;
    }
    this.#checkKnownId(f.streamId, "WINDOW_UPDATE");
    const s = this.#streams.get(f.streamId);
    if (!s) return; // A closed stream: ignored.
    if (increment === 0) {
      return this.#streamError(s.id, ErrorCode.PROTOCOL_ERROR, "stream WINDOW_UPDATE of 0");
    }
    s.sendWindow += increment;
    if (s.sendWindow > MAX_WINDOW) {
      return this.#streamError(s.id, ErrorCode.FLOW_CONTROL_ERROR, "stream window exceeds 2^31-1");
    }
    this.flushStream(s);
  }

  #onRstStream(f: Frame): void {
    if (f.streamId === 0) throw new H2Error(ErrorCode.PROTOCOL_ERROR, "RST_STREAM on stream 0");
    if (f.payload.length !== 4) throw new H2Error(ErrorCode.FRAME_SIZE_ERROR, "RST_STREAM not 4 bytes");
    this.#checkKnownId(f.streamId, "RST_STREAM");
    const s = this.#streams.get(f.streamId);
    if (!s) return;
    this.#remove(s);
    s.sink?.abort(`the host reset the stream (code ${readUint32(f.payload, 0)})`);
  }

  /** A frame other than HEADERS/PRIORITY on a stream id never opened is a connection error. */
  #checkKnownId(id: number, what: string): void {
    if (id > this.#lastStreamId) throw new H2Error(ErrorCode.PROTOCOL_ERROR, `${what} on idle stream ${id}`);
  }

  #onData(f: Frame): void {
    if (f.streamId === 0) throw new H2Error(ErrorCode.PROTOCOL_ERROR, "DATA on stream 0");
    this.#checkKnownId(f.streamId, "DATA");
    const length = f.payload.length;
    // The whole frame counts against the connection window, whatever becomes of the stream.
    this.#connUnacked += length;
    if (this.#connUnacked > this.#limits.connectionWindow) {
      throw new H2Error(ErrorCode.FLOW_CONTROL_ERROR, "the host exceeded the connection window");
    }
    if (this.#connUnacked >= this.#limits.connectionWindow / 2) {
      this.#send(windowUpdateFrame(0, this.#connUnacked));
      this.#connUnacked = 0;
    }
    const s = this.#streams.get(f.streamId);
    if (!s || s.remoteEnded) {
      return this.#streamError(f.streamId, ErrorCode.STREAM_CLOSED, `DATA on closed stream ${f.streamId}`);
    }
    s.recvWindow -= length;
    if (s.recvWindow < 0) {
      return this.#streamError(s.id, ErrorCode.FLOW_CONTROL_ERROR, "the host exceeded the stream window");
    }
    const data = unpad(f);
    // Padding is freed at once; the data when the consumer says so.
    if (length > data.length) s.consume(length - data.length);
    const endStream = (f.flags & Flag.END_STREAM) !== 0;
    if (endStream) s.remoteEnded = true;
    if (data.length > 0) s.sink?.data(data);
    if (endStream && !s.closed) s.sink?.end();
  }

  #onHeaders(f: Frame): void {
    if (f.streamId === 0) throw new H2Error(ErrorCode.PROTOCOL_ERROR, "HEADERS on stream 0");
    let payload = unpad(f);
    if (f.flags & Flag.PRIORITY) {
      if (payload.length < 5) {
        throw new H2Error(ErrorCode.FRAME_SIZE_ERROR, "HEADERS priority field truncated");
      }
      payload = payload.subarray(5); // Priority is advisory: ignored.
    }
    this.#assemble(f, payload);
  }

  #onContinuation(f: Frame): void {
    const c = this.#continuation;
    if (c === null || c.streamId !== f.streamId) {
      throw new H2Error(ErrorCode.PROTOCOL_ERROR, "CONTINUATION without an open header block");
    }
    this.#addFragment(f.payload);
    if (f.flags & Flag.END_HEADERS) this.#headerBlockDone();
  }

  #assemble(f: Frame, fragment: Uint8Array): void {
    this.#continuation = { streamId: f.streamId, flags: f.flags, fragments: [], bytes: 0 };
    this.#addFragment(fragment);
    if (f.flags & Flag.END_HEADERS) this.#headerBlockDone();
  }

  #addFragment(fragment: Uint8Array): void {
    const c = this.#continuation!;
    c.bytes += fragment.length;
    if (c.bytes > this.#limits.maxHeaderBlockBytes) {
      throw new H2Error(
        ErrorCode.ENHANCE_YOUR_CALM,
        `header block exceeds ${this.#limits.maxHeaderBlockBytes} bytes`,
      );
    }
    // Transports hand over fresh buffers (never reused), so a view is safe to keep.
    c.fragments.push(fragment);
  }

  #headerBlockDone(): void {
    const c = this.#continuation!;
    this.#continuation = null;
    const block = c.fragments.length === 1 ? c.fragments[0] : concat(c.fragments, c.bytes);
    let fields: HeaderField[];
    try {
      fields = this.#decoder.decode(block);
    } catch (err) {
      if (err instanceof HpackError) {
        // The decoder's table may be out of step with the peer's: the connection cannot continue.
        throw new H2Error(
          err.tooLarge ? ErrorCode.ENHANCE_YOUR_CALM : ErrorCode.COMPRESSION_ERROR,
          `header block: ${err.message}`,
        );
      }
      throw err;
    }
    const id = c.streamId;
    const endStream = (c.flags & Flag.END_STREAM) !== 0;
    const existing = this.#streams.get(id);
    if (existing) {
      // Trailers from the client: allowed only as the end of its side.
      if (existing.remoteEnded || !endStream) {
        return this.#streamError(id, ErrorCode.PROTOCOL_ERROR, "unexpected HEADERS on an open stream");
      }
      existing.remoteEnded = true;
      if (!existing.closed) existing.sink?.end();
      return;
    }
    if (id <= this.#lastStreamId) {
      return this.#streamError(id, ErrorCode.STREAM_CLOSED, `HEADERS on closed stream ${id}`);
    }
    if (id % 2 === 0) throw new H2Error(ErrorCode.PROTOCOL_ERROR, `client opened even stream ${id}`);
    this.#lastStreamId = id;
    if (this.#goawaySent) return;
    const problem = requestHeaderProblem(fields);
    if (problem) return this.#streamError(id, ErrorCode.PROTOCOL_ERROR, problem);
    if (this.#streams.size >= this.#limits.maxConcurrentStreams) {
      return this.#streamError(id, ErrorCode.REFUSED_STREAM, "too many concurrent streams");
    }
    const s = new H2Stream(this, id, fields, this.#peer.initialWindow, this.#limits.streamWindow);
    this.#streams.set(id, s);
    s.remoteEnded = endStream;
    s.sink = this.#handler(s);
    if (endStream && !s.closed) s.sink.end();
  }

  /** @internal Sends response headers or Trailers-Only. */
  sendHeaders(s: H2Stream, block: Uint8Array, endStream: boolean): void {
    this.#sendHeaderBlock(s.id, block, endStream);
    if (endStream) this.#finish(s);
  }

  #sendHeaderBlock(id: number, block: Uint8Array, endStream: boolean): void {
    const max = this.#peer.maxFrameSize;
    if (block.length <= max) {
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
      this.#send(out);
      return;
    }
    for (let off = 0; off < block.length; off += max) {
      const part = block.subarray(off, off + max);
      const last = off + max >= block.length;
      const type = off === 0 ? FrameType.HEADERS : FrameType.CONTINUATION;
      const flags = (last ? Flag.END_HEADERS : 0) | (off === 0 && endStream ? Flag.END_STREAM : 0);
      this.#send(encodeFrame(type, flags, id, part));
    }
  }

  /** @internal Sends what the windows allow of a stream's queue, then its trailers. */
  flushStream(s: H2Stream): void {
    if (s.closed) return;
    while (s.queue.length > 0) {
      const chunk = s.queue[0];
      const room = Math.min(this.#connSendWindow, s.sendWindow, this.#peer.maxFrameSize);
      if (room <= 0) {
        this.#blocked.add(s);
        return;
      }
      const n = Math.min(room, chunk.length);
      const out = new Uint8Array(FRAME_HEADER_LENGTH + n);
      writeFrameHeader(out, 0, n, FrameType.DATA, 0, s.id);
      out.set(n === chunk.length ? chunk : chunk.subarray(0, n), FRAME_HEADER_LENGTH);
      this.#send(out);
      this.#connSendWindow -= n;
      s.sendWindow -= n;
      if (n === chunk.length) s.queue.shift();
      else s.queue[0] = chunk.subarray(n);
    }
    this.#blocked.delete(s);
    if (s.pendingTrailers) {
      const block = s.pendingTrailers;
      s.pendingTrailers = null;
      this.#sendHeaderBlock(s.id, block, true);
      this.#finish(s);
    }
  }

  #flushBlocked(): void {
    for (const s of [...this.#blocked]) this.flushStream(s);
  }

  /** @internal Acknowledges freed bytes of a stream once enough have accumulated. */
  acknowledge(s: H2Stream): void {
    if (s.unacked >= this.#limits.streamWindow / 2) {
      s.recvWindow += s.unacked;
      this.#send(windowUpdateFrame(s.id, s.unacked));
      s.unacked = 0;
    }
  }

  /** Our side ended: the stream is done; if the peer's side is still open, tell it we are done too. */
  #finish(s: H2Stream): void {
    if (!s.remoteEnded) this.#send(rstStreamFrame(s.id, ErrorCode.NO_ERROR));
    this.#remove(s);
  }

  #remove(s: H2Stream): void {
    s.closed = true;
    s.queue.length = 0;
    s.pendingTrailers = null;
    this.#blocked.delete(s);
    this.#streams.delete(s.id);
  }

  #streamError(id: number, code: number, message: string): void {
    this.#logger.debug("HTTP/2 stream error", { stream: id, code, error: message });
    this.#send(rstStreamFrame(id, code));
    const s = this.#streams.get(id);
    if (s) {
      this.#remove(s);
      s.sink?.abort(message);
    }
  }

  #connectionError(code: number, message: string): void {
    if (this.#dead) return;
    clearTimeout(this.#handshakeTimer);
    this.#logger.warn("HTTP/2 connection error: closing the connection", { code, error: message });
    this.#goaway(code, message);
    this.#dead = true;
    this.#abortAll(message);
    this.#flush();
    this.#transport.close();
  }

  #goaway(code: number, message: string): void {
    if (this.#goawaySent) return;
    this.#goawaySent = true;
    this.#send(goawayFrame(this.#lastStreamId, code, message));
  }

  #abortAll(reason: string): void {
    const streams = [...this.#streams.values()];
    for (const s of streams) this.#remove(s);
    for (const s of streams) s.sink?.abort(reason);
  }

  /** A reply the peer provokes (PING, SETTINGS ACK): refused when the peer does not read what we send. */
  #sendControl(frame: Uint8Array): void {
    if (this.#transport.pendingBytes + this.#outBytes > this.#limits.maxOutboundBytes) {
      throw new H2Error(ErrorCode.ENHANCE_YOUR_CALM, "the host does not read our replies");
    }
    this.#send(frame);
  }

  #send(frame: Uint8Array): void {
    if (this.#dead) return;
    this.#out.push(frame);
    this.#outBytes += frame.length;
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(() => this.#flush());
    }
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#out.length === 0) return;
    const bytes = this.#out.length === 1 ? this.#out[0] : concat(this.#out, this.#outBytes);
    this.#out = [];
    this.#outBytes = 0;
    this.#transport.write(bytes);
  }
}

function startsWith(full: Uint8Array, part: Uint8Array): boolean {
  for (let i = 0; i < part.length; i++) if (full[i] !== part[i]) return false;
  return true;
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** The payload without padding (DATA, HEADERS). */
function unpad(f: Frame): Uint8Array {
  if ((f.flags & Flag.PADDED) === 0) return f.payload;
  if (f.payload.length < 1) {
    throw new H2Error(ErrorCode.FRAME_SIZE_ERROR, "padded frame without a pad length");
  }
  const pad = f.payload[0];
  if (pad >= f.payload.length) throw new H2Error(ErrorCode.PROTOCOL_ERROR, "padding exceeds the frame");
  return f.payload.subarray(1, f.payload.length - pad);
}
