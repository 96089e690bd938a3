/**
 * One gRPC request over a bare `node:http2` session, for wire-level assertions that no gRPC library may
 * interpret first (status in the first HEADERS frame, content type, trailers).
 *
 * @module
 */

import * as http2 from "node:http2";
import * as net from "node:net";
import type { Handshake } from "./handshake.ts";

/** The result of one raw HTTP/2 exchange, for wire-level assertions. */
export interface RawExchange {
  /** Response headers (first HEADERS frame). */
  readonly headers: http2.IncomingHttpHeaders;
  /** Trailers, when a separate trailing HEADERS frame came. */
  readonly trailers: http2.IncomingHttpHeaders | null;
  /** All DATA bytes. */
  readonly data: Buffer;
}

/**
 * Sends one gRPC request over a fresh `node:http2` session and records the frames' headers, trailers and
 * data, without any gRPC library interpreting them.
 *
 * @param handshake Where the plugin listens.
 * @param path The `:path`.
 * @param message The protobuf bytes of the request message.
 * @returns What came back.
 */
export function rawExchange(handshake: Handshake, path: string, message: Uint8Array): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const session = http2.connect("http://unused", {
      createConnection: () =>
        handshake.network === "unix"
          ? net.connect(handshake.address)
          : net.connect(Number(handshake.address.split(":")[1]), "127.0.0.1"),
    });
    session.on("error", reject);
    const stream = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc",
      te: "trailers",
    });
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders | null = null;
    const chunks: Buffer[] = [];
    stream.on("response", (h) => headers = h);
    stream.on("trailers", (t) => trailers = t);
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("error", reject);
    stream.on("close", () => {
      session.close();
      resolve({ headers, trailers, data: Buffer.concat(chunks) });
    });
    const frame = Buffer.alloc(5 + message.length);
    frame.writeUInt32BE(message.length, 1);
    frame.set(message, 5);
    stream.end(frame);
  });
}
