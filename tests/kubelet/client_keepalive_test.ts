/**
 * The kubelet client's kept-alive connections, observed on the kubelet's side (real sockets, real TLS): one
 * connection serves many requests; a connection is never reused across a change of the CA or the client
 * certificate; `close` closes it; a kubelet that closes kept-alive connections (idle, or just as the next
 * request arrives) costs a new connection, not an error.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as http from "node:http";
import * as net from "node:net";
import { createKubeletClient } from "../../src/kubelet/client.ts";
import { KubeletConnections } from "../../src/kubelet/connections.ts";
import { PodListFetcher } from "../../src/kubelet/fetcher.ts";
import { BOOTSTRAP_TOKEN, PODS_TEXT, rejectsWith, useClientTestEnv } from "./_client_env.ts";
import { testConfig } from "./_config.ts";

/**
 * Waits until `condition()` holds, at most 2 s: well within the fake kubelet's own idle timeout (node:http's
 * 5 s), so a connection seen closed was closed by the client.
 */
async function eventually(condition: () => boolean, what: string): Promise<void> {
  const until = performance.now() + 2_000;
  while (!condition()) {
    if (performance.now() > until) assert.fail(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * A raw HTTP/1.1 server on a real socket that answers `GET /pods` with keep-alive and misbehaves as a kubelet
 * may: `drop(connection, request)` says when to close a connection without answering a request (for the
 * second request of a connection: a connection the server gave up on just as the client reused it); `closeIdleAfterMs` closes a connection that has been idle
 * that long. `log` records `c<connection>r<request>` per request received.
 */
async function rawKubelet(
  options: { drop?: (connection: number, request: number) => boolean; closeIdleAfterMs?: number },
) {
  const log: string[] = [];
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    const id = ++connections;
    let requests = 0;
    let pending = "";
    let idle: ReturnType<typeof setTimeout> | undefined;
    socket.on("data", (data) => {
      clearTimeout(idle);
      pending += data.toString("latin1");
      let end;
      while ((end = pending.indexOf("\r\n\r\n")) >= 0) {
        pending = pending.slice(end + 4);
        requests++;
        log.push(`c${id}r${requests}`);
        if (options.drop?.(id, requests)) {
          socket.destroy();
          return;
        }
        socket.write(
          `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${PODS_TEXT.length}\r\n\r\n` +
            PODS_TEXT,
        );
      }
      if (options.closeIdleAfterMs !== undefined) {
        idle = setTimeout(() => socket.end(), options.closeIdleAfterMs);
      }
    });
    socket.on("close", () => clearTimeout(idle));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    log,
    port: (server.address() as net.AddressInfo).port,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe("kubelet client: kept-alive connections", () => {
  const env = useClientTestEnv();

  it("the read-only port: three requests on one connection, closed by close()", async () => {
    const k = await env.start({});
    const client = await createKubeletClient({ config: testConfig({ kubeletReadOnlyPort: k.port }) });
    for (let i = 0; i < 3; i++) assert.equal(await client.fetchPods(), PODS_TEXT);
    assert.deepEqual(k.requests.map((r) => r.connection), [1, 1, 1]);
    assert.equal(k.openConnections, 1, "kept alive after the response");
    client.close();
    await eventually(() => k.openConnections === 0, "the kubelet sees the connection closed");
    await rejectsWith(
      client.fetchPods(),
      "cancelled",
      /^kubelet client is closed: http:\/\/127\.0\.0\.1:\d+\/pods$/,
    );
    assert.equal(k.requestCount, 3);
  });

  it("the secure port with a token: one verified TLS connection for every request", async () => {
    const token = await env.writeFile(BOOTSTRAP_TOKEN);
    const k = await env.startWithToken(token);
    const client = await createKubeletClient({
      config: env.secure(k, { tokenPath: token, nodeName: "localhost" }),
    });
    for (let i = 0; i < 3; i++) assert.equal(await client.fetchPods(), PODS_TEXT);
    assert.equal(k.connectionCount, 1, "one TLS handshake");
    assert.deepEqual(k.requests.map((r) => [r.connection, r.status]), [[1, 200], [1, 200], [1, 200]]);
    client.close();
    await eventually(() => k.openConnections === 0, "the kubelet sees the connection closed");
  });

  it("an error answer read to its end keeps the connection; one cut short closes it", async () => {
    const k = await env.start({});
    const client = await createKubeletClient({ config: testConfig({ kubeletReadOnlyPort: k.port }) });
    k.setFault({ status: 503, body: "busy\n" });
    await rejectsWith(client.fetchPods(), "kubelet-rejected", /503 busy/);
    k.setFault({ status: 503, body: "x".repeat(100_000) });
    await rejectsWith(client.fetchPods(), "kubelet-rejected", /503 x+ \(GET/);
    k.setFault(null);
    assert.equal(await client.fetchPods(), PODS_TEXT);
    // The long error body was read only in part: its connection could not serve another request.
    assert.deepEqual(k.requests.map((r) => r.connection), [1, 1, 2]);
    client.close();
  });

  it("a CA reload makes a new connection, verified against the new CA", async () => {
    const caPath = await env.writeFile(await Deno.readTextFile(env.pki.ca.certPath));
    const token = await env.writeFile(BOOTSTRAP_TOKEN);
    const k = await env.startWithToken(token);
    let now = 0;
    const client = await createKubeletClient({
      config: env.secure(k, {
        tokenPath: token,
        nodeName: "localhost",
        kubeletCaPath: caPath,
        reloadIntervalMs: 1000,
      }),
      now: () => now,
    });
    assert.equal(await client.fetchPods(), PODS_TEXT);
    assert.equal(k.openConnections, 1);
    // The kubelet's certificate does not chain to the new CA: a pooled connection must not be used.
    await Deno.writeTextFile(caPath, await Deno.readTextFile(env.pki.rogueCa.certPath));
    now += 1000;
    await rejectsWith(
      client.fetchPods(),
      "kubelet-unreachable",
      /^unable to perform request: https:\/\/localhost:\d+\/pods: /,
    );
    assert.equal(k.requestCount, 1, "nothing was sent after the CA changed");
    await eventually(() => k.openConnections === 0, "the old CA's connection is closed");
    client.close();
  });

  it("a client certificate reload makes a new connection presenting the new certificate", async () => {
    const first = env.certs.client;
    const second = await env.pki.issueClientCert("keepalive-rotated", { cn: "spire-agent-rotated" });
    const certPath = await env.writeFile(await Deno.readTextFile(first.certPath));
    const keyPath = await env.writeFile(await Deno.readTextFile(first.keyPath));
    const k = await env.startWithClientCa({ kind: "client-cert" });
    let now = 0;
    const client = await createKubeletClient({
      config: env.secure(k, {
        nodeName: "localhost",
        certificatePath: certPath,
        privateKeyPath: keyPath,
        reloadIntervalMs: 1000,
      }),
      now: () => now,
    });
    assert.equal(await client.fetchPods(), PODS_TEXT);
    assert.equal(await client.fetchPods(), PODS_TEXT);
    await Deno.writeTextFile(certPath, await Deno.readTextFile(second.certPath));
    await Deno.writeTextFile(keyPath, await Deno.readTextFile(second.keyPath));
    now += 1000;
    assert.equal(await client.fetchPods(), PODS_TEXT);
    assert.deepEqual(k.requests.map((r) => [r.connection, r.clientCertCn]), [
      [1, "spire-agent"],
      [1, "spire-agent"],
      [2, "spire-agent-rotated"],
    ]);
    await eventually(() => k.openConnections === 1, "the old certificate's connection is closed");
    client.close();
  });

  it("a kubelet that drops a kept-alive connection when the next request arrives: sent again on a new one", async () => {
    const k = await rawKubelet({ drop: (_connection, request) => request === 2 });
    try {
      const client = await createKubeletClient({ config: testConfig({ kubeletReadOnlyPort: k.port }) });
      assert.equal(await client.fetchPods(), PODS_TEXT);
      assert.equal(await client.fetchPods(), PODS_TEXT);
      assert.equal(await client.fetchPods(), PODS_TEXT);
      // c1r2 and c2r2 are the reused connections the kubelet dropped; each request was answered once.
      assert.deepEqual(k.log, ["c1r1", "c1r2", "c2r1", "c2r2", "c3r1"]);
      client.close();
    } finally {
      await k.stop();
    }
  });

  it("a dropped reused connection is sent again once, on a new connection, and never more", async () => {
    // The first connection is dropped when reused; every later connection at its first request.
    const k = await rawKubelet({ drop: (connection, request) => connection > 1 || request === 2 });
    try {
      const client = await createKubeletClient({ config: testConfig({ kubeletReadOnlyPort: k.port }) });
      assert.equal(await client.fetchPods(), PODS_TEXT);
      await rejectsWith(
        client.fetchPods(),
        "kubelet-unreachable",
        /^unable to perform request: http:\/\/127\.0\.0\.1:\d+\/pods: /,
      );
      assert.deepEqual(k.log, ["c1r1", "c1r2", "c2r1"]);
      client.close();
    } finally {
      await k.stop();
    }
  });

  it("a kubelet that closes idle connections: the next request uses a new connection", async () => {
    const k = await rawKubelet({ closeIdleAfterMs: 100 });
    try {
      const client = await createKubeletClient({ config: testConfig({ kubeletReadOnlyPort: k.port }) });
      assert.equal(await client.fetchPods(), PODS_TEXT);
      assert.equal(await client.fetchPods(), PODS_TEXT);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(await client.fetchPods(), PODS_TEXT);
      assert.deepEqual(k.log, ["c1r1", "c1r2", "c2r1"]);
      client.close();
    } finally {
      await k.stop();
    }
  });

  it("an idle kept-alive connection is closed after the idle timeout", async () => {
    const k = await env.start({});
    const connections = new KubeletConnections({ secure: false, idleTimeoutMs: 200 });
    const lease = connections.acquire(null);
    await new Promise<void>((resolve, reject) => {
      http.get({ host: "127.0.0.1", port: k.port, path: "/pods", agent: lease.agent }, (res) => {
        res.resume();
        res.on("end", resolve);
      }).on("error", reject);
    });
    lease.release();
    assert.equal(k.openConnections, 1, "kept alive after the response");
    await eventually(() => k.openConnections === 0, "the idle connection closed by the client");
    connections.close();
  });

  it("the fetcher closes a replaced client once its request settled, and the last one on close", async () => {
    const [a, b] = [await env.start({}), await env.start({})];
    const clientA = await createKubeletClient({ config: testConfig({ kubeletReadOnlyPort: a.port }) });
    const clientB = await createKubeletClient({ config: testConfig({ kubeletReadOnlyPort: b.port }) });
    const fetcher = new PodListFetcher({ minIntervalMs: 1 });
    fetcher.configure({ fetchPods: clientA.fetchPods, minIntervalMs: 1, close: clientA.close });
    await fetcher.fetchNext(0);
    assert.equal(a.openConnections, 1);
    fetcher.configure({ fetchPods: clientB.fetchPods, minIntervalMs: 1, close: clientB.close });
    await eventually(() => a.openConnections === 0, "A's connection closed by configure");
    await fetcher.fetchNext(1);
    assert.equal(b.openConnections, 1);
    await fetcher.close();
    await eventually(() => b.openConnections === 0, "B's connection closed by close");
  });
});
