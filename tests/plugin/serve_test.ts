import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHclogLogger } from "../../src/log.ts";
import { AttestorError } from "../../src/errors.ts";
import type { AttestorPlugin } from "../../src/plugin/types.ts";
import {
  acceptsProtocolVersion1,
  NOT_A_COMMAND_MESSAGE,
  redirectConsole,
  servePlugin,
} from "../../src/plugin/serve.ts";
import { classifyLogLine, parseHandshake, PluginClient } from "../../src/testing/plugin_host.ts";

describe("serve helpers", () => {
  it("accepts protocol version 1 only when the host lists it (or sends nothing)", () => {
    assert.equal(acceptsProtocolVersion1(undefined), true);
    assert.equal(acceptsProtocolVersion1(""), true);
    assert.equal(acceptsProtocolVersion1("1"), true);
    assert.equal(acceptsProtocolVersion1("2, 1"), true);
    assert.equal(acceptsProtocolVersion1("2,3"), false);
    assert.equal(acceptsProtocolVersion1("10"), false);
  });

  it("sends console output to the hclog logger as single valid lines", () => {
    const lines: string[] = [];
    const restore = redirectConsole(createHclogLogger({ write: (l) => lines.push(l) }));
    try {
      console.log("hello %s", "world");
      console.info({ a: 1 });
      console.debug("multi\nline");
      console.warn("careful");
      console.error(new Error("bad thing"));
    } finally {
      restore();
    }
    assert.equal(lines.length, 5);
    const verdicts = lines.map((l) => classifyLogLine(l.replace(/\n$/, "")));
    assert.deepEqual(verdicts.map((v) => v.kind === "entry" ? v.level : v.kind), [
      "info",
      "info",
      "debug",
      "warn",
      "error",
    ]);
    assert.equal(verdicts[0].kind === "entry" && verdicts[0].message, "hello world");
    assert.equal(verdicts[2].kind === "entry" && verdicts[2].message, "multi\nline");
    assert.ok(verdicts[4].kind === "entry" && verdicts[4].message.startsWith("Error: bad thing"));
    for (const line of lines) assert.equal(line.indexOf("\n"), line.length - 1, "one line each");
  });

  it("without the cookie writes the explanation to stderr, nothing to stdout, and returns 1", async () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await servePlugin({
      transport: "unix",
      getenv: () => undefined,
      createPlugin: () => assert.fail("must not create the plugin"),
      writeStdout: (t) => out.push(t),
      writeStderr: (t) => err.push(t),
    });
    assert.equal(code, 1);
    assert.deepEqual(out, []);
    assert.deepEqual(err, [NOT_A_COMMAND_MESSAGE]);
  });

  it("serves in-process: handshake after listening, answers, stops on Shutdown and cleans up", async () => {
    const base = await Deno.makeTempDir({ prefix: "serve" });
    const lines: string[] = [];
    const out: string[] = [];
    let announced!: (line: string) => void;
    const handshakeLine = new Promise<string>((resolve) => announced = resolve);
    const plugin: AttestorPlugin = {
      configure: () => Promise.resolve(),
      validate: () => ({ valid: true, notes: [] }),
      attest: () => Promise.reject(new AttestorError("kubelet-unreachable", "kubelet unreachable")),
      attestReference: () => Promise.reject(new AttestorError("unsupported", "not in this test")),
      deinit: () => Promise.resolve(),
    };
    const env: Record<string, string> = {
      WorkloadAttestor: "WorkloadAttestor",
      PLUGIN_PROTOCOL_VERSIONS: "1",
      PLUGIN_UNIX_SOCKET_DIR: base,
    };
    const served = servePlugin({
      transport: "unix",
      getenv: (n) => env[n],
      createPlugin: () => plugin,
      logger: createHclogLogger({ write: (l) => lines.push(l) }),
      writeStdout: (t) => {
        out.push(t);
        announced(t);
      },
    });
    let client: PluginClient | null = null;
    try {
      const handshake = parseHandshake(await handshakeLine);
      assert.equal(handshake.network, "unix");
      assert.ok(handshake.address.startsWith(base + "/plugin"));
      client = new PluginClient(`unix:${handshake.address}`);
      await assert.rejects(client.attest(1), (e: unknown) => (e as { code: number }).code === 14);
      assert.equal((await client.health("plugin")).status, 1, "still serving");
      // Like spire-agent, ignore the Shutdown result: the plugin drops the connection right after
      // answering (as a Go plugin exits), so the reply may or may not arrive.
      await client.shutdown().catch((e: { code: number }) => assert.equal(e.code, 14, "UNAVAILABLE"));
      assert.equal(await served, 0);
      assert.deepEqual(out, [`1|1|unix|${handshake.address}|grpc|\n`]);
      assert.deepEqual([...Deno.readDirSync(base)], [], "socket and its directory removed");
      for (const line of lines) assert.equal(classifyLogLine(line.trimEnd()).kind, "entry", line);
    } finally {
      client?.close();
      await Deno.remove(base, { recursive: true });
    }
  });
});
