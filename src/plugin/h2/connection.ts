/**
 * The server side of one HTTP/2 connection (RFC 9113) over any byte transport: preface and handshake timeout,
 * frame dispatch, GOAWAY, RST_STREAM, header blocks (one HPACK decoder per connection), stream states and
 * the stream limit. Elsewhere: settings and every limit (`settings.ts`), flow control (`flow_control.ts`),
 * header block assembly (`header_block.ts`), the outbound queue (`outbound.ts`), control frame checks
 * (`control_frames.ts`), request message budgets (`grpc_messages.ts`). Every peer-controlled allocation is
 * bounded; a violation is a connection error (GOAWAY, then close) or a stream error (RST_STREAM), logged
 * with what was wrong; nothing throws out of {@linkcode H2Connection.receive}.
 *
 * @module
 */

import type { Logger } from "../../log.ts";
import {
  DEFAULT_MAX_FRAME_SIZE,
  encodeFrame,
  ErrorCode,
  Flag,
  type Frame,
  FrameReader,
  FrameType,
  goawayFrame,
  H2Error,
  MAX_WINDOW,
  rstStreamFrame,
  takePreface,
  unpad,
  windowUpdateFrame,
} from "./frames.ts";
import * as control from "./control_frames.ts";
import {
  ConnectionReceiveWindow,
  SendWindows,
  shiftSendWindows,
  streamAcknowledgement,
} from "./flow_control.ts";
import { decodeHeaderBlock, type HeaderBlock, HeaderBlockAssembler } from "./header_block.ts";
import { HpackDecoder } from "./hpack.ts";
import { type H2Transport, headerBlockFrames, Outbound } from "./outbound.ts";
import { requestHeaderProblem } from "./request_headers.ts";
import {
  applyPeerSettings,
  DEFAULT_LIMITS,
  defaultPeerSettings,
  type H2Limits,
  openingFrames,
  type PeerSettings,
} from "./settings.ts";
import { H2Stream, type StreamHandler, type StreamOwner } from "./stream.ts";

export type { H2Transport } from "./outbound.ts";
export { DEFAULT_LIMITS, type H2Limits } from "./settings.ts";

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
  readonly #peer: PeerSettings = defaultPeerSettings();
  readonly #out: Outbound;
  readonly #sendWindows: SendWindows;
  readonly #receiveWindow: ConnectionReceiveWindow;
  readonly #headerBlock: HeaderBlockAssembler;
  #prefaceSeen = false;
  #expectSettings = false;
  #lastStreamId = 0;
  /** Streams no longer open whose handler work still runs: they count against the stream limit. */
  #orphans = 0;
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
    this.#out = new Outbound(transport, limits.maxOutboundBytes);
    this.#sendWindows = new SendWindows(this.#peer, (frame) => this.#out.send(frame));
    this.#receiveWindow = new ConnectionReceiveWindow(limits.connectionWindow);
    this.#headerBlock = new HeaderBlockAssembler(limits.maxHeaderBlockBytes);
    for (const frame of openingFrames(limits)) this.#out.send(frame);
    this.#handshakeTimer = setTimeout(() => {
      this.#connectionError(
        ErrorCode.PROTOCOL_ERROR,
        `no connection preface and SETTINGS within ${limits.handshakeTimeoutMs} ms`,
      );
    }, limits.handshakeTimeoutMs);
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
      if (this.#out.peerNotReading) {
        throw new H2Error(ErrorCode.ENHANCE_YOUR_CALM, "the host does not read our replies");
      }
      this.#reader.push(chunk);
      if (!this.#prefaceSeen) {
        if (!takePreface(this.#reader)) return;
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
    this.#out.stop();
    this.#abortAll("the connection closed");
  }

  #onFrame(f: Frame): void {
    if (this.#expectSettings) {
      control.requireInitialSettings(f);
      this.#expectSettings = false;
      clearTimeout(this.#handshakeTimer);
    }
    if (this.#headerBlock.open && f.type !== FrameType.CONTINUATION) {
      throw new H2Error(ErrorCode.PROTOCOL_ERROR, `expected CONTINUATION, got frame type ${f.type}`);
    }
    switch (f.type) {
      case FrameType.DATA:
        return this.#onData(f);
      case FrameType.HEADERS:
        if (f.streamId === 0) throw new H2Error(ErrorCode.PROTOCOL_ERROR, "HEADERS on stream 0");
        return this.#onHeaderBlock(this.#headerBlock.headers(f));
      case FrameType.PRIORITY: {
        const problem = control.priorityProblem(f);
        if (problem !== null) this.#streamError(f.streamId, ErrorCode.FRAME_SIZE_ERROR, problem);
        return;
      }
      case FrameType.RST_STREAM:
        return this.#onRstStream(f);
      case FrameType.SETTINGS:
        return this.#onSettings(f);
      case FrameType.PUSH_PROMISE:
        throw new H2Error(ErrorCode.PROTOCOL_ERROR, "PUSH_PROMISE from a client");
      case FrameType.PING:
        return this.#onPing(f);
      case FrameType.GOAWAY:
        this.#logger.debug("the host sent GOAWAY", { code: control.goawayCode(f) });
        return;
      case FrameType.WINDOW_UPDATE:
        return this.#onWindowUpdate(f);
      case FrameType.CONTINUATION:
        return this.#onHeaderBlock(this.#headerBlock.continuation(f));
      default:
        return; // Unknown frame types are ignored (RFC 9113 §4.1).
    }
  }

  #onSettings(f: Frame): void {
    if (control.isSettingsAck(f)) return;
    applyPeerSettings(
      f.payload,
      this.#peer,
      (delta, peak) => shiftSendWindows(this.#streams.values(), delta, peak),
    );
    this.#out.sendControl(encodeFrame(FrameType.SETTINGS, Flag.ACK, 0));
    this.#flushBlocked();
  }

  #onPing(f: Frame): void {
    const echo = control.pingToEcho(f);
    if (echo !== null) this.#out.sendControl(encodeFrame(FrameType.PING, Flag.ACK, 0, echo));
  }

  #onWindowUpdate(f: Frame): void {
    const increment = control.windowIncrement(f);
    if (f.streamId === 0) {
      this.#sendWindows.credit(increment);
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
    const code = control.rstStreamCode(f);
    this.#checkKnownId(f.streamId, "RST_STREAM");
    const s = this.#streams.get(f.streamId);
    if (!s) return;
    this.#remove(s);
    s.sink?.abort(`the host reset the stream (code ${code})`);
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
    const increment = this.#receiveWindow.received(length);
    if (increment > 0) this.#out.send(windowUpdateFrame(0, increment));
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

  /** A complete header block (null while CONTINUATION frames are awaited): a new stream, or trailers. */
  #onHeaderBlock(h: HeaderBlock | null): void {
    if (h === null) return;
    const fields = decodeHeaderBlock(this.#decoder, h.block);
    const id = h.streamId;
    const endStream = (h.flags & Flag.END_STREAM) !== 0;
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
    if (this.#streams.size + this.#orphans >= this.#limits.maxConcurrentStreams) {
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
    for (const frame of headerBlockFrames(id, block, endStream, this.#peer.maxFrameSize)) {
      this.#out.send(frame);
    }
  }

  /** @internal Sends what the windows allow of a stream's queue, then its trailers. */
  flushStream(s: H2Stream): void {
    if (s.closed) return;
    if (!this.#sendWindows.drain(s)) return;
    if (s.pendingTrailers) {
      const block = s.pendingTrailers;
      s.pendingTrailers = null;
      this.#sendHeaderBlock(s.id, block, true);
      this.#finish(s);
    }
  }

  #flushBlocked(): void {
    for (const s of this.#sendWindows.blocked()) this.flushStream(s);
  }

  /** @internal Acknowledges freed bytes of a stream once enough have accumulated. */
  acknowledge(s: H2Stream): void {
    const increment = streamAcknowledgement(s, this.#limits.streamWindow);
    if (increment > 0) this.#out.send(windowUpdateFrame(s.id, increment));
  }

  /** @internal Counts the stream's handler work as running until the returned function is called. */
  hold(s: H2Stream): () => void {
    s.working = true;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      s.working = false;
      if (s.closed) this.#orphans--;
    };
  }

  /** Our side ended: the stream is done; if the peer's side is still open, tell it we are done too. */
  #finish(s: H2Stream): void {
    if (!s.remoteEnded) this.#out.send(rstStreamFrame(s.id, ErrorCode.NO_ERROR));
    this.#remove(s);
  }

  #remove(s: H2Stream): void {
    s.closed = true;
    s.queue.length = 0;
    s.pendingTrailers = null;
    this.#sendWindows.forget(s);
    this.#streams.delete(s.id);
    if (s.working) this.#orphans++;
  }

  #streamError(id: number, code: number, message: string): void {
    this.#logger.debug("HTTP/2 stream error", { stream: id, code, error: message });
    this.#out.send(rstStreamFrame(id, code));
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
    if (!this.#goawaySent) {
      this.#goawaySent = true;
      this.#out.send(goawayFrame(this.#lastStreamId, code, message));
    }
    this.#dead = true;
    this.#out.stop();
    this.#abortAll(message);
    this.#out.flush();
    this.#transport.close();
  }

  #abortAll(reason: string): void {
    const streams = [...this.#streams.values()];
    for (const s of streams) this.#remove(s);
    for (const s of streams) s.sink?.abort(reason);
  }
}
