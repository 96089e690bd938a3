/**
 * gRPC over HTTP/2 on the server side (the gRPC "PROTOCOL-HTTP2" spec): each HTTP/2 stream becomes a call
 * of a method registered by path (unary, server-streaming or bidirectional; see `grpc_method.ts`), checked
 * by its headers (`grpc_headers.ts`), fed with length-prefixed messages (`grpc_messages.ts`), and answered
 * with response headers, DATA and trailers, or Trailers-Only for errors; UNIMPLEMENTED for unknown methods.
 * The calls' cancellation (RST_STREAM, connection gone, deadline) is reported as the `"cancelled"` event
 * that `callAbortSignal` in `src/plugin/server.ts` turns into an `AbortSignal`.
 *
 * @module
 */

import type { Logger } from "../../log.ts";
import { GrpcCode } from "../grpc_status.ts";
import {
  grpcRequestProblem,
  OK_TRAILERS,
  parseGrpcTimeout,
  RESPONSE_HEADERS,
  trailersBlock,
} from "./grpc_headers.ts";
import type { CallStatus, GrpcStreamCall, Method } from "./grpc_method.ts";
import { type ConnectionBudget, frameMessage, MessageReader } from "./grpc_messages.ts";
import type { H2Stream, StreamSink } from "./stream.ts";

export type {
  BidiMethod,
  CallStatus,
  GrpcCall,
  GrpcStreamCall,
  Method,
  ServerStreamMethod,
  UnaryMethod,
} from "./grpc_method.ts";
export { encodeGrpcMessage, parseGrpcTimeout } from "./grpc_headers.ts";
export {
  type ConnectionBudget,
  frameMessage,
  MAX_MESSAGE_BYTES,
  MAX_PENDING_BYTES_PER_CONNECTION,
} from "./grpc_messages.ts";

/** The longest delay a timer supports (2^31 - 1 ms). */
const MAX_TIMER_MS = 2 ** 31 - 1;

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
  #method: Method | undefined;
  #deadline = Infinity;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #listeners: (() => void)[] = [];
  #done = false;
  readonly #reader: MessageReader;
  #messages: Uint8Array[] = [];
  #bidi: { message(request: unknown): void; end(): void; cancelled(): void } | null = null;
  #started = false;

  constructor(stream: H2Stream, options: GrpcHandlerOptions, budget: ConnectionBudget) {
    this.#stream = stream;
    this.#logger = options.logger;
    this.path = stream.header(":path") ?? "";
    this.#method = options.methods.get(this.path);
    // A unary or server-stream request is held until the call ends; bidi messages are handed over.
    this.#reader = new MessageReader(budget, this.#method?.kind !== "bidi");
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
    return grpcRequestProblem((name) => this.#stream.header(name), this.path, this.#method !== undefined);
  }

  #onData(chunk: Uint8Array): void {
    if (!this.#done) {
      const problem = this.#reader.push(chunk, (body) => this.#onMessage(body), () => this.#done);
      if (problem) this.#fail(problem);
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
    if (this.#reader.midMessage) {
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
    const release = this.#stream.hold();
    m.handle(request, this).finally(release).then((outcome) => {
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
    this.#reader.release();
    this.#messages = [];
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
