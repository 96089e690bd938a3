/**
 * Secrets a kubelet (or a proxy) echoes in a non-200 body never reach an error or a log line: the token in
 * every encoding wherever it falls around the cut, both tokens of a 401 retry, and the client key.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createKubeletClient } from "../../src/kubelet/client.ts";
import { captureLogger, rejectsWith, useClientTestEnv } from "./_client_env.ts";
import { assertNoPiece, assertNoPieceInLogLine, ENCODINGS, TOKEN } from "./_secrets.ts";

describe("kubelet client: redaction", () => {
  const env = useClientTestEnv();

  describe("secrets echoed in an error body (issue 9, finding 7)", () => {
    const CUT = 1024; // bytes of the body the error shows
    const echo = (encode: (s: string) => string, start: number) => (authorization: string | null) => {
      const token = (authorization ?? "").replace(/^Bearer /, "");
      return `${"-".repeat(start)}${encode(token)} is not a valid token\n${"tail ".repeat(300)}`;
    };

    for (const [name, encode] of Object.entries(ENCODINGS)) {
      it(`${name}: no piece of the token in the error or the log, wherever the echo falls around the cut`, async () => {
        const tokenPath = await env.writeFile(`${TOKEN}\n`);
        const k = await env.start({ tls: env.certs.localhost });
        const { lines, logger } = captureLogger();
        const client = await createKubeletClient({
          config: env.secure(k, { tokenPath, nodeName: "localhost" }),
          logger,
        });
        const n = encode(TOKEN).length;
        for (const start of [0, CUT - n - 1, CUT - n + 5, CUT - Math.floor(n / 2), CUT - 8, CUT - 1, CUT]) {
          k.setFault({ status: 401, body: echo(encode, start) });
          const err = await rejectsWith(
            client.fetchPods(),
            "kubelet-rejected",
            /^unexpected status code on pods response: 401 /,
          );
          assertNoPiece(err.message, TOKEN, encode(TOKEN));
          if (start < CUT) {
            assert.ok(
              err.message.includes(`${"-".repeat(start)}[redacted]`),
              `start ${start}: ${err.message}`,
            );
          }
          assert.ok(err.message.length < CUT + 200, "still cut to about a KiB");
        }
        assert.equal(
          k.requests.at(-1)?.authorization,
          `Bearer ${TOKEN}`,
          "the kubelet did receive the token",
        );
        for (const line of lines) assertNoPieceInLogLine(line, TOKEN, encode(TOKEN));
      });
    }

    it("a retry after a 401 with a re-read token: neither the old nor the new token survives", async () => {
      const oldToken = `${TOKEN}-old`;
      const newToken = `${TOKEN}-new`;
      const tokenPath = await env.writeFile(oldToken);
      const k = await env.start({ tls: env.certs.localhost });
      const { lines, logger } = captureLogger();
      const client = await createKubeletClient({
        config: env.secure(k, { tokenPath, nodeName: "localhost" }),
        logger,
      });
      k.setFault({
        status: 401,
        body: (authorization) => {
          // The first request echoes the old token; the retry echoes both, the old one percent-encoded.
          const sent = (authorization ?? "").replace(/^Bearer /, "");
          return sent === oldToken
            ? `${"-".repeat(CUT - 10)}${oldToken}`
            : `${"-".repeat(CUT - 200)}${encodeURIComponent(oldToken)} then ${JSON.stringify(sent)}`;
        },
      });
      const before = client.fetchPods();
      await Deno.writeTextFile(tokenPath, newToken);
      const err = await rejectsWith(
        before,
        "kubelet-rejected",
        /^unexpected status code on pods response: 401 /,
      );
      assert.deepEqual(k.requests.map((r) => r.authorization), [`Bearer ${oldToken}`, `Bearer ${newToken}`]);
      assertNoPiece(err.message, oldToken, encodeURIComponent(oldToken));
      assertNoPiece(err.message, newToken, JSON.stringify(newToken));
      assert.ok(lines.some((l) => l.includes("retrying once")), "the retry was logged");
      for (const line of lines) {
        assertNoPieceInLogLine(line, oldToken, encodeURIComponent(oldToken));
        assertNoPieceInLogLine(line, newToken, JSON.stringify(newToken));
      }
    });

    it("a client key echoed back is redacted too", async () => {
      const k = await env.startWithClientCa({ kind: "client-cert" });
      const key = env.certs.client.key;
      const client = await createKubeletClient({
        config: env.secure(k, {
          ...env.clientCertPaths(env.certs.client),
          nodeName: "localhost",
        }),
      });
      k.setFault({ status: 500, body: `${"-".repeat(CUT - 50)}${JSON.stringify(key)}` });
      const err = await rejectsWith(
        client.fetchPods(),
        "kubelet-rejected",
        /^unexpected status code on pods response: 500 /,
      );
      assertNoPiece(err.message, key.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, ""));
      assert.ok(err.message.includes("[redacted]"));
    });
  });
});
