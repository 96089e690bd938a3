/**
 * One HTTP/2 stream as its consumer (the gRPC layer, `grpc.ts`) sees it: the request headers, the sink the
 * connection delivers DATA, END_STREAM and resets to, and the calls that send the response. The state the
 * connection keeps per stream (windows, queued DATA, trailers) lives here too, marked internal.
 *
 * @module
 */

import type { HeaderField } from "./hpack.ts";

/** What the connection tells a stream's consumer. */
export interface StreamSink {
  /** A DATA payload (padding removed); valid only during the call. Call `stream.consume` when freed. */
  data(chunk: Uint8Array): void;
  /** The peer ended its side (END_STREAM). */
  end(): void;
  /** The stream is gone: RST_STREAM from the peer, or the connection closed. */
  abort(reason: string): void;
}

/** Receives each new stream (its request headers decoded) and returns its sink. */
export type StreamHandler = (stream: H2Stream) => StreamSink;

/** What a stream asks of its connection (implemented by `H2Connection`). */
export interface StreamOwner {
  /** Sends response headers or, with `endStream`, Trailers-Only. */
  sendHeaders(s: H2Stream, block: Uint8Array, endStream: boolean): void;
  /** Sends what the windows allow of the stream's queue, then its trailers. */
  flushStream(s: H2Stream): void;
  /** Acknowledges freed bytes of the stream once enough have accumulated. */
  acknowledge(s: H2Stream): void;
  /** Counts the stream's handler work as running until the returned function is called. */
  hold(s: H2Stream): () => void;
}

/** One stream as its consumer sees it. */
export class H2Stream {
  /** The stream identifier. */
  readonly id: number;
  /** The request header fields, in order (pseudo-headers first). */
  readonly headers: readonly HeaderField[];
  readonly #conn: StreamOwner;
  /** @internal Bytes we may still send. */
  sendWindow: number;
  /** @internal Bytes the peer may still send. */
  recvWindow: number;
  /** @internal Received bytes freed by the consumer and not yet acknowledged. */
  unacked = 0;
  /** @internal DATA waiting for window. */
  readonly queue: Uint8Array[] = [];
  /** @internal Trailers to send after the queue drains. */
  pendingTrailers: Uint8Array | null = null;
  /** @internal The peer ended its side. */
  remoteEnded = false;
  /** @internal We sent END_STREAM or RST_STREAM, or the stream was reset. */
  closed = false;
  /** @internal */
  sink: StreamSink | null = null;
  /** @internal Handler work runs for the stream (see {@linkcode H2Stream.hold}). */
  working = false;
  #headersSent = false;

  /** @internal */
  constructor(
    conn: StreamOwner,
    id: number,
    headers: readonly HeaderField[],
    sendWindow: number,
    recvWindow: number,
  ) {
    this.#conn = conn;
    this.id = id;
    this.headers = headers;
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
  }

  /** The first value of a request header, or undefined. */
  header(name: string): string | undefined {
    for (const [n, v] of this.headers) if (n === name) return v;
    return undefined;
  }

  /** Whether response headers were sent. */
  get headersSent(): boolean {
    return this.#headersSent;
  }

  /**
   * Sends response headers (a pre-encoded block); with `endStream` they are the whole response
   * (gRPC Trailers-Only).
   */
  respond(block: Uint8Array, endStream = false): void {
    if (this.closed) return;
    this.#headersSent = true;
    this.#conn.sendHeaders(this, block, endStream);
  }

  /** Queues DATA (split and sent as the peer's windows allow). */
  write(data: Uint8Array): void {
    if (this.closed || data.length === 0) return;
    this.queue.push(data);
    this.#conn.flushStream(this);
  }

  /** Sends the trailers (a pre-encoded block) with END_STREAM once the queued DATA is out. */
  end(trailers: Uint8Array): void {
    if (this.closed || this.pendingTrailers) return;
    this.pendingTrailers = trailers;
    this.#conn.flushStream(this);
  }

  /**
   * Marks handler work running for the stream until the returned function is called (idempotent). Until
   * then the stream counts against SETTINGS_MAX_CONCURRENT_STREAMS even once reset or answered, as grpc-go's
   * server counts running handlers: a host that resets each stream right after opening it ("rapid reset")
   * gets no more handlers running at once than the limit.
   */
  hold(): () => void {
    return this.#conn.hold(this);
  }

  /** Frees `n` received bytes: they may be acknowledged to the peer. */
  consume(n: number): void {
    if (this.closed || this.remoteEnded) return;
    this.unacked += n;
    this.#conn.acknowledge(this);
  }
}
