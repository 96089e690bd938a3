import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { CLIENT_PREFACE, ErrorCode, Flag, FrameType, readUint32 } from "../../src/plugin/h2/frames.ts";
import { type RecordedLine, recordingLogger } from "../../src/testing/recording_logger.ts";
import { type H2TcpServer, startH2TcpServer } from "./_h2_fixture.ts";
import { RawH2 } from "./_h2_raw.ts";

const HANDSHAKE_MS = 300;

/** The plugin's HTTP/2 connection over real TCP sockets, with a short handshake timeout. */
describe("HTTP/2 transport: a peer that never completes the handshake", () => {
  const lines: RecordedLine[] = [];
  const logger = recordingLogger(lines);
  let server: H2TcpServer;
  let address = "";
  before(async () => {
    server = await startH2TcpServer(new Map(), logger, { handshakeTimeoutMs: HANDSHAKE_MS });
    address = server.address;
  });
  after(() => server.stop());

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
