/**
 * The fake agent itself (src/testing/plugin_host.ts): what it records of a plugin's output must be
 * complete, or the process tests that rely on it ("stdout is exactly the handshake line") cannot fail.
 * The "plugin" here is a few lines of `deno eval` that print a handshake line and then misbehave.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { PluginHost } from "../../src/testing/plugin_host.ts";

const HANDSHAKE = "1|1|tcp|127.0.0.1:1|grpc";

/** A stand-in plugin: prints the handshake line, then runs `after` (JavaScript) and exits. */
function fakePlugin(after: string): string[] {
  return [Deno.execPath(), "eval", `console.log(${JSON.stringify(HANDSHAKE)});\n${after}`];
}

describe("PluginHost records the plugin's output", () => {
  it("stdoutRaw includes stdout written after the handshake was read", async () => {
    const host = await PluginHost.start({
      command: fakePlugin(`await new Promise((r) => setTimeout(r, 200)); console.log("late");`),
    });
    try {
      assert.equal(host.handshake.line, HANDSHAKE);
      const exit = await host.waitExit(30_000);
      assert.equal(exit.code, 0);
      assert.deepEqual(host.stdoutAfterHandshake, ["late"]);
      assert.equal(host.stdoutRaw, `${HANDSHAKE}\nlate\n`);
    } finally {
      await host.dispose();
    }
  });

  it("stderrLines and logProblems cover every line, also the last one without a newline", async () => {
    const good = '{"@level":"info","@message":"x","@timestamp":"2026-01-01T00:00:00.000000Z"}';
    const host = await PluginHost.start({
      command: fakePlugin(
        `const e = new TextEncoder(); Deno.stderr.writeSync(e.encode(${JSON.stringify(good + "\nraw")}));`,
      ),
    });
    try {
      await host.waitExit(30_000);
      assert.deepEqual(host.stderrLines, [good, "raw"]);
      assert.deepEqual(host.logProblems(), ["demoted: not JSON (logged as raw text): raw"]);
      assert.deepEqual(host.logEntries().map((e) => e.message), ["x"]);
      assert.equal(host.stdoutRaw, `${HANDSHAKE}\n`);
    } finally {
      await host.dispose();
    }
  });
});
