/**
 * A raw HTTP/2 client for wire-level tests of the plugin's transport: frames are written as the test
 * says (valid or not) over a real socket, and what the server sends back is read frame by frame.
 *
 * @module
 */

import {
  CLIENT_PREFACE,
  encodeFrame,
  Flag,
  type Frame,
  FrameReader,
  FrameType,
  readUint32,
  settingsFrame,
} from "../../src/plugin/h2/frames.ts";
import { encodeHeaders, type HeaderField, HpackDecoder } from "../../src/plugin/h2/hpack.ts";

/** A received frame, its payload copied. */
export type RawFrame = Frame;

/** One raw HTTP/2 connection to a unix socket or 127.0.0.1 port. */
export class RawH2 {
  readonly #conn: Deno.Conn;
  readonly #reader = new FrameReader(1 << 24);
  readonly #frames: RawFrame[] = [];
  #wake: (() => void) | null = null;
  #closed = false;
  /** Decodes the server's header blocks. */
  readonly decoder = new HpackDecoder({ maxHeaderListSize: 1 << 20 });

  private constructor(conn: Deno.Conn) {
    this.#conn = conn;
    void this.#readLoop();
  }

  /** Connects; by default sends the preface and an empty SETTINGS frame. */
  static async connect(
    address: string,
    options: { preface?: boolean; settings?: [number, number][] } = {},
  ): Promise<RawH2> {
    const conn = address.startsWith("127.0.0.1:")
      ? await Deno.connect({ hostname: "127.0.0.1", port: Number(address.split(":")[1]) })
      : await Deno.connect({ transport: "unix", path: address });
    const c = new RawH2(conn);
    if (options.preface !== false) {
      await c.send(CLIENT_PREFACE, settingsFrame(options.settings ?? []));
    }
    return c;
  }

  async #readLoop(): Promise<void> {
    try {
      for (;;) {
        const buf = new Uint8Array(65_536);
        const n = await this.#conn.read(buf);
        if (n === null) break;
        this.#reader.push(buf.subarray(0, n));
        for (let f = this.#reader.next(); f; f = this.#reader.next()) {
          this.#frames.push({ ...f, payload: f.payload.slice() });
        }
        this.#wake?.();
      }
    } catch {
      // reset by the server
    }
    this.#closed = true;
    this.#wake?.();
  }

  /** Writes bytes (ignores a connection the server already closed). */
  async send(...chunks: Uint8Array[]): Promise<void> {
    for (const c of chunks) {
      try {
        let off = 0;
        while (off < c.length) off += await this.#conn.write(c.subarray(off));
      } catch {
        return;
      }
    }
  }

  /** Whether the server closed the connection. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Waits for a frame matching `match` (earlier frames stay queued for later calls only if they do not
   * match), or null when the connection closes first.
   */
  async waitFor(match: (f: RawFrame) => boolean, timeoutMs = 5000): Promise<RawFrame | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.#frames.findIndex(match);
      if (i >= 0) return this.#frames.splice(i, 1)[0];
      if (this.#closed) return null;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("timed out waiting for a frame");
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  /** Every frame received so far (removed from the queue). */
  drain(): RawFrame[] {
    return this.#frames.splice(0);
  }

  /** Waits for the GOAWAY (or null if the connection closed without one). */
  async goaway(timeoutMs = 5000): Promise<{ code: number; debug: string } | null> {
    const f = await this.waitFor((f) => f.type === FrameType.GOAWAY, timeoutMs);
    if (!f) return null;
    return { code: readUint32(f.payload, 4), debug: new TextDecoder().decode(f.payload.subarray(8)) };
  }

  #connWindow = 65_535;
  readonly #streamWindows = new Map<number, number>();
  #initialStreamWindow: number | null = null;

  /** Applies the server's SETTINGS_INITIAL_WINDOW_SIZE and the WINDOW_UPDATEs queued so far (removing them). */
  #takeWindowUpdates(): void {
    if (this.#initialStreamWindow === null) {
      const s = this.#frames.find((f) => f.type === FrameType.SETTINGS && (f.flags & Flag.ACK) === 0);
      if (s) {
        this.#initialStreamWindow = 65_535;
        for (let i = 0; i < s.payload.length; i += 6) {
          if (((s.payload[i] << 8) | s.payload[i + 1]) === 0x4) {
            this.#initialStreamWindow = readUint32(s.payload, i + 2);
          }
        }
      }
    }
    for (let i = 0; i < this.#frames.length;) {
      const f = this.#frames[i];
      if (f.type !== FrameType.WINDOW_UPDATE) {
        i++;
        continue;
      }
      this.#frames.splice(i, 1);
      const n = readUint32(f.payload, 0);
      if (f.streamId === 0) this.#connWindow += n;
      else this.#streamWindows.set(f.streamId, (this.#streamWindows.get(f.streamId) ?? 0) + n);
    }
  }

  /**
   * Sends `bytes` as DATA on `streamId` within the server's windows (waiting for its WINDOW_UPDATEs), the
   * last frame with END_STREAM when asked. Other frames stay queued.
   */
  async sendWindowed(streamId: number, bytes: Uint8Array, endStream = false): Promise<void> {
    await this.waitFor((f) => f.type === FrameType.SETTINGS && (f.flags & Flag.ACK) === 0, 5000)
      .then((f) => f && this.#frames.unshift(f));
    this.#takeWindowUpdates();
    if (!this.#streamWindows.has(streamId)) this.#streamWindows.set(streamId, this.#initialStreamWindow!);
    let sent = 0;
    do {
      this.#takeWindowUpdates();
      const n = Math.min(16_384, bytes.length - sent, this.#connWindow, this.#streamWindows.get(streamId)!);
      if (n <= 0 && bytes.length > 0) {
        const u = await this.waitFor((f) => f.type === FrameType.WINDOW_UPDATE);
        if (!u) throw new Error("the server closed the connection");
        this.#frames.unshift(u);
        continue;
      }
      const last = sent + n === bytes.length;
      await this.send(
        encodeFrame(
          FrameType.DATA,
          last && endStream ? Flag.END_STREAM : 0,
          streamId,
          bytes.subarray(sent, sent + n),
        ),
      );
      sent += n;
      this.#connWindow -= n;
      this.#streamWindows.set(streamId, this.#streamWindows.get(streamId)! - n);
    } while (sent < bytes.length);
  }

  /** Closes the socket. */
  close(): void {
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }
}

/** The header block of a gRPC request. */
export function grpcRequestHeaders(path: string, extra: HeaderField[] = []): Uint8Array {
  return encodeHeaders([
    [":method", "POST"],
    [":scheme", "http"],
    [":path", path],
    [":authority", "unused"],
    ["content-type", "application/grpc"],
    ["te", "trailers"],
    ...extra,
  ]);
}

/** A HEADERS frame opening a gRPC request. */
export function requestFrame(streamId: number, path: string, extra: HeaderField[] = [], endStream = false) {
  return encodeFrame(
    FrameType.HEADERS,
    Flag.END_HEADERS | (endStream ? Flag.END_STREAM : 0),
    streamId,
    grpcRequestHeaders(path, extra),
  );
}

/** A length-prefixed gRPC message. */
export function grpcMessage(bytes: Uint8Array, compressed = false): Uint8Array {
  const out = new Uint8Array(5 + bytes.length);
  out[0] = compressed ? 1 : 0;
  new DataView(out.buffer).setUint32(1, bytes.length);
  out.set(bytes, 5);
  return out;
}

/** DATA frames carrying `bytes` (split at `maxFrame`), the last with END_STREAM when asked. */
export function dataFrames(streamId: number, bytes: Uint8Array, endStream = true, maxFrame = 16_384) {
  const frames: Uint8Array[] = [];
  for (let off = 0; off < bytes.length || frames.length === 0; off += maxFrame) {
    const last = off + maxFrame >= bytes.length;
    frames.push(
      encodeFrame(
        FrameType.DATA,
        last && endStream ? Flag.END_STREAM : 0,
        streamId,
        bytes.subarray(off, off + maxFrame),
      ),
    );
  }
  return frames;
}

/** Protobuf `string` field `field` (wire type 2). */
export function stringField(field: number, value: string): Uint8Array {
  const v = new TextEncoder().encode(value);
  const len: number[] = [];
  let n = v.length;
  while (n >= 0x80) {
    len.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  len.push(n);
  return Uint8Array.from([(field << 3) | 2, ...len, ...v]);
}

/** The decoded HEADERS fields of `f` as an object (last value wins). */
export function headersOf(c: RawH2, f: RawFrame): Record<string, string> {
  return Object.fromEntries(c.decoder.decode(f.payload));
}

/** The gRPC path of WorkloadAttestor/Attest. */
export const ATTEST = "/spire.plugin.agent.workloadattestor.v1.WorkloadAttestor/Attest";
/** The gRPC path of WorkloadAttestor/AttestReference. */
export const ATTEST_REFERENCE = "/spire.plugin.agent.workloadattestor.v1.WorkloadAttestor/AttestReference";
/** The gRPC path of the health service's Check. */
export const HEALTH = "/grpc.health.v1.Health/Check";
/** A Health/Check request for the service "plugin", framed as one gRPC message. */
export const healthRequest = (): Uint8Array => grpcMessage(stringField(1, "plugin"));
