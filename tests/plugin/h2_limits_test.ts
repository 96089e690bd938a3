import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_LIMITS } from "../../src/plugin/h2/connection.ts";
import { encodeFrame, ErrorCode, Flag, FrameType, readUint32 } from "../../src/plugin/h2/frames.ts";
import { encodeHeaders } from "../../src/plugin/h2/hpack.ts";
import type { AttestorError } from "../../src/errors.ts";
import { type H2Fixture, startH2Fixture } from "./_h2_fixture.ts";
import {
  ATTEST,
  ATTEST_REFERENCE,
  dataFrames,
  grpcMessage,
  grpcRequestHeaders,
  headersOf,
  HEALTH,
  healthRequest,
  type RawFrame,
  RawH2,
  requestFrame,
  stringField,
} from "./_h2_raw.ts";

const ended = (id: number) => (f: RawFrame) => f.streamId === id && (f.flags & Flag.END_STREAM) !== 0;

/** Sends one request on a fresh connection and returns the final HEADERS' fields (Trailers-Only or trailers). */
async function call(
  f: H2Fixture,
  path: string,
  body: Uint8Array,
  extra: [string, string][] = [],
): Promise<Record<string, string>> {
  const c = await RawH2.connect(f.address);
  try {
    await c.send(requestFrame(1, path, extra), ...dataFrames(1, body));
    const last = await c.waitFor(ended(1));
    assert.ok(last, "an answer before the connection closed");
    // Decode every header block of the stream in order to keep the HPACK state right.
    return headersOf(c, last);
  } finally {
    c.close();
  }
}

/** The connection is closed with a GOAWAY carrying `code`, and the log names the problem. */
async function expectGoaway(f: H2Fixture, c: RawH2, code: number, problem: RegExp): Promise<void> {
  const goaway = await c.goaway();
  assert.ok(goaway, "a GOAWAY before the close");
  assert.equal(goaway.code, code, `GOAWAY code (${goaway.debug})`);
  assert.match(goaway.debug, problem);
  assert.ok(await c.waitFor(() => false).catch(() => "open") === null, "the server closed the connection");
  const line = f.lines.findLast((l) => l.message === "HTTP/2 connection error: closing the connection");
  assert.ok(line && line.level === "warn", "a warn line");
  assert.match(String(line.fields.error), problem);
}

describe("HTTP/2 transport: limits and malformed input", () => {
  let f: H2Fixture;
  before(async () => {
    f = await startH2Fixture();
    await f.client().configure("node=n1", "example.org");
  });
  after(() => f.stop());

  async function stillServes(): Promise<void> {
    assert.deepEqual(
      await f.client().attest(77),
      ["pid:77", "node:n1"],
      "a new grpc-js connection is served",
    );
  }

  it("refuses a message above 4 MiB from its prefix alone: RESOURCE_EXHAUSTED (Trailers-Only)", async () => {
    const prefix = Uint8Array.of(0, 0x00, 0x40, 0x00, 0x01); // 4 MiB + 1 announced, nothing more sent
    const h = await call(f, ATTEST, prefix);
    assert.equal(h["grpc-status"], "8");
    assert.equal(
      decodeURIComponent(h["grpc-message"]),
      "grpc: received message larger than max (4194305 vs. 4194304)",
    );
    assert.equal(h["content-type"], "application/grpc");
    await stillServes();
  });

  it("refuses a compressed message and a non-identity grpc-encoding", async () => {
    const compressed = await call(f, HEALTH, grpcMessage(stringField(1, "plugin"), true));
    assert.equal(compressed["grpc-status"], "13");
    assert.match(compressed["grpc-message"], /compressed flag set/);
    const gzip = await call(f, HEALTH, healthRequest(), [["grpc-encoding", "gzip"]]);
    assert.equal(gzip["grpc-status"], "12");
    assert.match(decodeURIComponent(gzip["grpc-message"]), /grpc-encoding "gzip"/);
    const identity = await call(f, HEALTH, healthRequest(), [["grpc-encoding", "identity"]]);
    assert.equal(identity["grpc-status"], "0");
  });

  it("turns grpc-timeout into the call's deadline (DEADLINE_EXCEEDED, the attest signal aborted)", async () => {
    f.runtime.hang = true;
    const aborts = f.runtime.aborts.length;
    try {
      const h = await call(f, ATTEST, grpcMessage(Uint8Array.of(0x08, 5)), [["grpc-timeout", "30m"]]);
      assert.equal(h["grpc-status"], "4");
      for (let i = 0; i < 100 && f.runtime.aborts.length === aborts; i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.equal((f.runtime.aborts.at(-1) as AttestorError).reason, "deadline-exceeded");
    } finally {
      f.runtime.hang = false;
    }
    const bad = await call(f, HEALTH, healthRequest(), [["grpc-timeout", "soon"]]);
    assert.equal(bad["grpc-status"], "13");
    assert.match(decodeURIComponent(bad["grpc-message"]), /malformed grpc-timeout "soon"/);
  });

  it("hands every broker caller-ID header value to AttestReference", async () => {
    const h = await callWithBody(f, ATTEST_REFERENCE, grpcMessage(new Uint8Array()), [
      ["spire-agent-broker-caller-id", "spiffe://example.org/broker"],
      ["spire-agent-broker-caller-id", "spiffe://example.org/b2, spiffe://example.org/b3"],
    ]);
    assert.deepEqual(h, [
      "ref:none",
      "caller:spiffe://example.org/broker",
      "caller:spiffe://example.org/b2",
      "caller:spiffe://example.org/b3",
    ]);
  });

  it("refuses streams beyond SETTINGS_MAX_CONCURRENT_STREAMS (REFUSED_STREAM) and serves the others", async () => {
    f.runtime.hang = true;
    const c = await RawH2.connect(f.address);
    try {
      const limit = DEFAULT_LIMITS.maxConcurrentStreams;
      assert.ok(limit >= 100, "not a small limit (plugin-protocol.md §3.1)");
      const frames: Uint8Array[] = [];
      for (let i = 0; i <= limit; i++) {
        frames.push(
          requestFrame(1 + 2 * i, ATTEST),
          ...dataFrames(1 + 2 * i, grpcMessage(Uint8Array.of(8, 1))),
        );
      }
      await c.send(Uint8Array.from(frames.flatMap((fr) => [...fr])));
      const rst = await c.waitFor((x) => x.type === FrameType.RST_STREAM);
      assert.equal(rst?.streamId, 1 + 2 * limit, "the first stream beyond the limit");
      assert.equal(readUint32(rst!.payload, 0), ErrorCode.REFUSED_STREAM);
    } finally {
      c.close();
      f.runtime.hang = false;
    }
    await stillServes();
  });

  it("resets a stream whose request headers are malformed (RFC 9113 §8.3) and keeps the connection", async () => {
    const c = await RawH2.connect(f.address);
    try {
      const malformed: [string, string][][] = [
        [[":method", "POST"], [":scheme", "http"], ["content-type", "application/grpc"]], // no :path
        [[":method", "POST"], [":scheme", "http"], [":path", HEALTH], ["X-Upper", "1"]],
        [[":method", "POST"], ["te", "trailers"], [":scheme", "http"], [":path", HEALTH]],
        [[":method", "POST"], [":scheme", "http"], [":path", HEALTH], ["connection", "close"]],
      ];
      for (const [i, fields] of malformed.entries()) {
        const id = 1 + 2 * i;
        await c.send(encodeFrame(FrameType.HEADERS, Flag.END_HEADERS, id, encodeHeaders(fields)));
        const rst = await c.waitFor((x) => x.streamId === id);
        assert.equal(rst?.type, FrameType.RST_STREAM, `case ${i}`);
        assert.equal(readUint32(rst!.payload, 0), ErrorCode.PROTOCOL_ERROR, `case ${i}`);
      }
      await c.send(requestFrame(9, HEALTH), ...dataFrames(9, healthRequest()));
      const trailers = await c.waitFor(ended(9));
      assert.equal(headersOf(c, trailers!)["grpc-status"], "0", "the connection still serves");
    } finally {
      c.close();
    }
  });

  it("closes the connection (GOAWAY ENHANCE_YOUR_CALM) on a header list above its limit", async () => {
    const c = await RawH2.connect(f.address);
    try {
      const block = grpcRequestHeaders(HEALTH, [["x-big", "b".repeat(15_000)], ["x-big2", "b".repeat(2000)]]);
      await c.send(
        encodeFrame(FrameType.HEADERS, 0, 1, block.subarray(0, 10_000)),
        encodeFrame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, block.subarray(10_000)),
      );
      await expectGoaway(f, c, ErrorCode.ENHANCE_YOUR_CALM, /header list exceeds 16384 bytes/);
    } finally {
      c.close();
    }
    await stillServes();
  });

  it("closes the connection on an HPACK bomb (a small block expanding past the limit)", async () => {
    const c = await RawH2.connect(f.address);
    try {
      // One 4000-byte literal with indexing (dynamic index 62), then 100 one-byte references to it.
      const literal = [0x40, 0x01, 0x78, 0x7f, 0xa1, 0x1e, ...new Array(4000).fill(0x76)];
      const block = Uint8Array.from([
        ...grpcRequestHeaders(HEALTH),
        ...literal,
        ...new Array(100).fill(0xbe),
      ]);
      assert.ok(block.length < 5000);
      await c.send(encodeFrame(FrameType.HEADERS, Flag.END_HEADERS, 1, block));
      await expectGoaway(f, c, ErrorCode.ENHANCE_YOUR_CALM, /header list exceeds/);
    } finally {
      c.close();
    }
    await stillServes();
  });

  it("closes the connection on endless CONTINUATION frames (bounded header block)", async () => {
    const c = await RawH2.connect(f.address);
    try {
      await c.send(encodeFrame(FrameType.HEADERS, 0, 1, grpcRequestHeaders(HEALTH)));
      for (let i = 0; i < 5; i++) {
        await c.send(encodeFrame(FrameType.CONTINUATION, 0, 1, new Uint8Array(10_000)));
      }
      await expectGoaway(f, c, ErrorCode.ENHANCE_YOUR_CALM, /header block exceeds 32768 bytes/);
    } finally {
      c.close();
    }
  });

  const protocolErrors: [string, (c: RawH2) => Promise<void>, number, RegExp][] = [
    [
      "a frame above our SETTINGS_MAX_FRAME_SIZE",
      (c) => c.send(encodeFrame(FrameType.DATA, 0, 1, new Uint8Array(16_385))),
      ErrorCode.FRAME_SIZE_ERROR,
      /exceeds SETTINGS_MAX_FRAME_SIZE/,
    ],
    [
      "an even stream id",
      (c) => c.send(requestFrame(2, HEALTH)),
      ErrorCode.PROTOCOL_ERROR,
      /even stream 2/,
    ],
    [
      "DATA on a stream never opened",
      (c) => c.send(encodeFrame(FrameType.DATA, 0, 7, new Uint8Array(3))),
      ErrorCode.PROTOCOL_ERROR,
      /DATA on idle stream 7/,
    ],
    [
      "a malformed header block",
      (c) => c.send(encodeFrame(FrameType.HEADERS, Flag.END_HEADERS, 1, Uint8Array.of(0xff))),
      ErrorCode.COMPRESSION_ERROR,
      /truncated integer/,
    ],
    [
      "a PING of the wrong size",
      (c) => c.send(encodeFrame(FrameType.PING, 0, 0, new Uint8Array(7))),
      ErrorCode.FRAME_SIZE_ERROR,
      /PING not 8 bytes/,
    ],
    [
      "a SETTINGS_MAX_FRAME_SIZE out of range",
      (c) => c.send(encodeFrame(FrameType.SETTINGS, 0, 0, Uint8Array.of(0, 5, 0, 0, 0, 1))),
      ErrorCode.PROTOCOL_ERROR,
      /SETTINGS_MAX_FRAME_SIZE 1 out of range/,
    ],
    [
      "a frame between HEADERS and its CONTINUATION",
      (c) =>
        c.send(
          encodeFrame(FrameType.HEADERS, 0, 1, grpcRequestHeaders(HEALTH)),
          encodeFrame(FrameType.PING, 0, 0, new Uint8Array(8)),
        ),
      ErrorCode.PROTOCOL_ERROR,
      /expected CONTINUATION/,
    ],
    [
      "a connection WINDOW_UPDATE of 0",
      (c) => c.send(encodeFrame(FrameType.WINDOW_UPDATE, 0, 0, new Uint8Array(4))),
      ErrorCode.PROTOCOL_ERROR,
      /WINDOW_UPDATE of 0/,
    ],
  ];
  for (const [what, send, code, problem] of protocolErrors) {
    it(`closes the connection with a GOAWAY naming the problem on ${what}`, async () => {
      const c = await RawH2.connect(f.address);
      try {
        await send(c);
        await expectGoaway(f, c, code, problem);
      } finally {
        c.close();
      }
      await stillServes();
    });
  }

  it("closes a connection that does not start with the HTTP/2 preface", async () => {
    for (const garbage of ["GET / HTTP/1.1\r\nHost: x\r\n\r\n", "PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n"]) {
      const c = await RawH2.connect(f.address, { preface: false });
      try {
        await c.send(new TextEncoder().encode(garbage));
        await expectGoaway(f, c, ErrorCode.PROTOCOL_ERROR, /bad connection preface/);
      } finally {
        c.close();
      }
    }
    await stillServes();
  });

  it("closes a connection whose host sends PINGs but never reads the ACKs (bounded replies)", async () => {
    const conn = await Deno.connect({ transport: "unix", path: f.address });
    const before = f.lines.length;
    try {
      const ping = encodeFrame(FrameType.PING, 0, 0, new Uint8Array(8));
      const batch = new Uint8Array(ping.length * 10_000);
      for (let i = 0; i < 10_000; i++) batch.set(ping, i * ping.length);
      const writeAll = async (b: Uint8Array) => {
        for (let off = 0; off < b.length;) off += await conn.write(b.subarray(off));
      };
      await writeAll(
        Uint8Array.from([
          ...new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
          0,
          0,
          0,
          4,
          0,
          0,
          0,
          0,
          0,
        ]),
      );
      // 17 bytes per ACK: 8 MiB of unread ACKs after ~500 000 PINGs; send up to 1.5 million.
      for (let i = 0; i < 150; i++) {
        const written = await Promise.race([
          writeAll(batch).then(() => true, () => false),
          new Promise<boolean>((r) => setTimeout(() => r(false), 2000)),
        ]);
        if (!written) break;
        if (f.lines.slice(before).some((l) => /does not read our replies/.test(String(l.fields.error)))) {
          break;
        }
      }
      const line = f.lines.slice(before).find((l) =>
        l.message === "HTTP/2 connection error: closing the connection"
      );
      assert.ok(line, "the connection was closed");
      assert.match(String(line.fields.error), /the host does not read our replies/);
    } finally {
      try {
        conn.close();
      } catch {
        // closed by the server
      }
    }
    await stillServes();
  });

  it("answers a PING with its ACK carrying the same payload", async () => {
    const c = await RawH2.connect(f.address);
    try {
      const payload = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
      await c.send(encodeFrame(FrameType.PING, 0, 0, payload));
      const ack = await c.waitFor((x) => x.type === FrameType.PING);
      assert.equal(ack!.flags, Flag.ACK);
      assert.deepEqual([...ack!.payload], [...payload]);
    } finally {
      c.close();
    }
  });

  it("clips a status message that echoes the request (an unknown 15 000-byte path) to 4096 characters", async () => {
    const path = "/x/" + "p".repeat(15_000);
    const h = await call(f, path, grpcMessage(new Uint8Array()));
    assert.equal(h["grpc-status"], "12");
    const message = decodeURIComponent(h["grpc-message"]);
    assert.equal(message.length, 4096);
    assert.ok(message.startsWith("unknown method /x/ppp"));
    assert.ok(message.endsWith("...(truncated, 15018 bytes)"), message.slice(-40));
  });
});

/** Like `call`, but decodes the response message's selector values. */
async function callWithBody(
  f: H2Fixture,
  path: string,
  body: Uint8Array,
  extra: [string, string][],
): Promise<string[]> {
  const c = await RawH2.connect(f.address);
  try {
    await c.send(
      encodeFrame(
        FrameType.HEADERS,
        Flag.END_HEADERS,
        1,
        encodeHeaders([
          [":method", "POST"],
          [":scheme", "http"],
          [":path", path],
          ["content-type", "application/grpc"],
          ...extra,
        ]),
      ),
      ...dataFrames(1, body),
    );
    const data: number[] = [];
    for (;;) {
      const fr = await c.waitFor((x) => x.streamId === 1);
      assert.ok(fr);
      if (fr.type === FrameType.DATA) data.push(...fr.payload);
      else headersOf(c, fr);
      if (fr.flags & Flag.END_STREAM) break;
    }
    const msg = Uint8Array.from(data).subarray(5);
    const out: string[] = [];
    for (let pos = 0; pos < msg.length;) {
      pos++;
      const len = msg[pos++];
      out.push(new TextDecoder().decode(msg.subarray(pos, pos + len)));
      pos += len;
    }
    return out;
  } finally {
    c.close();
  }
}
