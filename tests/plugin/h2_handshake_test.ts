import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { DEFAULT_LIMITS, H2Connection } from "../../src/plugin/h2/connection.ts";
import { CLIENT_PREFACE, ErrorCode, Flag, FrameType, readUint32 } from "../../src/plugin/h2/frames.ts";
import { grpcStreamHandler } from "../../src/plugin/h2/grpc.ts";
import { type RecordedLine, recordingLogger } from "../../src/testing/recording_logger.ts";
import { RawH2 } from "./_h2_raw.ts";

const HANDSHAKE_MS = 300;

/** The plugin's HTTP/2 connection over real TCP sockets, with a short handshake timeout. */
describe("HTTP/2 transport: a peer that never completes the handshake", () => {
  const lines: RecordedLine[] = [];
  const logger = recordingLogger(lines);
  let server: net.Server;
  let address = "";
  const open = new Set<net.Socket>();
  before(async () => {
    server = net.createServer((socket) => {
      open.add(socket);
      const conn = new H2Connection(
        {
          write: (b) => void socket.write(b),
          close: () => socket.end(),
          get pendingBytes() {
            return socket.writableLength;
          },
        },
        grpcStreamHandler({ methods: new Map(), logger }),
        logger,
        { ...DEFAULT_LIMITS, handshakeTimeoutMs: HANDSHAKE_MS },
      );
      socket.on("data", (chunk: Uint8Array) => conn.receive(chunk));
      socket.on("error", () => {});
      socket.on("close", () => {
        open.delete(socket);
        conn.transportClosed();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    address = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  });
  after(async () => {
    for (const s of open) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  async function closedWithGoaway(c: RawH2): Promise<void> {
    const goaway = await c.goaway(5000);
    assert.ok(goaway, "a GOAWAY");
    assert.equal(goaway.code, ErrorCode.PROTOCOL_ERROR);
    assert.match(goaway.debug, /no connection preface and SETTINGS within 300 ms/);
    assert.equal(await c.waitFor(() => false, 5000), null, "the server closed the connection");
  }

  it("closes a connection that sends nothing", async () => {
    const c = await RawH2.connect(address, { preface: false });
    try {
      await closedWithGoaway(c);
    } finally {
      c.close();
    }
  });

  it("closes a connection that sends the preface but no SETTINGS, or half the preface", async () => {
    for (const bytes of [CLIENT_PREFACE, CLIENT_PREFACE.subarray(0, 10)]) {
      const c = await RawH2.connect(address, { preface: false });
      try {
        await c.send(bytes);
        await closedWithGoaway(c);
      } finally {
        c.close();
      }
    }
    const line = lines.findLast((l) => l.message === "HTTP/2 connection error: closing the connection");
    assert.match(String(line?.fields.error), /no connection preface and SETTINGS/);
  });

  it("keeps a connection that completed the handshake past the timeout (no idle timeout)", async () => {
    const c = await RawH2.connect(address);
    try {
      await new Promise((r) => setTimeout(r, 3 * HANDSHAKE_MS));
      await c.send(new Uint8Array([0, 0, 8, FrameType.PING, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]));
      const ack = await c.waitFor((x) => x.type === FrameType.PING && (x.flags & Flag.ACK) !== 0);
      assert.ok(ack, "the PING is answered");
      assert.equal(readUint32(ack.payload, 0), 0x01020304);
      assert.ok(c.drain().every((x) => x.type !== FrameType.GOAWAY), "no GOAWAY");
    } finally {
      c.close();
    }
  });
});
