/**
 * The kubelet client's response handling over real sockets: status errors, the timeout, truncated and
 * oversized bodies, refused connections and cancellation.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createKubeletClient } from "../../src/kubelet/client.ts";
import { testConfig } from "./_config.ts";
import { PODS_TEXT, rejectsWith, useClientTestEnv } from "./_client_env.ts";
import { startFakeKubelet } from "../../src/testing/fake_kubelet.ts";
import * as http from "node:http";
import type { AddressInfo } from "node:net";

/** A plain HTTP server whose answers a test scripts at the socket level; it counts the requests. */
interface RawServer {
  readonly port: number;
  readonly requests: number;
  answer: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  close(): Promise<void>;
}

async function startRawServer(): Promise<RawServer> {
  let requests = 0;
  const state: Pick<RawServer, "answer"> = { answer: (_req, res) => res.end() };
  const server = http.createServer((req, res) => {
    requests++;
    state.answer(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    get requests() {
      return requests;
    },
    set answer(fn) {
      state.answer = fn;
    },
    get answer() {
      return state.answer;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe("kubelet client: responses", () => {
  const env = useClientTestEnv({ tls: false });

  describe("response errors", () => {
    it("non-200: status, first KiB of the body and the URL", async () => {
      const k = await env.start({});
      const client = await createKubeletClient({ config: testConfig({ kubeletReadOnlyPort: k.port }) });
      k.setFault({ status: 503, body: "kubelet is busy\n" });
      await rejectsWith(
        client.fetchPods(),
        "kubelet-rejected",
        new RegExp(`^unexpected status code on pods response: 503 kubelet is busy \\(GET ${client.url}\\)$`),
      );
      k.setFault({ status: 500, body: "x".repeat(5000) });
      const err = await rejectsWith(
        client.fetchPods(),
        "kubelet-rejected",
        /^unexpected status code on pods response: 500 x+ /,
      );
      assert.equal(err.message.match(/x{2,}/)?.[0].length, 1024);
    });

    it("timeout names the URL", async () => {
      const k = await env.start({});
      const client = await createKubeletClient({
        config: testConfig({ kubeletReadOnlyPort: k.port }),
        timeoutMs: 50,
      });
      k.setFault({ delayMs: 5_000 });
      await rejectsWith(
        client.fetchPods(),
        "kubelet-unreachable",
        new RegExp(`^unable to perform request: ${client.url}: timed out after 50 ms$`),
      );
      k.setFault(null);
      assert.equal(await client.fetchPods(), PODS_TEXT);
    });

    it("truncated body", async () => {
      const k = await env.start({});
      const client = await createKubeletClient({ config: testConfig({ kubeletReadOnlyPort: k.port }) });
      k.setFault({ truncate: true });
      await rejectsWith(
        client.fetchPods(),
        "kubelet-unreachable",
        new RegExp(`^unable to read pods response: ${client.url}: `),
      );
    });

    it("body over the cap", async () => {
      const k = await env.start({});
      const client = await createKubeletClient({
        config: testConfig({ kubeletReadOnlyPort: k.port }),
        maxBodyBytes: PODS_TEXT.length - 1,
      });
      await rejectsWith(client.fetchPods(), "kubelet-bad-response", /exceeds the limit of \d+ bytes/);
      const exact = await createKubeletClient({
        config: testConfig({ kubeletReadOnlyPort: k.port }),
        maxBodyBytes: PODS_TEXT.length,
      });
      assert.equal(await exact.fetchPods(), PODS_TEXT);
    });

    it("garbage JSON is returned as text (parsing is the caller's job)", async () => {
      const k = await env.start({});
      const client = await createKubeletClient({ config: testConfig({ kubeletReadOnlyPort: k.port }) });
      k.setFault({ garbage: true });
      assert.equal(await client.fetchPods(), "{this is not json");
    });

    it("connection refused", async () => {
      const k = await startFakeKubelet({});
      const port = k.port;
      await k.stop();
      const client = await createKubeletClient({ config: testConfig({ kubeletReadOnlyPort: port }) });
      await rejectsWith(
        client.fetchPods(),
        "kubelet-unreachable",
        new RegExp(`^unable to perform request: ${client.url}: .+`),
      );
    });

    it("an aborted signal cancels the request", async () => {
      const k = await env.start({});
      const client = await createKubeletClient({ config: testConfig({ kubeletReadOnlyPort: k.port }) });
      k.setFault({ delayMs: 5_000 });
      const ac = new AbortController();
      const p = client.fetchPods(ac.signal);
      ac.abort();
      await rejectsWith(p, "cancelled", /^kubelet request cancelled: /);
      k.setFault(null);
    });
  });

  describe("each step of one request, against a scripted server (one request each)", () => {
    let server: RawServer;
    before(async () => {
      server = await startRawServer();
    });
    after(() => server.close());

    const client = (options: { timeoutMs?: number; maxBodyBytes?: number } = {}) =>
      createKubeletClient({ config: testConfig({ kubeletReadOnlyPort: server.port }), ...options });
    const counted = async (run: () => Promise<void>) => {
      const before = server.requests;
      await run();
      assert.equal(server.requests - before, 1, "exactly one kubelet request");
    };

    it("decode: a 200 body that is not UTF-8", () =>
      counted(async () => {
        server.answer = (_req, res) => res.end(new Uint8Array([0x7b, 0xff, 0x7d]));
        const c = await client();
        await rejectsWith(
          c.fetchPods(),
          "kubelet-bad-response",
          new RegExp(`^unable to read pods response: ${c.url}: body is not valid UTF-8$`),
        );
      }));

    it("decode: every kind of invalid UTF-8 is refused, never replaced", async () => {
      const invalid = [
        [0xed, 0xa0, 0x80], // an encoded surrogate
        [0xc0, 0xaf], // overlong
        [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
        [0xe2, 0x82], // cut short at the end
      ];
      for (const bytes of invalid) {
        await counted(async () => {
          server.answer = (_req, res) => res.end(new Uint8Array([0x22, 0x61, ...bytes]));
          const c = await client();
          await rejectsWith(c.fetchPods(), "kubelet-bad-response", /: body is not valid UTF-8$/);
        });
      }
    });

    it("decode: a body that really contains U+FFFD, with or without Content-Length, is returned as sent", async () => {
      const text = JSON.stringify({
        items: [{ metadata: { uid: "u\uFFFD", labels: { "é": "\u{1F600}\uFFFD" } } }],
      });
      for (const chunked of [false, true]) {
        await counted(async () => {
          server.answer = (_req, res) => {
            const bytes = new TextEncoder().encode(text);
            if (!chunked) res.writeHead(200, { "content-length": String(bytes.length) });
            res.write(bytes.subarray(0, 7)); // a split inside the first multi-byte character
            res.end(bytes.subarray(7));
          };
          assert.equal(await (await client()).fetchPods(), text);
        });
      }
    });

    it("status handling: a declared Content-Length over the cap is refused before reading", () =>
      counted(async () => {
        server.answer = (_req, res) => {
          res.writeHead(200, { "content-length": "100" });
          res.end("x".repeat(100));
        };
        const c = await client({ maxBodyBytes: 99 });
        await rejectsWith(
          c.fetchPods(),
          "kubelet-bad-response",
          new RegExp(
            `^unable to read pods response: ${c.url}: body of 100 bytes exceeds the limit of 99 bytes$`,
          ),
        );
      }));

    it("bounded read: a chunked 200 body growing past the cap", () =>
      counted(async () => {
        server.answer = (_req, res) => {
          res.writeHead(200, { "content-type": "application/json" });
          for (let i = 0; i < 8; i++) res.write("y".repeat(1000));
          res.end();
        };
        const c = await client({ maxBodyBytes: 4096 });
        await rejectsWith(
          c.fetchPods(),
          "kubelet-bad-response",
          new RegExp(`^unable to read pods response: ${c.url}: body exceeds the limit of 4096 bytes$`),
        );
      }));

    it("bounded read: a long chunked error body is cut, not read to its end", () =>
      counted(async () => {
        server.answer = (_req, res) => {
          res.writeHead(502);
          res.write("e".repeat(1500)); // then never ends: only the cut part may be waited for
        };
        const c = await client({ timeoutMs: 5_000 });
        const err = await rejectsWith(
          c.fetchPods(),
          "kubelet-rejected",
          new RegExp(`^unexpected status code on pods response: 502 e{1024} \\(GET ${c.url}\\)$`),
        );
        assert.ok(err.message.length < 1200);
      }));

    it("timeout while the body is being read", () =>
      counted(async () => {
        server.answer = (_req, res) => {
          res.writeHead(200, { "content-type": "application/json" });
          res.write("{"); // headers and one byte, then silence
        };
        const c = await client({ timeoutMs: 100 });
        await rejectsWith(
          c.fetchPods(),
          "kubelet-unreachable",
          new RegExp(`^unable to perform request: ${c.url}: timed out after 100 ms$`),
        );
      }));

    it("cancellation while the body is being read", () =>
      counted(async () => {
        const started = Promise.withResolvers<void>();
        server.answer = (_req, res) => {
          res.writeHead(200, { "content-type": "application/json" });
          res.write("{");
          started.resolve();
        };
        const c = await client();
        const ac = new AbortController();
        const p = c.fetchPods(ac.signal);
        await started.promise;
        ac.abort(new DOMException("deadline", "TimeoutError")); // the caller's reason does not matter here
        await rejectsWith(p, "cancelled", new RegExp(`^kubelet request cancelled: ${c.url}$`));
      }));

    it("connect and send: the request line and headers of the read-only port", () =>
      counted(async () => {
        let seen: { method?: string; url?: string; accept?: string; auth?: string } = {};
        server.answer = (req, res) => {
          seen = {
            method: req.method,
            url: req.url,
            accept: req.headers.accept,
            auth: req.headers.authorization,
          };
          res.end("{}");
        };
        assert.equal(await (await client()).fetchPods(), "{}");
        assert.deepEqual(seen, { method: "GET", url: "/pods", accept: "application/json", auth: undefined });
      }));
  });
});
