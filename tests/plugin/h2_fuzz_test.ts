import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CLIENT_PREFACE,
  encodeFrame,
  Flag,
  FrameType,
  goawayFrame,
  rstStreamFrame,
  Setting,
  settingsFrame,
  windowUpdateFrame,
} from "../../src/plugin/h2/frames.ts";
import { encodeHeaders } from "../../src/plugin/h2/hpack.ts";
import { type H2Fixture, startH2Fixture } from "./_h2_fixture.ts";
import { dataFrames, grpcMessage, grpcRequestHeaders, stringField } from "./_h2_raw.ts";
import { rng as prng } from "../_rng.ts";

const PATHS = [
  "/grpc.health.v1.Health/Check",
  "/grpc.health.v1.Health/Watch",
  "/spire.plugin.agent.workloadattestor.v1.WorkloadAttestor/Attest",
  "/spire.plugin.agent.workloadattestor.v1.WorkloadAttestor/AttestReference",
  "/spire.service.common.config.v1.Config/Validate",
  "/plugin.GRPCBroker/StartStream",
  "/plugin.GRPCStdio/StreamStdio",
  "/no.such/Method",
];

/** A well-formed opening, then a random mix of plausible frames. */
function plausibleFrames(rand: () => number): Uint8Array[] {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
  const int = (n: number) => Math.floor(rand() * n);
  const frames: Uint8Array[] = [CLIENT_PREFACE, settingsFrame([[Setting.INITIAL_WINDOW_SIZE, int(70_000)]])];
  let stream = 1;
  const count = 1 + int(12);
  for (let i = 0; i < count; i++) {
    const id = rand() < 0.8 ? stream : int(12);
    switch (int(11)) {
      case 0:
      case 1:
      case 2: {
        const extra: [string, string][] = rand() < 0.3 ? [["grpc-timeout", `${int(100)}m`]] : [];
        if (rand() < 0.2) extra.push(["grpc-encoding", pick(["gzip", "identity"])]);
        const block = rand() < 0.1
          ? encodeHeaders([[":path", "/"], ["x", "y"]])
          : grpcRequestHeaders(pick(PATHS), extra);
        if (rand() < 0.3 && block.length > 4) {
          const cut = 1 + int(block.length - 1);
          frames.push(
            encodeFrame(FrameType.HEADERS, 0, id, block.subarray(0, cut)),
            encodeFrame(FrameType.CONTINUATION, Flag.END_HEADERS, id, block.subarray(cut)),
          );
        } else {
          frames.push(
            encodeFrame(
              FrameType.HEADERS,
              Flag.END_HEADERS | (rand() < 0.1 ? Flag.END_STREAM : 0),
              id,
              block,
            ),
          );
        }
        break;
      }
      case 3:
      case 4: {
        const msg = grpcMessage(
          rand() < 0.5 ? stringField(1, "plugin") : Uint8Array.from({ length: int(40) }, () => int(256)),
        );
        frames.push(...dataFrames(id, msg, rand() < 0.7));
        stream += 2;
        break;
      }
      case 5:
        frames.push(windowUpdateFrame(rand() < 0.5 ? 0 : id, int(2 ** 31)));
        break;
      case 6:
        frames.push(encodeFrame(FrameType.PING, rand() < 0.2 ? Flag.ACK : 0, 0, new Uint8Array(8)));
        break;
      case 7:
        frames.push(rstStreamFrame(id, int(14)));
        break;
      case 8:
        frames.push(encodeFrame(FrameType.PRIORITY, 0, id, new Uint8Array(5)));
        break;
      case 9:
        frames.push(settingsFrame([[1 + int(7), int(2 ** 32)]]));
        break;
      default:
        frames.push(
          rand() < 0.5 ? goawayFrame(0, 0) : encodeFrame(
            int(256),
            int(256),
            int(2 ** 31),
            Uint8Array.from({ length: int(30) }, () => int(256)),
          ),
        );
    }
  }
  return frames;
}

/** The bytes of one case: plausible frames, then mutated (bytes flipped, cut, spliced, or pure noise). */
function fuzzCase(seed: number): Uint8Array {
  const rand = prng(seed);
  const int = (n: number) => Math.floor(rand() * n);
  if (rand() < 0.05) return Uint8Array.from({ length: int(200) }, () => int(256));
  const frames = plausibleFrames(rand);
  const bytes = Uint8Array.from(frames.flatMap((f) => [...f]));
  const mode = int(5);
  if (mode === 0) return bytes; // as generated (already odd in places)
  if (mode === 1) {
    // Flip a few bytes after the preface.
    for (let i = 0, n = 1 + int(6); i < n; i++) {
      const at = CLIENT_PREFACE.length + int(Math.max(1, bytes.length - CLIENT_PREFACE.length));
      if (at < bytes.length) bytes[at] ^= 1 << int(8);
    }
    return bytes;
  }
  if (mode === 2) return bytes.subarray(0, int(bytes.length + 1)); // cut anywhere
  if (mode === 3) {
    // Splice random bytes in.
    const at = int(bytes.length);
    const noise = Uint8Array.from({ length: 1 + int(20) }, () => int(256));
    return Uint8Array.from([...bytes.subarray(0, at), ...noise, ...bytes.subarray(at)]);
  }
  // Overwrite a frame length or type field somewhere.
  const at = CLIENT_PREFACE.length + int(Math.max(1, bytes.length - CLIENT_PREFACE.length));
  if (at + 3 < bytes.length) bytes.set(Uint8Array.of(int(256), int(256), int(256), int(12)), at);
  return bytes;
}

describe("HTTP/2 transport: fuzzing a live server over a real socket", () => {
  let f: H2Fixture;
  const uncaught: unknown[] = [];
  const onError = (e: ErrorEvent) => {
    e.preventDefault();
    uncaught.push(e.error);
  };
  const onRejection = (e: PromiseRejectionEvent) => {
    e.preventDefault();
    uncaught.push(e.reason);
  };
  before(async () => {
    globalThis.addEventListener("error", onError);
    globalThis.addEventListener("unhandledrejection", onRejection);
    f = await startH2Fixture();
    await f.client().configure("node=n1", "example.org");
  });
  after(async () => {
    await f.stop();
    globalThis.removeEventListener("error", onError);
    globalThis.removeEventListener("unhandledrejection", onRejection);
  });

  it("survives 3000 mutated and random frame sequences and still serves a well-formed client", async () => {
    const base = Number(Deno.env.get("H2_FUZZ_SEED") ?? Date.now() % 1_000_000);
    const cases = 3000;
    // Below MAX_HOST_CONNECTIONS with room to spare: the server notices a closed connection a little later
    // (same event loop), and a case refused at the cap would exercise nothing.
    const parallel = 4;
    let next = 0;
    const runOne = async (seed: number) => {
      const bytes = fuzzCase(seed);
      const rand = prng(seed ^ 0x5bd1e995);
      const conn = await Deno.connect({ transport: "unix", path: f.address });
      try {
        // Send in random chunks, sometimes reading what comes back, then go away.
        for (let off = 0; off < bytes.length;) {
          const n = 1 + Math.floor(rand() * Math.min(4096, bytes.length - off));
          await conn.write(bytes.subarray(off, off + n));
          off += n;
        }
        if (rand() < 0.2) {
          const buf = new Uint8Array(65_536);
          await Promise.race([conn.read(buf), new Promise((r) => setTimeout(r, 5))]);
        }
      } catch {
        // The server closed the connection on a protocol error: expected.
      } finally {
        try {
          conn.close();
        } catch {
          // already closed
        }
      }
    };
    await Promise.all(Array.from({ length: parallel }, async () => {
      while (next < cases) await runOne(base + next++);
    }));
    assert.deepEqual(uncaught, [], `nothing uncaught (seed base ${base})`);
    const unexpected = f.lines.filter((l) => l.level === "error");
    assert.deepEqual(
      unexpected.map((l) => `${l.message}: ${l.fields.error}`),
      [],
      `no internal failure (seed base ${base})`,
    );
    const connectionErrors = f.lines.filter((l) =>
      l.message === "HTTP/2 connection error: closing the connection"
    );
    assert.ok(
      connectionErrors.length > cases / 10,
      `the cases did hit protocol errors (${connectionErrors.length})`,
    );
    // Well-formed clients are still served, and the server lets go of what the fuzz cases opened.
    assert.deepEqual(await f.client().attest(5), ["pid:5", "node:n1"]);
    assert.equal((await f.client().health("plugin")).status, 1);
  });
});
