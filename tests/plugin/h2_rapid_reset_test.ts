import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ErrorCode, Flag, FrameType, readUint32, rstStreamFrame } from "../../src/plugin/h2/frames.ts";
import type { Method } from "../../src/plugin/h2/grpc.ts";
import { recordingLogger } from "../../src/testing/recording_logger.ts";
import { type H2TcpServer, startH2TcpServer } from "./_h2_fixture.ts";
import { dataFrames, grpcMessage, headersOf, RawH2, requestFrame } from "./_h2_raw.ts";

const SLOW = "/test.Slow/Call";
const MAX_STREAMS = 4;

/**
 * "Rapid reset" (CVE-2023-44487): a host that opens a stream, lets its handler start and resets it at once
 * must not get more handlers running than SETTINGS_MAX_CONCURRENT_STREAMS, as grpc-go's server counts them.
 * The plugin's HTTP/2 connection over real TCP sockets, with a method whose handler ends only when the test
 * says (as an Attest that is slow to notice its cancellation).
 */
describe("HTTP/2 transport: handlers still running after the host reset their streams", () => {
  const running: (() => void)[] = [];
  let started = 0;
  const methods = new Map<string, Method>([[SLOW, {
    kind: "unary",
    decode: (b: Uint8Array) => b,
    encode: (b: Uint8Array) => b,
    handle: (request: Uint8Array) => {
      started++;
      return new Promise((resolve) => running.push(() => resolve({ response: request })));
    },
  }]]);
  let server: H2TcpServer;
  let address = "";
  before(async () => {
    server = await startH2TcpServer(methods, recordingLogger([]), { maxConcurrentStreams: MAX_STREAMS });
    address = server.address;
  });
  after(async () => {
    for (const r of running.splice(0)) r();
    await server.stop();
  });

  it("counts them against SETTINGS_MAX_CONCURRENT_STREAMS until they end (REFUSED_STREAM beyond)", async () => {
    const c = await RawH2.connect(address);
    try {
      const request = grpcMessage(Uint8Array.of(1, 2, 3));
      let id = 1;
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < MAX_STREAMS; i++, id += 2) {
          await c.send(
            requestFrame(id, SLOW),
            ...dataFrames(id, request),
            rstStreamFrame(id, ErrorCode.CANCEL),
          );
        }
      }
      // Let the server read everything: a PING is answered after the frames before it.
      await c.send(Uint8Array.of(0, 0, 8, FrameType.PING, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1));
      await c.waitFor((x) => x.type === FrameType.PING);
      assert.equal(started, MAX_STREAMS, "handlers started: no more than the stream limit");
      // (The DATA and RST_STREAM that follow a refused HEADERS meet a closed stream: STREAM_CLOSED.)
      const refused = c.drain().filter((x) =>
        x.type === FrameType.RST_STREAM && readUint32(x.payload, 0) === ErrorCode.REFUSED_STREAM
      );
      assert.deepEqual(
        refused.map((x) => x.streamId),
        Array.from({ length: 2 * MAX_STREAMS }, (_, i) => 2 * MAX_STREAMS + 1 + 2 * i),
        "the streams of the second and third rounds were refused",
      );
      // The handlers end: their slots are free again, and a call is served.
      for (const r of running.splice(0)) r();
      await new Promise((r) => setTimeout(r, 20));
      await c.send(requestFrame(id, SLOW), ...dataFrames(id, request));
      for (let i = 0; i < 100 && running.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      running.splice(0).forEach((r) => r());
      const t = await c.waitFor((x) => x.streamId === id && (x.flags & Flag.END_STREAM) !== 0);
      assert.equal(headersOf(c, t!)["grpc-status"], "0");
    } finally {
      c.close();
    }
  });
});
