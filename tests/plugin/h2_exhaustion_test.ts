import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { encodeFrame, Flag, FrameType, rstStreamFrame } from "../../src/plugin/h2/frames.ts";
import { MAX_MESSAGE_BYTES, MAX_PENDING_BYTES_PER_CONNECTION } from "../../src/plugin/h2/grpc.ts";
import { MAX_HOST_CONNECTIONS } from "../../src/plugin/server.ts";
import { type H2Fixture, startH2Fixture } from "./_h2_fixture.ts";
import { ATTEST, headersOf, type RawFrame, RawH2, requestFrame } from "./_h2_raw.ts";

const ended = (id: number) => (f: RawFrame) => f.streamId === id && (f.flags & Flag.END_STREAM) !== 0;

describe("HTTP/2 transport: memory a hostile host can make the plugin hold", () => {
  let f: H2Fixture;
  before(async () => {
    f = await startH2Fixture();
    await f.client().configure("node=n1", "example.org");
  });
  after(() => f.stop());

  it("counts complete unary requests still waiting for END_STREAM against the connection's budget", async () => {
    // A whole 4 MiB message without END_STREAM is held until the host ends its side: without a bound, 1000
    // streams of the connection hold 4 GiB.
    const message = new Uint8Array(5 + MAX_MESSAGE_BYTES);
    message.set([0, 0x00, 0x40, 0x00, 0x00]); // 4 MiB announced
    const fit = Math.floor(MAX_PENDING_BYTES_PER_CONNECTION / MAX_MESSAGE_BYTES);
    const c = await RawH2.connect(f.address);
    try {
      for (let i = 0; i < fit; i++) {
        const id = 1 + 2 * i;
        await c.send(requestFrame(id, ATTEST));
        await c.sendWindowed(id, message);
      }
      const over = 1 + 2 * fit;
      await c.send(requestFrame(over, ATTEST));
      await c.send(encodeFrame(FrameType.DATA, 0, over, message.subarray(0, 5)));
      const refused = await c.waitFor(ended(over), 10_000);
      assert.ok(refused, "an answer on the stream beyond the budget");
      const h = headersOf(c, refused);
      assert.equal(h["grpc-status"], "8", "RESOURCE_EXHAUSTED");
      assert.equal(decodeURIComponent(h["grpc-message"]), "too many large messages in flight");
      // The host gives up on the held calls: their bytes are released and the connection serves again.
      for (let i = 0; i < fit; i++) await c.send(rstStreamFrame(1 + 2 * i, 8));
      const next = over + 2;
      await c.send(requestFrame(next, ATTEST));
      await c.sendWindowed(next, message, true);
      const answered = await c.waitFor(ended(next), 10_000);
      assert.ok(answered);
      assert.notEqual(headersOf(c, answered)["grpc-status"], "8", "the budget was released");
    } finally {
      c.close();
    }
  });
});

describe("HTTP/2 transport: connections a local process can open", () => {
  let f: H2Fixture;
  before(async () => {
    f = await startH2Fixture();
  });
  after(() => f.stop());

  it("serves at most MAX_HOST_CONNECTIONS connections at once, closes the next at once, and serves again after", async () => {
    const served: RawH2[] = [];
    let refused = 0;
    try {
      for (let i = 0; i < MAX_HOST_CONNECTIONS + 3; i++) {
        const c = await RawH2.connect(f.address);
        const settings = await c.waitFor((x) => x.type === FrameType.SETTINGS);
        if (settings) served.push(c);
        else {
          refused++;
          c.close();
        }
      }
      assert.equal(served.length, MAX_HOST_CONNECTIONS, "connections served");
      assert.equal(refused, 3, "connections closed at once");
      const warns = f.lines.filter((l) => l.message === "refusing a host connection: too many open");
      assert.equal(
        warns.filter((l) => l.level === "warn").length,
        1,
        "one warn line, not one per connection",
      );
      assert.equal(warns.at(-1)?.fields.max, MAX_HOST_CONNECTIONS);
    } finally {
      for (const c of served) c.close();
    }
    for (let i = 0; i < 100; i++) {
      const c = await RawH2.connect(f.address);
      const settings = await c.waitFor((x) => x.type === FrameType.SETTINGS);
      c.close();
      if (settings) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.fail("a connection is served again once the others closed");
  });
});
