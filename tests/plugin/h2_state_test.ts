import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  encodeFrame,
  ErrorCode,
  Flag,
  FrameType,
  goawayFrame,
  readUint32,
  rstStreamFrame,
  Setting,
  settingsFrame,
  windowUpdateFrame,
} from "../../src/plugin/h2/frames.ts";
import { encodeHeaders } from "../../src/plugin/h2/hpack.ts";
import { type H2Fixture, startH2Fixture } from "./_h2_fixture.ts";
import {
  ATTEST,
  dataFrames,
  grpcMessage,
  grpcRequestHeaders,
  headersOf,
  HEALTH,
  healthRequest,
  type RawFrame,
  RawH2,
  requestFrame,
} from "./_h2_raw.ts";

const attestRequest = (pid: number) => grpcMessage(Uint8Array.of(0x08, pid));
const ended = (id: number) => (f: RawFrame) => f.streamId === id && (f.flags & Flag.END_STREAM) !== 0;
const isStream = (id: number, type: number) => (f: RawFrame) => f.streamId === id && f.type === type;

describe("HTTP/2 transport: the stream state machine against a hostile or buggy host", () => {
  let f: H2Fixture;
  before(async () => {
    f = await startH2Fixture();
    await f.client().configure(`node=${"n".repeat(3000)}`, "example.org");
  });
  after(() => f.stop());

  /** The connection still answers Health/Check on stream `id`. */
  async function serves(c: RawH2, id: number): Promise<void> {
    await c.send(requestFrame(id, HEALTH), ...dataFrames(id, healthRequest()));
    const t = await c.waitFor(ended(id));
    assert.ok(t, `an answer on stream ${id}`);
    assert.equal(headersOf(c, t)["grpc-status"], "0", "the connection still serves");
  }

  /** The server reset stream `id` with `code`. */
  async function expectReset(c: RawH2, id: number, code: number): Promise<void> {
    const rst = await c.waitFor(isStream(id, FrameType.RST_STREAM));
    assert.ok(rst, `RST_STREAM on ${id}`);
    assert.equal(readUint32(rst.payload, 0), code, `RST_STREAM code on ${id}`);
  }

  async function until(cond: () => boolean): Promise<void> {
    for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  }

  it("aborts the handler's signal when the host resets the stream of a pending Attest", async () => {
    f.runtime.hang = true;
    const aborts = f.runtime.aborts.length;
    const c = await RawH2.connect(f.address);
    try {
      await c.send(requestFrame(1, ATTEST), ...dataFrames(1, attestRequest(9)));
      await until(() => f.runtime.signals.length > 0 && !f.runtime.signals.at(-1)!.aborted);
      const signal = f.runtime.signals.at(-1)!;
      await c.send(rstStreamFrame(1, ErrorCode.CANCEL));
      await until(() => f.runtime.aborts.length > aborts);
      assert.ok(signal.aborted, "the attest signal aborted");
      f.runtime.hang = false;
      await serves(c, 3);
      assert.ok(
        c.drain().every((x) => x.streamId !== 1 || x.type === FrameType.WINDOW_UPDATE),
        "no reply on 1",
      );
    } finally {
      f.runtime.hang = false;
      c.close();
    }
  });

  it("answers a unary call whose HEADERS carry END_STREAM (no request message) with INTERNAL", async () => {
    const c = await RawH2.connect(f.address);
    try {
      await c.send(requestFrame(1, HEALTH, [], true));
      const t = await c.waitFor(ended(1));
      assert.equal(headersOf(c, t!)["grpc-status"], "13");
      await serves(c, 3);
    } finally {
      c.close();
    }
  });

  it("takes trailers from the host as the end of its side, and refuses HEADERS without END_STREAM after them", async () => {
    const c = await RawH2.connect(f.address);
    try {
      await c.send(requestFrame(1, HEALTH), ...dataFrames(1, healthRequest(), false));
      await c.send(
        encodeFrame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, encodeHeaders([["x-t", "1"]])),
      );
      const t = await c.waitFor(ended(1));
      assert.equal(headersOf(c, t!)["grpc-status"], "0");
      // A second HEADERS block in the middle of a request (neither headers nor trailers): a stream error.
      await c.send(
        requestFrame(3, HEALTH),
        encodeFrame(FrameType.HEADERS, Flag.END_HEADERS, 3, encodeHeaders([["x", "y"]])),
      );
      await expectReset(c, 3, ErrorCode.PROTOCOL_ERROR);
      await serves(c, 5);
    } finally {
      c.close();
    }
  });

  it("refuses a reused or decreasing stream id (STREAM_CLOSED) and keeps the connection", async () => {
    const c = await RawH2.connect(f.address);
    try {
      await serves(c, 5);
      for (const id of [5, 3]) {
        await c.send(requestFrame(id, HEALTH));
        await expectReset(c, id, ErrorCode.STREAM_CLOSED);
      }
      await serves(c, 7);
    } finally {
      c.close();
    }
  });

  it("ignores PRIORITY frames on idle, open and closed streams and priority fields in HEADERS", async () => {
    const c = await RawH2.connect(f.address);
    try {
      const priority = (id: number, dep: number) =>
        encodeFrame(FrameType.PRIORITY, 0, id, Uint8Array.of(0, 0, 0, dep, 16));
      await c.send(priority(11, 0), priority(1, 0));
      const block = grpcRequestHeaders(HEALTH);
      const withPriority = new Uint8Array(5 + block.length);
      withPriority.set([0x80, 0, 0, 0, 0, 200]);
      withPriority.set(block, 5);
      await c.send(encodeFrame(FrameType.HEADERS, Flag.END_HEADERS | Flag.PRIORITY, 1, withPriority));
      await c.send(...dataFrames(1, healthRequest()));
      const t = await c.waitFor(ended(1));
      assert.equal(headersOf(c, t!)["grpc-status"], "0");
      await c.send(priority(1, 3));
      await serves(c, 11);
      // A PRIORITY of the wrong size is a stream error (RFC 9113 §6.3).
      await c.send(encodeFrame(FrameType.PRIORITY, 0, 13, new Uint8Array(4)));
      await expectReset(c, 13, ErrorCode.FRAME_SIZE_ERROR);
      await serves(c, 15);
    } finally {
      c.close();
    }
  });

  it("removes padding from HEADERS and DATA, and counts it against the windows", async () => {
    const c = await RawH2.connect(f.address);
    try {
      const block = grpcRequestHeaders(HEALTH);
      const padded = (body: Uint8Array, pad: number) => {
        const out = new Uint8Array(1 + body.length + pad);
        out[0] = pad;
        out.set(body, 1);
        out.fill(0xee, 1 + body.length);
        return out;
      };
      await c.send(encodeFrame(FrameType.HEADERS, Flag.END_HEADERS | Flag.PADDED, 1, padded(block, 200)));
      await c.send(
        encodeFrame(FrameType.DATA, Flag.PADDED | Flag.END_STREAM, 1, padded(healthRequest(), 255)),
      );
      const t = await c.waitFor(ended(1));
      assert.equal(headersOf(c, t!)["grpc-status"], "0");
      // Padding as long as the frame is a connection error.
      await c.send(
        requestFrame(3, HEALTH),
        encodeFrame(FrameType.DATA, Flag.PADDED, 3, Uint8Array.of(4, 1, 2, 3)),
      );
      const goaway = await c.goaway();
      assert.equal(goaway?.code, ErrorCode.PROTOCOL_ERROR);
    } finally {
      c.close();
    }
  });

  it("applies SETTINGS_INITIAL_WINDOW_SIZE changes to open streams (down to negative windows, then up)", async () => {
    const c = await RawH2.connect(f.address, { settings: [[Setting.INITIAL_WINDOW_SIZE, 100]] });
    try {
      await c.send(requestFrame(1, ATTEST), ...dataFrames(1, attestRequest(3)));
      const first = await c.waitFor(isStream(1, FrameType.DATA));
      assert.equal(first!.payload.length, 100, "the first 100 bytes only");
      // The window drops to 100 - 150 = -50: nothing more until it is above 0 again.
      await c.send(settingsFrame([[Setting.INITIAL_WINDOW_SIZE, 50]]));
      await c.send(windowUpdateFrame(1, 40));
      await c.waitFor((x) => x.type === FrameType.SETTINGS && (x.flags & Flag.ACK) !== 0);
      await c.send(encodeFrame(FrameType.PING, 0, 0, new Uint8Array(8)));
      await c.waitFor((x) => x.type === FrameType.PING);
      assert.equal(
        c.drain().filter((x) => x.type === FrameType.DATA).length,
        0,
        "no DATA at a window of -10",
      );
      await c.send(settingsFrame([[Setting.INITIAL_WINDOW_SIZE, 1 << 20]]));
      const t = await c.waitFor(ended(1));
      assert.equal(headersOf(c, t!)["grpc-status"], "0");
      // A change pushing an open stream's window beyond 2^31-1 is a connection error.
      f.runtime.hang = true;
      await c.send(requestFrame(3, ATTEST), ...dataFrames(3, attestRequest(3)));
      await c.send(windowUpdateFrame(3, 0x7fff_ffff - (1 << 20)));
      await c.send(settingsFrame([[Setting.INITIAL_WINDOW_SIZE, (1 << 20) + 1]]));
      const goaway = await c.goaway();
      assert.equal(goaway?.code, ErrorCode.FLOW_CONTROL_ERROR);
    } finally {
      f.runtime.hang = false;
      c.close();
    }
  });

  it("keeps answering a call that is open when the host sends GOAWAY", async () => {
    f.runtime.hang = false;
    const c = await RawH2.connect(f.address);
    try {
      await c.send(requestFrame(1, HEALTH), ...dataFrames(1, healthRequest(), false));
      await c.send(goawayFrame(0, ErrorCode.NO_ERROR));
      await c.send(encodeFrame(FrameType.DATA, Flag.END_STREAM, 1, new Uint8Array(0)));
      const t = await c.waitFor(ended(1));
      assert.equal(headersOf(c, t!)["grpc-status"], "0");
    } finally {
      c.close();
    }
  });

  it("closes the connection on a connection window beyond 2^31-1, resets a stream on a WINDOW_UPDATE of 0", async () => {
    const c = await RawH2.connect(f.address);
    try {
      f.runtime.hang = true;
      await c.send(requestFrame(1, ATTEST), ...dataFrames(1, attestRequest(3)));
      await c.send(encodeFrame(FrameType.WINDOW_UPDATE, 0, 1, new Uint8Array(4)));
      await expectReset(c, 1, ErrorCode.PROTOCOL_ERROR);
      await c.send(windowUpdateFrame(0, 0x7fff_ffff));
      const goaway = await c.goaway();
      assert.equal(goaway?.code, ErrorCode.FLOW_CONTROL_ERROR);
    } finally {
      f.runtime.hang = false;
      c.close();
    }
  });
});
