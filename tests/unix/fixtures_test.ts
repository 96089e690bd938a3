/**
 * Runs every fixture directory under `tests/testdata/proc/` through the library (`createUnixLocator`) and the
 * `locate` command (`runLocate`), for both the new and the legacy locator.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { AttestorError } from "../../src/errors.ts";
import { createUnixLocator } from "../../src/platform/unix/locator.ts";
import { runLocate } from "../../src/cli/locate.ts";
import { type ExpectedError, type ExpectedLocation, FIXTURE_CASES } from "./fixture_cases.ts";

const PROC_ROOT = fileURLToPath(new URL("../testdata/proc/", import.meta.url));

function isError(e: ExpectedLocation | ExpectedError): e is ExpectedError {
  return "reason" in e;
}

function withRoot(e: ExpectedError, root: string): ExpectedError {
  return { reason: e.reason, message: e.message.replaceAll("{root}", root) };
}

async function libraryOutcome(root: string, pid: number, legacy: boolean) {
  const locator = createUnixLocator({ procRoot: root, useNewContainerLocator: !legacy });
  try {
    return await locator.locate(pid);
  } catch (err) {
    assert.ok(err instanceof AttestorError, `expected an AttestorError, got ${err}`);
    return { reason: err.reason, message: err.message };
  }
}

describe("fixture corpus", () => {
  it("has exactly one table row per fixture directory", () => {
    const dirs = [...Deno.readDirSync(PROC_ROOT)].filter((e) => e.isDirectory).map((e) => e.name).sort();
    const rows = FIXTURE_CASES.map((c) => c.name).sort();
    assert.deepEqual(rows, dirs);
    assert.equal(new Set(rows).size, rows.length, "duplicate row names");
  });

  for (const c of FIXTURE_CASES) {
    describe(`${c.name}: ${c.description}`, () => {
      const root = join(PROC_ROOT, c.name);
      for (const legacy of [false, true]) {
        const expected = legacy ? c.legacy : c.expected;
        const label = legacy ? "legacy" : "new";
        it(`${label} locator via the library`, async () => {
          const got = await libraryOutcome(root, c.pid, legacy);
          assert.deepEqual(got, isError(expected) ? withRoot(expected, root) : expected);
        });
        it(`${label} locator via runLocate`, async () => {
          let out = "";
          const args = ["--pid", String(c.pid), "--proc-root", root, ...(legacy ? ["--legacy"] : [])];
          const code = await runLocate(args, { stdout: (s) => (out += s) });
          assert.ok(out.endsWith("\n") && out.indexOf("\n") === out.length - 1, "exactly one line");
          if (isError(expected)) {
            assert.equal(code, 1);
            assert.deepEqual(JSON.parse(out), { error: withRoot(expected, root).message });
          } else {
            assert.equal(code, 0);
            assert.equal(
              out,
              JSON.stringify({ podUid: expected.podUid, containerId: expected.containerId }) + "\n",
            );
          }
        });
      }
    });
  }
});
