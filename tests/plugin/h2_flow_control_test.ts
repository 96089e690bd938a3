import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  encodeFrame,
  ErrorCode,
  Flag,
  FrameType,
  readUint32,
  Setting,
  windowUpdateFrame,
} from "../../src/plugin/h2/frames.ts";
import { type H2Fixture, startH2Fixture } from "./_h2_fixture.ts";
import {
  ATTEST,
  dataFrames,
  grpcMessage,
  headersOf,
  HEALTH,
  healthRequest,
  type RawFrame,
  RawH2,
  requestFrame,
  stringField,
} from "./_h2_raw.ts";

const CONFIGURE = "/spire.service.common.config.v1.Config/Configure";

/** AttestRequest{pid}. */
const attestRequest = (pid: number) => grpcMessage(Uint8Array.of(0x08, pid));

/** The strings of field 1 of a protobuf message (AttestResponse.selector_values). */
function selectorValues(message: Uint8Array): string[] {
  const out: string[] = [];
  let pos = 0;
  while (pos < message.length) {
    assert.equal(message[pos++], 0x0a);
    let len = 0;
    for (let shift = 0;; shift += 7) {
      const b = message[pos++];
      len += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) break;
    }
    out.push(new TextDecoder().decode(message.subarray(pos, pos + len)));
    pos += len;
  }
  return out;
}

const isStream = (id: number, type: number) => (f: RawFrame) => f.streamId === id && f.type === type;

describe("HTTP/2 transport: flow control against a real socket", () => {
  let f: H2Fixture;
  const bigNode = "n".repeat(300_000);
  before(async () => {
    f = await startH2Fixture();
    await f.client().configure(`node=${bigNode}`, "example.org");
  });
  after(() => f.stop());

  it("never sends more DATA than the host's stream window allows, and resumes on WINDOW_UPDATE", async () => {
    const c = await RawH2.connect(f.address, { settings: [[Setting.INITIAL_WINDOW_SIZE, 1000]] });
    try {
      await c.send(requestFrame(1, ATTEST), ...dataFrames(1, attestRequest(9)));
      const headers = await c.waitFor(isStream(1, FrameType.HEADERS));
      assert.equal(headersOf(c, headers!)[":status"], "200");
      const data: Uint8Array[] = [];
      let granted = 1000;
      const take = async (expect: number) => {
        let got = 0;
        while (got < expect) {
          const d = await c.waitFor(isStream(1, FrameType.DATA));
          assert.ok(d, "DATA");
          assert.ok(
            d.payload.length <= 16_384,
            `a DATA frame of ${d.payload.length} bytes exceeds the default max frame`,
          );
          data.push(d.payload);
          got += d.payload.length;
        }
        assert.equal(got, expect, "exactly what the window allowed");
      };
      await take(1000);
      // Nothing more may come until the window opens (a short look, not a timing assertion on speed).
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(c.drain().filter((x) => x.streamId === 1), [], "no frame beyond the window");
      await c.send(windowUpdateFrame(1, 40_000));
      granted += 40_000;
      await take(40_000);
      // Open both windows wide: the rest, then the trailers, last.
      await c.send(windowUpdateFrame(0, 1 << 20), windowUpdateFrame(1, 1 << 20));
      const rest: RawFrame[] = [];
      for (;;) {
        const fr = await c.waitFor((x) => x.streamId === 1);
        assert.ok(fr);
        rest.push(fr);
        if (fr.type === FrameType.HEADERS) break;
      }
      const trailers = rest.pop()!;
      assert.ok(trailers.flags & Flag.END_STREAM);
      assert.equal(headersOf(c, trailers)["grpc-status"], "0");
      for (const d of rest) {
        assert.equal(d.type, FrameType.DATA);
        data.push(d.payload);
      }
      const body = Uint8Array.from(data.flatMap((d) => [...d]));
      assert.ok(body.length > granted, "the response needed more than the first windows");
      assert.equal(body[0], 0);
      assert.equal(readUint32(body, 1), body.length - 5);
      assert.deepEqual(selectorValues(body.subarray(5)), ["pid:9", `node:${bigNode}`]);
    } finally {
      c.close();
    }
  });

  it("respects a larger SETTINGS_MAX_FRAME_SIZE of the host and never exceeds it", async () => {
    const c = await RawH2.connect(f.address, {
      settings: [[Setting.MAX_FRAME_SIZE, 20_000], [Setting.INITIAL_WINDOW_SIZE, 1 << 20]],
    });
    try {
      await c.send(windowUpdateFrame(0, 1 << 20));
      await c.send(requestFrame(1, ATTEST), ...dataFrames(1, attestRequest(10)));
      const sizes: number[] = [];
      for (;;) {
        const fr = await c.waitFor((x) =>
          x.streamId === 1 && x.type !== FrameType.HEADERS ||
          (x.streamId === 1 && (x.flags & Flag.END_STREAM) !== 0)
        );
        assert.ok(fr);
        if (fr.type !== FrameType.DATA) break;
        sizes.push(fr.payload.length);
      }
      assert.ok(sizes.every((s) => s <= 20_000), `frame sizes ${sizes}`);
      assert.ok(sizes.some((s) => s > 16_384), "the larger frame size is used");
    } finally {
      c.close();
    }
  });

  it("acknowledges received DATA with WINDOW_UPDATEs so a message larger than its windows gets through", async () => {
    const c = await RawH2.connect(f.address);
    try {
      const settings = await c.waitFor((x) => x.type === FrameType.SETTINGS && (x.flags & Flag.ACK) === 0);
      let streamWindow = 65_535;
      for (let i = 0; i < settings!.payload.length; i += 6) {
        const id = (settings!.payload[i] << 8) | settings!.payload[i + 1];
        if (id === Setting.INITIAL_WINDOW_SIZE) streamWindow = readUint32(settings!.payload, i + 2);
      }
      let connWindow = 65_535;
      const node = "m".repeat(3 * 1024 * 1024); // 3 MiB: beyond the stream window the server announced
      const body = grpcMessage(stringField(2, `node=${node}`));
      assert.ok(body.length > streamWindow, `message ${body.length} vs stream window ${streamWindow}`);
      await c.send(requestFrame(1, CONFIGURE));
      let sent = 0;
      let updates = 0;
      while (sent < body.length) {
        for (const u of c.drain()) {
          if (u.type !== FrameType.WINDOW_UPDATE) continue;
          updates++;
          if (u.streamId === 0) connWindow += readUint32(u.payload, 0);
          if (u.streamId === 1) streamWindow += readUint32(u.payload, 0);
        }
        const n = Math.min(16_384, body.length - sent, connWindow, streamWindow);
        if (n <= 0) {
          await c.waitFor((x) => x.type === FrameType.WINDOW_UPDATE, 5000).then((u) => {
            assert.ok(u, "the server opens the window again");
            updates++;
            if (u.streamId === 0) connWindow += readUint32(u.payload, 0);
            if (u.streamId === 1) streamWindow += readUint32(u.payload, 0);
          });
          continue;
        }
        const last = sent + n === body.length;
        await c.send(
          encodeFrame(FrameType.DATA, last ? Flag.END_STREAM : 0, 1, body.subarray(sent, sent + n)),
        );
        sent += n;
        connWindow -= n;
        streamWindow -= n;
      }
      const trailers = await c.waitFor((x) => x.streamId === 1 && (x.flags & Flag.END_STREAM) !== 0);
      assert.equal(headersOf(c, trailers!)["grpc-status"], "0");
      assert.ok(updates >= 2, `WINDOW_UPDATEs received: ${updates}`);
      assert.equal(f.runtime.applied.at(-1)?.nodeName.length, node.length);
    } finally {
      c.close();
      await f.client().configure(`node=${bigNode}`, "example.org");
    }
  });

  it("resets a stream whose window a WINDOW_UPDATE pushes beyond 2^31-1, and keeps the connection", async () => {
    f.runtime.hang = true;
    const c = await RawH2.connect(f.address);
    try {
      await c.send(requestFrame(1, ATTEST), ...dataFrames(1, attestRequest(11)));
      await c.send(windowUpdateFrame(1, 0x7fff_ffff));
      const rst = await c.waitFor(isStream(1, FrameType.RST_STREAM));
      assert.equal(readUint32(rst!.payload, 0), ErrorCode.FLOW_CONTROL_ERROR);
      f.runtime.hang = false;
      await c.send(requestFrame(3, HEALTH), ...dataFrames(3, healthRequest()));
      const trailers = await c.waitFor((x) => x.streamId === 3 && (x.flags & Flag.END_STREAM) !== 0);
      assert.equal(headersOf(c, trailers!)["grpc-status"], "0", "the connection still serves");
    } finally {
      f.runtime.hang = false;
      c.close();
    }
  });

  it("resets a stream that sends DATA after its END_STREAM (STREAM_CLOSED), and keeps the connection", async () => {
    const c = await RawH2.connect(f.address);
    try {
      await c.send(requestFrame(1, HEALTH), ...dataFrames(1, healthRequest()));
      await c.send(encodeFrame(FrameType.DATA, 0, 1, new Uint8Array(10)));
      const rst = await c.waitFor(isStream(1, FrameType.RST_STREAM));
      assert.equal(readUint32(rst!.payload, 0), ErrorCode.STREAM_CLOSED);
      await c.send(requestFrame(3, HEALTH), ...dataFrames(3, healthRequest()));
      const trailers = await c.waitFor((x) => x.streamId === 3 && (x.flags & Flag.END_STREAM) !== 0);
      assert.equal(headersOf(c, trailers!)["grpc-status"], "0", "the connection still serves");
    } finally {
      c.close();
    }
  });
});
