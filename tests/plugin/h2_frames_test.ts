import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  encodeFrame,
  ErrorCode,
  Flag,
  FrameReader,
  FrameType,
  goawayFrame,
  H2Error,
  rstStreamFrame,
  Setting,
  settingsFrame,
  windowUpdateFrame,
} from "../../src/plugin/h2/frames.ts";

describe("HTTP/2 frame codec", () => {
  it("writes the 9-byte header as RFC 9113 §4.1 lays it out (length, type, flags, R + stream id)", () => {
    const f = encodeFrame(
      FrameType.HEADERS,
      Flag.END_HEADERS | Flag.END_STREAM,
      0x01020304,
      Uint8Array.of(7, 8),
    );
    assert.deepEqual([...f], [0, 0, 2, 1, 5, 0x01, 0x02, 0x03, 0x04, 7, 8]);
    assert.equal(encodeFrame(FrameType.DATA, 0, 0xffff_ffff)[5], 0x7f, "the reserved bit is never set");
  });

  it("encodes SETTINGS, WINDOW_UPDATE, RST_STREAM and GOAWAY payloads", () => {
    assert.deepEqual(
      [...settingsFrame([[Setting.MAX_CONCURRENT_STREAMS, 100]])],
      [0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 100],
    );
    assert.deepEqual([...windowUpdateFrame(3, 0x10000)], [0, 0, 4, 8, 0, 0, 0, 0, 3, 0, 1, 0, 0]);
    assert.deepEqual([...rstStreamFrame(5, ErrorCode.CANCEL)], [0, 0, 4, 3, 0, 0, 0, 0, 5, 0, 0, 0, 8]);
    assert.deepEqual(
      [...goawayFrame(7, ErrorCode.PROTOCOL_ERROR, "no")],
      [0, 0, 10, 7, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 1, 0x6e, 0x6f],
    );
  });

  it("reads frames back whatever the chunking (byte by byte, all at once)", () => {
    const frames = [
      encodeFrame(FrameType.SETTINGS, 0, 0, new Uint8Array(12)),
      encodeFrame(FrameType.DATA, Flag.END_STREAM, 1, Uint8Array.from({ length: 300 }, (_, i) => i & 0xff)),
      encodeFrame(FrameType.PING, Flag.ACK, 0, new Uint8Array(8).fill(9)),
      encodeFrame(0xee, 0, 3), // unknown type, empty payload
    ];
    const all = Uint8Array.from(frames.flatMap((f) => [...f]));
    for (const step of [1, 7, all.length]) {
      const reader = new FrameReader(16_384);
      const got: string[] = [];
      for (let i = 0; i < all.length; i += step) {
        reader.push(all.slice(i, i + step));
        for (let f = reader.next(); f; f = reader.next()) {
          got.push(
            `${f.type}/${f.flags}/${f.streamId}/${f.payload.length}/${f.payload[f.payload.length - 1]}`,
          );
        }
      }
      assert.deepEqual(
        got,
        ["4/0/0/12/0", "0/1/1/300/43", "6/1/0/8/9", "238/0/3/0/undefined"],
        `step ${step}`,
      );
      assert.equal(reader.buffered, 0);
    }
  });

  it("refuses a frame above SETTINGS_MAX_FRAME_SIZE from its header alone (nothing buffered for it)", () => {
    const reader = new FrameReader(16_384);
    reader.push(Uint8Array.of(0x00, 0x40, 0x01, 0, 0, 0, 0, 0, 1)); // 16385 bytes announced
    assert.throws(() => reader.next(), (e: unknown) => {
      assert.ok(e instanceof H2Error);
      assert.equal(e.code, ErrorCode.FRAME_SIZE_ERROR);
      assert.match(e.message, /16385 bytes exceeds SETTINGS_MAX_FRAME_SIZE 16384/);
      return true;
    });
    const exact = new FrameReader(16_384);
    exact.push(encodeFrame(FrameType.DATA, 0, 1, new Uint8Array(16_384)));
    assert.equal(exact.next()?.payload.length, 16_384, "the limit itself is allowed");
  });

  it("takes the preface as raw bytes before frames", () => {
    const reader = new FrameReader(16_384);
    reader.push(new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
    assert.equal(reader.take(25), null);
    assert.equal(new TextDecoder().decode(reader.take(24)!), "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    assert.equal(reader.next(), null);
  });
});
