/**
 * gRPC over HTTP/2 on the server side (the gRPC "PROTOCOL-HTTP2" spec): request header checks
 * (`content-type`, `grpc-encoding`, `grpc-timeout` → deadline), length-prefixed messages (compressed ones
 * refused, at most {@linkcode MAX_MESSAGE_BYTES} each, like grpc-go's default receive limit), responses
 * (HEADERS, DATA, trailers with `grpc-status` and a percent-encoded `grpc-message`), Trailers-Only for
 * errors, and UNIMPLEMENTED for unknown methods. Methods are registered by path as unary, server-streaming
 * or bidirectional; the calls' cancellation (RST_STREAM, connection gone, deadline) is reported as the
 * `"cancelled"` event that `callAbortSignal` in `src/plugin/server.ts` turns into an `AbortSignal`.
 *
 * @module
 */

import type { Logger } from "../../log.ts";
import { asciiStatusMessage, GrpcCode } from "../grpc_status.ts";
import type { H2Stream, StreamSink } from "./stream.ts";
import { encodeHeaders, type HeaderField } from "./hpack.ts";

/** The largest request message accepted (grpc-go's default `MaxRecvMsgSize`). */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
/** The longest delay a timer supports (2^31 - 1 ms). */
const MAX_TIMER_MS = 2 ** 31 - 1;
/**
 * The most bytes of request messages one connection may hold: partly received ones, and complete unary or
 * server-stream requests until their call ends.
 */
export const MAX_PENDING_BYTES_PER_CONNECTION = 16 * 1024 * 1024;

/** A status a call ends with. */
export interface CallStatus {
  /** The gRPC status code. */
  readonly code: number;
  /** The status message (printable ASCII; percent-encoded on the wire). */
  readonly details: string;
}

/** What a handler sees of its call. */
export interface GrpcCall {
  /** The `:path`. */
  readonly path: string;
  /** The values of a metadata key (lower case), in order. */
  metadata(name: string): string[];
  /** The call's deadline in ms since the epoch (`Infinity` when there is none). */
  getDeadline(): number;
  /** Subscribes to `"cancelled"`: the host reset the stream, the connection closed, or the deadline passed. */
  on(event: "cancelled", listener: () => void): void;
  /** Unsubscribes. */
  off(event: "cancelled", listener: () => void): void;
  /** Whether the call ended (answered or cancelled). */
  readonly done: boolean;
}

/** A streaming call: the handler sends messages and may finish it. */
export interface GrpcStreamCall<Res> extends GrpcCall {
  /** Sends the response headers (once; `send` does it too). */
  sendHeaders(): void;
  /** Sends one message. */
  send(message: Res): void;
  /** Ends the call with `status` (trailers). */
  finish(status: CallStatus): void;
}

/** A unary method. */
export interface UnaryMethod<Req, Res> {
  /** Unary. */
  readonly kind: "unary";
  /** Decodes the request message. */
  decode(bytes: Uint8Array): Req;
  /** Encodes the response message. */
  encode(message: Res): Uint8Array;
  /** Answers: the response, or the status. Must not reject. */
  handle(request: Req, call: GrpcCall): Promise<{ response: Res } | { status: CallStatus }>;
  /** Called once a response (not a status) is queued on the connection. */
  sent?(): void;
}

/** A server-streaming method: one request message, then the handler sends as it likes. */
export interface ServerStreamMethod<Req, Res> {
  /** Server streaming. */
  readonly kind: "server-stream";
  /** Decodes the request message. */
  decode(bytes: Uint8Array): Req;
  /** Encodes a response message. */
  encode(message: Res): Uint8Array;
  /** Starts the stream once the request message arrived. */
  open(request: Req, call: GrpcStreamCall<Res>): void;
}

/** A bidirectional method. */
export interface BidiMethod<Req, Res> {
  /** Bidirectional streaming. */
  readonly kind: "bidi";
  /** Decodes a request message. */
  decode(bytes: Uint8Array): Req;
  /** Encodes a response message. */
  encode(message: Res): Uint8Array;
  /** Starts the stream; returns what to do with each request message and with the end of the host's side. */
  open(call: GrpcStreamCall<Res>): { message(request: Req): void; end(): void; cancelled(): void };
}

/** Any method. */
// deno-lint-ignore no-explicit-any
export type Method = UnaryMethod<any, any> | ServerStreamMethod<any, any> | BidiMethod<any, any>;

const CONTENT_TYPE = "application/grpc";
const RESPONSE_HEADERS = encodeHeaders([[":status", "200"], ["content-type", CONTENT_TYPE]]);
const OK_TRAILERS = encodeHeaders([["grpc-status", "0"]]);

/**
 * Percent-encodes a `grpc-message` as the gRPC spec says (and grpc-go does): bytes outside 0x20–0x7E and
 * `%` become `%XX` of their UTF-8 bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeGrpcMessage } from "./grpc.ts";
 * assert.equal(encodeGrpcMessage("50% done"), "50%25 done");
 * assert.equal(encodeGrpcMessage("a\nb"), "a%0Ab");
 * assert.equal(encodeGrpcMessage("café"), "caf%C3%A9");
 * ```
 *
 * @param message The status message.
 * @returns The header value.
 */
export function encodeGrpcMessage(message: string): string {
  if (/^[\x20-\x24\x26-\x7e]*$/.test(message)) return message;
  let out = "";
  for (const b of new TextEncoder().encode(message)) {
    out += b >= 0x20 && b <= 0x7e && b !== 0x25
      ? String.fromCharCode(b)
      : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/**
 * Parses `grpc-timeout` (1–8 digits and a unit H, M, S, m, u, n) into milliseconds.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseGrpcTimeout } from "./grpc.ts";
 * assert.equal(parseGrpcTimeout("1500m"), 1500);
 * assert.equal(parseGrpcTimeout("2S"), 2000);
 * assert.equal(parseGrpcTimeout("9x"), null);
 * ```
 *
 * @param value The header value.
 * @returns Milliseconds, or null when malformed.
 */
export function parseGrpcTimeout(value: string): number | null {
  const m = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (!m) return null;
  const n = Number(m[1]);
  const unit = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 }[m[2] as "H"];
  return n * unit;
}

/** The trailers block of a status. */
function trailersBlock(status: CallStatus, trailersOnly: boolean): Uint8Array {
  if (status.code === GrpcCode.OK && !trailersOnly) return OK_TRAILERS;
  const fields: HeaderField[] = trailersOnly ? [[":status", "200"], ["content-type", CONTENT_TYPE]] : [];
  fields.push(["grpc-status", String(status.code)]);
  // Bounded and plain whatever made it (a handler, or this module echoing the request's path).
  if (status.details !== "") {
    fields.push(["grpc-message", encodeGrpcMessage(asciiStatusMessage(status.details))]);
  }
  return encodeHeaders(fields);
}

/** A length-prefixed message frame. */
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

/** Per-connection state shared by its calls. */
export interface ConnectionBudget {
  /** Bytes of request messages held now (see {@linkcode MAX_PENDING_BYTES_PER_CONNECTION}). */
  pending: number;
}

/** Options of {@linkcode grpcStreamHandler}. */
export interface GrpcHandlerOptions {
  /** The methods by path. */
  readonly methods: ReadonlyMap<string, Method>;
  /** Diagnostics. */
  readonly logger: Logger;
}

/**
 * The stream handler of one connection: turns each HTTP/2 stream into a gRPC call of a registered method.
 *
 * @param options Methods and logger.
 * @returns A handler for {@linkcode H2Connection}.
 */
export function grpcStreamHandler(options: GrpcHandlerOptions): (stream: H2Stream) => StreamSink {
  const budget: ConnectionBudget = { pending: 0 };
  return (stream) => new Call(stream, options, budget).sink();
}

class Call implements GrpcStreamCall<unknown> {
  readonly path: string;
  readonly #stream: H2Stream;
  readonly #logger: Logger;
  readonly #budget: ConnectionBudget;
  #method: Method | undefined;
  #deadline = Infinity;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #listeners: (() => void)[] = [];
  #done = false;
  // Message reassembly.
  #header = new Uint8Array(5);
  #headerFill = 0;
  #body: Uint8Array | null = null;
  #bodyFill = 0;
  #messages: Uint8Array[] = [];
  /** Bytes of complete request messages held for the call (unary, server-stream) until it ends. */
  #held = 0;
  #bidi: { message(request: unknown): void; end(): void; cancelled(): void } | null = null;
  #started = false;

  constructor(stream: H2Stream, options: GrpcHandlerOptions, budget: ConnectionBudget) {
    this.#stream = stream;
    this.#logger = options.logger;
    this.#budget = budget;
    this.path = stream.header(":path") ?? "";
    this.#method = options.methods.get(this.path);
  }

  get done(): boolean {
    return this.#done;
  }

  metadata(name: string): string[] {
    const out: string[] = [];
    for (const [n, v] of this.#stream.headers) if (n === name) out.push(v);
    return out;
  }

  getDeadline(): number {
    return this.#deadline;
  }

  on(_event: "cancelled", listener: () => void): void {
    this.#listeners.push(listener);
  }

  off(_event: "cancelled", listener: () => void): void {
    this.#listeners = this.#listeners.filter((l) => l !== listener);
  }

  sendHeaders(): void {
    if (!this.#done && !this.#stream.headersSent) this.#stream.respond(RESPONSE_HEADERS);
  }

  send(message: unknown): void {
    if (this.#done) return;
    this.sendHeaders();
    this.#stream.write(frameMessage(this.#method!.encode(message)));
  }

  finish(status: CallStatus): void {
    if (this.#done) return;
    this.#settle();
    if (this.#stream.headersSent) this.#stream.end(trailersBlock(status, false));
    else this.#stream.respond(trailersBlock(status, true), true);
  }

  /** Checks the request and returns the sink of the stream. */
  sink(): StreamSink {
    const sink: StreamSink = {
      data: (chunk) => this.#onData(chunk),
      end: () => this.#onEnd(),
      abort: (reason) => this.#cancel(reason),
    };
    const problem = this.#requestProblem();
    if (problem) {
      this.#logger.debug("gRPC call refused", {
        method: this.path,
        code: problem.code,
        error: problem.details,
      });
      this.finish(problem);
      return sink;
    }
    const timeout = this.#stream.header("grpc-timeout");
    if (timeout !== undefined) {
      const ms = parseGrpcTimeout(timeout)!;
      this.#deadline = Date.now() + ms;
      // The handler's own signal (callAbortSignal) has the same deadline and gives its reason; this timer
      // answers the host for handlers that take no signal. Beyond what a timer holds (~24.8 days) there is
      // no timer, as callAbortSignal does (a longer delay would fire at once).
      if (ms <= MAX_TIMER_MS) {
        this.#timer = setTimeout(() => {
          if (this.#done) return;
          this.finish({ code: GrpcCode.DEADLINE_EXCEEDED, details: "context deadline exceeded" });
        }, ms);
      }
    }
    const m = this.#method!;
    if (m.kind === "bidi") {
      this.#started = true;
      this.#bidi = m.open(this);
    }
    return sink;
  }

  #requestProblem(): CallStatus | null {
    const ct = this.#stream.header("content-type") ?? "";
    if (this.#stream.header(":method") !== "POST") {
      return { code: GrpcCode.INTERNAL, details: `method ${this.#stream.header(":method")} is not POST` };
    }
    if (ct !== CONTENT_TYPE && !ct.startsWith(CONTENT_TYPE + "+") && !ct.startsWith(CONTENT_TYPE + ";")) {
      return { code: GrpcCode.INTERNAL, details: `content-type "${ct}" is not application/grpc` };
    }
    if (this.#method === undefined) {
      return { code: GrpcCode.UNIMPLEMENTED, details: `unknown method ${this.path}` };
    }
    const encoding = this.#stream.header("grpc-encoding");
    if (encoding !== undefined && encoding !== "identity") {
      return {
        code: GrpcCode.UNIMPLEMENTED,
        details: `grpc: Decompressor is not installed for grpc-encoding "${encoding}"`,
      };
    }
    const timeout = this.#stream.header("grpc-timeout");
    if (timeout !== undefined && parseGrpcTimeout(timeout) === null) {
      return { code: GrpcCode.INTERNAL, details: `malformed grpc-timeout "${timeout}"` };
    }
    return null;
  }

  #onData(chunk: Uint8Array): void {
    if (this.#done) {
      this.#stream.consume(chunk.length);
      return;
    }
    let pos = 0;
    while (pos < chunk.length && !this.#done) {
      if (this.#body === null) {
        const n = Math.min(5 - this.#headerFill, chunk.length - pos);
        this.#header.set(chunk.subarray(pos, pos + n), this.#headerFill);
        this.#headerFill += n;
        pos += n;
        if (this.#headerFill < 5) break;
        this.#headerFill = 0;
        const h = this.#header;
        if (h[0] !== 0) {
          this.#fail({
            code: GrpcCode.INTERNAL,
            details: h[0] === 1
              ? "grpc: compressed flag set with identity or empty encoding"
              : `grpc: invalid message flags ${h[0]}`,
          });
          break;
        }
        const length = ((h[1] << 24) | (h[2] << 16) | (h[3] << 8) | h[4]) >>> 0;
        if (length > MAX_MESSAGE_BYTES) {
          this.#fail({
            code: GrpcCode.RESOURCE_EXHAUSTED,
            details: `grpc: received message larger than max (${length} vs. ${MAX_MESSAGE_BYTES})`,
          });
          break;
        }
        if (this.#budget.pending + length > MAX_PENDING_BYTES_PER_CONNECTION) {
          this.#fail({ code: GrpcCode.RESOURCE_EXHAUSTED, details: "too many large messages in flight" });
          break;
        }
        this.#budget.pending += length;
        this.#body = new Uint8Array(length);
        this.#bodyFill = 0;
      }
      const n = Math.min(this.#body.length - this.#bodyFill, chunk.length - pos);
      this.#body.set(chunk.subarray(pos, pos + n), this.#bodyFill);
      this.#bodyFill += n;
      pos += n;
      if (this.#bodyFill === this.#body.length) {
        const body = this.#body;
        this.#body = null;
        // A unary or server-stream request stays held (and counted) until the call ends; a bidi message is
        // handed over at once.
        if (this.#method!.kind === "bidi") this.#budget.pending -= body.length;
        else this.#held += body.length;
        this.#onMessage(body);
      }
    }
    this.#stream.consume(chunk.length);
  }

  #onMessage(bytes: Uint8Array): void {
    const m = this.#method!;
    if (m.kind === "bidi") {
      let request: unknown;
      try {
        request = m.decode(bytes);
      } catch (err) {
        return this.#fail({
          code: GrpcCode.INTERNAL,
          details: `grpc: error unmarshalling request: ${errText(err)}`,
        });
      }
      this.#bidi?.message(request);
      return;
    }
    this.#messages.push(bytes);
    if (this.#messages.length > 1) {
      this.#fail({
        code: GrpcCode.UNIMPLEMENTED,
        details: "grpc: more than one request message on a unary call",
      });
    } else if (m.kind === "server-stream") {
      this.#start();
    }
  }

  #onEnd(): void {
    if (this.#done) return;
    if (this.#body !== null || this.#headerFill > 0) {
      return this.#fail({ code: GrpcCode.INTERNAL, details: "grpc: the request ended inside a message" });
    }
    const m = this.#method!;
    if (m.kind === "bidi") {
      this.#bidi?.end();
      return;
    }
    if (this.#messages.length === 0) {
      return this.#fail({ code: GrpcCode.INTERNAL, details: "grpc: no request message" });
    }
    if (!this.#started) this.#start();
  }

  #start(): void {
    this.#started = true;
    const m = this.#method!;
    let request: unknown;
    try {
      request = m.decode(this.#messages[0]);
    } catch (err) {
      return this.#fail({
        code: GrpcCode.INTERNAL,
        details: `grpc: error unmarshalling request: ${errText(err)}`,
      });
    }
    if (m.kind === "server-stream") {
      m.open(request, this);
      return;
    }
    if (m.kind !== "unary") return;
    m.handle(request, this).then((outcome) => {
      if (this.#done) return;
      if ("status" in outcome) return this.finish(outcome.status);
      let bytes: Uint8Array;
      try {
        bytes = frameMessage(m.encode(outcome.response));
      } catch (err) {
        this.#logger.error("encoding a response failed", { method: this.path, error: errText(err) });
        return this.finish({
          code: GrpcCode.INTERNAL,
          details: "internal error (details are in the plugin log)",
        });
      }
      this.#settle();
      this.#stream.respond(RESPONSE_HEADERS);
      this.#stream.write(bytes);
      this.#stream.end(OK_TRAILERS);
      m.sent?.();
    });
  }

  #fail(status: CallStatus): void {
    this.#logger.debug("gRPC call failed", { method: this.path, code: status.code, error: status.details });
    const wasDone = this.#done;
    this.finish(status);
    if (!wasDone) this.#emitCancelled();
  }

  #cancel(reason: string): void {
    if (this.#done) return;
    this.#logger.debug("gRPC call cancelled", { method: this.path, reason });
    this.#settle();
    this.#emitCancelled();
  }

  #emitCancelled(): void {
    this.#settle();
    const listeners = this.#listeners;
    this.#listeners = [];
    for (const l of listeners) l();
    this.#bidi?.cancelled();
  }

  #settle(): void {
    this.#done = true;
    clearTimeout(this.#timer);
    if (this.#body) this.#budget.pending -= this.#body.length;
    this.#body = null;
    this.#budget.pending -= this.#held;
    this.#held = 0;
    this.#messages = [];
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
