import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  ErrorCode,
  Flag,
  FrameType,
  Setting,
  settingsFrame,
  windowUpdateFrame,
} from "../../src/plugin/h2/frames.ts";
import { HpackDecoder } from "../../src/plugin/h2/hpack.ts";
import { applyPeerSettings, defaultPeerSettings } from "../../src/plugin/h2/settings.ts";
import { type H2Fixture, startH2Fixture } from "./_h2_fixture.ts";
import { ATTEST, dataFrames, grpcMessage, headersOf, RawH2, requestFrame } from "./_h2_raw.ts";

/** The payload of a SETTINGS frame. */
function payload(settings: [number, number][]): Uint8Array {
  return settingsFrame(settings).subarray(9);
}

describe("HTTP/2 settings from the host", () => {
  it("walks the open streams once per frame however many INITIAL_WINDOW_SIZE settings it holds", () => {
    // 2730 settings fit a 16 KiB frame: one walk each over 1000 open streams was 2.7 million steps a frame.
    const many: [number, number][] = [];
    for (let i = 0; i < 2730; i++) many.push([Setting.INITIAL_WINDOW_SIZE, 1000 + (i % 7)]);
    const peer = defaultPeerSettings();
    const walks: [number, number][] = [];
    applyPeerSettings(payload(many), peer, (delta, peak) => walks.push([delta, peak]));
    assert.equal(walks.length, 1);
    assert.equal(peer.initialWindow, many.at(-1)![1]);
    assert.deepEqual(walks[0], [many.at(-1)![1] - 65_535, 1006 - 65_535]);
    // A frame without the setting walks nothing.
    applyPeerSettings(payload([[Setting.MAX_FRAME_SIZE, 20_000]]), peer, () => assert.fail("no walk"));
  });

  describe("on the wire", () => {
    let f: H2Fixture;
    before(async () => {
      f = await startH2Fixture();
      await f.client().configure("node=n1", "example.org");
    });
    after(() => f.stop());

    it("still closes the connection when a value on the way pushes an open stream's window beyond 2^31-1", async () => {
      f.runtime.hang = true;
      const c = await RawH2.connect(f.address);
      try {
        await c.send(requestFrame(1, ATTEST), ...dataFrames(1, grpcMessage(Uint8Array.of(0x08, 4))));
        await c.send(windowUpdateFrame(1, 10));
        await c.send(
          settingsFrame([[Setting.INITIAL_WINDOW_SIZE, 0x7fff_ffff], [Setting.INITIAL_WINDOW_SIZE, 1]]),
        );
        // The stream's window is 10 above the initial 65 535: 2^31-1 on the way overflows it even though the
        // frame ends at 1.
        const goaway = await c.goaway();
        assert.equal(goaway?.code, ErrorCode.FLOW_CONTROL_ERROR);
        assert.match(goaway!.debug, /a stream window exceeds 2\^31-1/);
      } finally {
        f.runtime.hang = false;
        c.close();
      }
    });

    it("answers a host that allows no dynamic table (SETTINGS_HEADER_TABLE_SIZE 0): our blocks index nothing", async () => {
      const c = await RawH2.connect(f.address, { settings: [[Setting.HEADER_TABLE_SIZE, 0]] });
      try {
        const decoder = new HpackDecoder({ maxHeaderListSize: 1 << 20, maxTableSize: 0 });
        await c.send(requestFrame(1, ATTEST), ...dataFrames(1, grpcMessage(Uint8Array.of(0x08, 4))));
        await c.send(requestFrame(3, ATTEST, [["grpc-timeout", "bad"]]), ...dataFrames(3, new Uint8Array(0)));
        for (const id of [1, 3]) {
          const end = await c.waitFor((x) => x.streamId === id && (x.flags & Flag.END_STREAM) !== 0);
          const fields = Object.fromEntries(decoder.decode(end!.payload));
          assert.equal(fields["grpc-status"], id === 1 ? "0" : "13");
        }
        assert.equal(decoder.tableSize, 0);
      } finally {
        c.close();
      }
    });

    it("applies the last value of the frame to open streams", async () => {
      const c = await RawH2.connect(f.address, { settings: [[Setting.INITIAL_WINDOW_SIZE, 0]] });
      try {
        await c.send(requestFrame(1, ATTEST), ...dataFrames(1, grpcMessage(Uint8Array.of(0x08, 4))));
        await c.waitFor((x) => x.streamId === 1 && x.type === FrameType.HEADERS);
        await c.send(
          settingsFrame([[Setting.INITIAL_WINDOW_SIZE, 0x7fff_ffff], [Setting.INITIAL_WINDOW_SIZE, 3]]),
        );
        const data = await c.waitFor((x) => x.streamId === 1 && x.type === FrameType.DATA);
        assert.equal(data?.payload.length, 3, "3 bytes: the frame's last value");
        await c.send(settingsFrame([[Setting.INITIAL_WINDOW_SIZE, 1 << 20]]));
        const t = await c.waitFor((x) => x.streamId === 1 && (x.flags & Flag.END_STREAM) !== 0);
        assert.equal(headersOf(c, t!)["grpc-status"], "0");
      } finally {
        c.close();
      }
    });
  });
});
