// When js-hcl-parser is loaded: at import for every importer (a library user, a test: the synchronous
// buildConfig works at once), but only on loadHclParser() in the plugin program (it is a large part of the
// start-up before the handshake). The program case runs in a real child: a bundle run as the main module,
// as the release bundle is.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadHclParser, runHcl, runsAsPluginProgram } from "../../src/config/hcl_parser.ts";
import { REPO_ROOT } from "../../src/testing/plugin_process.ts";

const PARSER_URL = new URL("../../src/config/hcl_parser.ts", import.meta.url).href;

const ENTRY = `
import { loadHclParser, runHcl, runsAsPluginProgram } from ${JSON.stringify(PARSER_URL)};
const program = runsAsPluginProgram();
const before = runHcl("k = 1");
await loadHclParser();
console.log(JSON.stringify({ program, before, after: runHcl("k = 1") }));
`;

describe("loading the HCL parser", () => {
  it("imported (not the plugin program), the parser is loaded at import", () => {
    assert.equal(runsAsPluginProgram(), false);
    assert.deepEqual(runHcl("k = 1"), { ok: true, json: '{\n    "k": 1\n}' });
  });

  describe(
    "in the plugin program (a bundle run as the main module)",
    { skip: Deno.build.os !== "linux" },
    () => {
      let dir: string;
      let bundle: string;

      before(async () => {
        dir = await Deno.makeTempDir({ prefix: "k8s-attestor-hcl-lazy-" });
        await Deno.writeTextFile(join(dir, "entry.ts"), ENTRY);
        bundle = join(dir, "entry.js");
        const out = await new Deno.Command(Deno.execPath(), {
          args: [
            "bundle",
            "--platform=deno",
            "--config",
            join(REPO_ROOT, "deno.json"),
            "-o",
            bundle,
            join(dir, "entry.ts"),
          ],
          cwd: REPO_ROOT,
          stdout: "piped",
          stderr: "piped",
        }).output();
        assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      });

      after(async () => {
        if (dir) await Deno.remove(dir, { recursive: true });
      });

      async function run(flags: string[]): Promise<unknown> {
        const out = await new Deno.Command(Deno.execPath(), {
          args: ["run", "--no-config", "--no-prompt", ...flags, bundle],
          env: { NO_COLOR: "1" },
          stdout: "piped",
          stderr: "piped",
        }).output();
        assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
        return JSON.parse(new TextDecoder().decode(out.stdout));
      }

      it("is not loaded at import, and is loaded by loadHclParser", async () => {
        assert.deepEqual(await run(["--allow-env"]), {
          program: true,
          before: { ok: false, error: "the HCL parser is not loaded yet (loadHclParser)" },
          after: { ok: true, json: '{\n    "k": 1\n}' },
        });
      });

      it("without env permission, loadHclParser keeps the reason the parser could not be loaded", async () => {
        const out = await run(["--deny-env"]) as { after: unknown };
        assert.deepEqual(out.after, {
          ok: false,
          error: "the HCL parser could not be loaded " +
            "(NotCapable: Requires env access, run again with the --allow-env flag)",
        });
      });
    },
  );

  it("loadHclParser shares one load and resolves at once once loaded", async () => {
    const first = loadHclParser();
    assert.equal(loadHclParser(), first);
    await first;
    assert.equal(runHcl("k = [").ok, false);
  });
});
