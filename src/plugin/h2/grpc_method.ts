/**
 * What the gRPC layer (`grpc.ts`) offers the methods it serves: the kinds of method (unary, server
 * streaming, bidirectional) as a server registers them by path, the call a handler sees, and the status a
 * call ends with.
 *
 * @module
 */

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
