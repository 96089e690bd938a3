import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { basename, dirname } from "node:path";
import { AttestorError } from "../../src/errors.ts";
import { nullLogger } from "../../src/log.ts";
import { listen, portRange, resolveGroup } from "../../src/plugin/listener.ts";

const env = (vars: Record<string, string>) => (name: string) => vars[name];

function occupy(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

function connect(options: net.NetConnectOpts): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(options, () => resolve(socket));
    socket.once("error", reject);
  });
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** Finds `count` consecutive free ports on 127.0.0.1 (a short scan above 20000). */
async function freePortRun(count: number): Promise<number> {
  for (let start = 20000 + Math.floor(Math.random() * 20000); start < 60000; start += count) {
    const held: net.Server[] = [];
    try {
      for (let i = 0; i < count; i++) held.push(await occupy(start + i));
      return start;
    } catch {
      // taken; try the next run
    } finally {
      await Promise.all(held.map(closeServer));
    }
  }
  throw new Error("no free port run");
}

describe(
  "listener: unix",
  { skip: Deno.build.os === "windows" ? "no unix sockets on Windows" : false },
  () => {
    let base: string;
    before(async () => base = await Deno.makeTempDir({ prefix: "lt" }));
    after(() => Deno.remove(base, { recursive: true }));

    it("creates plugin<random> in a fresh 0700 directory under PLUGIN_UNIX_SOCKET_DIR and removes both on close", async () => {
      const counts: number[] = [];
      const accepted: net.Socket[] = [];
      const l = await listen({
        transport: "unix",
        getenv: env({ PLUGIN_UNIX_SOCKET_DIR: base, TMPDIR: "/nonexistent" }),
        logger: nullLogger,
        onConnection: (s) => accepted.push(s),
        onConnectionCountChange: (n) => counts.push(n),
      });
      assert.equal(l.network, "unix");
      assert.equal(dirname(dirname(l.address)), base);
      assert.equal(dirname(l.address), l.socketDir);
      assert.match(basename(l.address), /^plugin\d+$/);
      assert.match(basename(l.socketDir!), /^plugin/);
      assert.equal((await Deno.stat(l.socketDir!)).mode! & 0o777, 0o700);
      assert.ok((await Deno.lstat(l.address)).isSocket);
      const client = await connect({ path: l.address });
      await until(() => accepted.length === 1);
      client.destroy();
      await until(() => counts.length === 2);
      assert.deepEqual(counts, [1, 0]);
      await l.close();
      assert.equal(await exists(l.address), false);
      assert.equal(await exists(l.socketDir!), false);
      await l.close(); // idempotent
    });

    it("falls back to TMPDIR", async () => {
      const l = await listen({
        transport: "unix",
        getenv: env({ TMPDIR: base }),
        logger: nullLogger,
        onConnection: (s) => s.destroy(),
      });
      assert.equal(dirname(l.socketDir!), base);
      await l.close();
    });

    it("gives the socket PLUGIN_UNIX_SOCKET_GROUP and mode 0660, and lets the group into the directory", async () => {
      const gid = await resolveGroup("daemon");
      for (const group of ["daemon", String(gid)]) {
        const l = await listen({
          transport: "unix",
          getenv: env({ PLUGIN_UNIX_SOCKET_DIR: base, PLUGIN_UNIX_SOCKET_GROUP: group }),
          logger: nullLogger,
          onConnection: (s) => s.destroy(),
        });
        const sock = await Deno.lstat(l.address);
        assert.equal(sock.gid, gid);
        assert.equal(sock.mode! & 0o777, 0o660);
        const dir = await Deno.stat(l.socketDir!);
        assert.equal(dir.gid, gid);
        assert.equal(dir.mode! & 0o777, 0o710);
        await l.close();
      }
    });

    it("fails with bad-config for an unknown group and leaves nothing behind", async () => {
      const before = [...Deno.readDirSync(base)].length;
      await assert.rejects(
        listen({
          transport: "unix",
          getenv: env({ PLUGIN_UNIX_SOCKET_DIR: base, PLUGIN_UNIX_SOCKET_GROUP: "no-such-group-xyz" }),
          logger: nullLogger,
          onConnection: (s) => s.destroy(),
        }),
        (e: unknown) =>
          e instanceof AttestorError && e.reason === "bad-config" &&
          e.message === 'PLUGIN_UNIX_SOCKET_GROUP: no group named "no-such-group-xyz"',
      );
      assert.equal([...Deno.readDirSync(base)].length, before);
    });

    it("refuses a socket path longer than sun_path allows, naming the variables to change", async () => {
      const deep = `${base}/${"d".repeat(90)}`;
      await Deno.mkdir(deep);
      await assert.rejects(
        listen({
          transport: "unix",
          getenv: env({ PLUGIN_UNIX_SOCKET_DIR: deep }),
          logger: nullLogger,
          onConnection: (s) => s.destroy(),
        }),
        (e: unknown) =>
          e instanceof AttestorError &&
          /longer than 103 bytes; set PLUGIN_UNIX_SOCKET_DIR or TMPDIR/.test(e.message),
      );
      assert.deepEqual([...Deno.readDirSync(deep)], []);
    });

    it("fails with listen-failed when the directory cannot be created", async () => {
      await assert.rejects(
        listen({
          transport: "unix",
          getenv: env({ PLUGIN_UNIX_SOCKET_DIR: `${base}/missing/dir` }),
          logger: nullLogger,
          onConnection: (s) => s.destroy(),
        }),
        (e: unknown) =>
          e instanceof AttestorError && e.reason === "listen-failed" &&
          e.message.includes(`${base}/missing/dir`),
      );
    });
  },
);

describe("listener: tcp", () => {
  it("takes the first free port of PLUGIN_MIN_PORT..PLUGIN_MAX_PORT", async () => {
    const start = await freePortRun(3);
    const blocker = await occupy(start);
    try {
      const l = await listen({
        transport: "tcp",
        getenv: env({ PLUGIN_MIN_PORT: String(start), PLUGIN_MAX_PORT: String(start + 2) }),
        logger: nullLogger,
        onConnection: (s) => s.destroy(),
      });
      assert.equal(l.network, "tcp");
      assert.equal(l.address, `127.0.0.1:${start + 1}`);
      assert.equal(l.socketDir, null);
      const socket = await connect({ host: "127.0.0.1", port: start + 1 });
      socket.destroy();
      await l.close();
    } finally {
      await closeServer(blocker);
    }
  });

  it("uses an ephemeral port when no range is given", async () => {
    const l = await listen({
      transport: "tcp",
      getenv: env({}),
      logger: nullLogger,
      onConnection: (s) => s.destroy(),
    });
    assert.match(l.address, /^127\.0\.0\.1:\d+$/);
    assert.notEqual(l.address, "127.0.0.1:0");
    await l.close();
  });

  it("fails with listen-failed when every port in the range is taken", async () => {
    const start = await freePortRun(1);
    const blocker = await occupy(start);
    try {
      await assert.rejects(
        listen({
          transport: "tcp",
          getenv: env({ PLUGIN_MIN_PORT: String(start), PLUGIN_MAX_PORT: String(start) }),
          logger: nullLogger,
          onConnection: (s) => s.destroy(),
        }),
        (e: unknown) =>
          e instanceof AttestorError && e.reason === "listen-failed" &&
          e.message.startsWith(`couldn't bind plugin TCP listener on 127.0.0.1 ports ${start}-${start}`),
      );
    } finally {
      await closeServer(blocker);
    }
  });

  it("parses the port range like go-plugin", () => {
    assert.deepEqual(portRange(env({})), { min: 0, max: 0 });
    assert.deepEqual(portRange(env({ PLUGIN_MIN_PORT: "10000", PLUGIN_MAX_PORT: "25000" })), {
      min: 10000,
      max: 25000,
    });
    assert.throws(() => portRange(env({ PLUGIN_MIN_PORT: "20", PLUGIN_MAX_PORT: "10" })), {
      reason: "bad-config",
      message: "PLUGIN_MIN_PORT value of 20 is greater than PLUGIN_MAX_PORT value of 10",
    });
    assert.throws(() => portRange(env({ PLUGIN_MIN_PORT: "abc" })), {
      message: 'PLUGIN_MIN_PORT must be a decimal port number, got "abc"',
    });
    assert.throws(() => portRange(env({ PLUGIN_MAX_PORT: "70000" })), {
      message: "PLUGIN_MAX_PORT must be between 0 and 65535, got 70000",
    });
  });
});
