/**
 * The core depends on no adapter: its ports and domain types live in src/core, and the kubelet, plugin and
 * platform code implement or call them, never the reverse.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";

const SRC = new URL("../../src/", import.meta.url);
const CORE = new URL("core/", SRC);

/** What the core may import, relative to src/: itself, the error and log types, and the config type. */
const ALLOWED = [
  /^core\/[a-z_]+\.ts$/,
  /^errors\.ts$/,
  /^log\.ts$/,
  /^config\/types\.ts$/,
];

/** Every module specifier of `text`: static imports, re-exports and dynamic imports. */
function specifiers(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s*"([^"]+)"/g)) found.push(m[1]);
  for (const m of text.matchAll(/(?:^|\n)\s*import\s*"([^"]+)"/g)) found.push(m[1]);
  for (const m of text.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g)) found.push(m[1]);
  return found;
}

describe("core import direction", () => {
  it("the specifier scan finds static, side-effect and dynamic imports", () => {
    const text =
      'import type { A } from "../kubelet/a.ts";\nimport "./b.ts";\nconst c = await import("../c.ts");\n' +
      'export { d } from "./d.ts";';
    assert.deepEqual(specifiers(text).sort(), ["../c.ts", "../kubelet/a.ts", "./b.ts", "./d.ts"]);
  });

  it("src/core imports nothing from an adapter (kubelet, plugin, platform implementations, runtime, cli)", async () => {
    const offending: string[] = [];
    let files = 0;
    for await (const entry of Deno.readDir(CORE)) {
      if (!entry.isFile || !entry.name.endsWith(".ts")) continue;
      files++;
      const url = new URL(entry.name, CORE);
      for (const spec of specifiers(await Deno.readTextFile(url))) {
        if (!spec.startsWith(".")) {
          if (!spec.startsWith("node:")) offending.push(`core/${entry.name} → ${spec}`);
          continue;
        }
        const target = relative(fileURLToPath(SRC), fileURLToPath(new URL(spec, url))).replaceAll("\\", "/");
        if (!ALLOWED.some((re) => re.test(target))) offending.push(`core/${entry.name} → ${target}`);
      }
    }
    assert.ok(files >= 3, `read ${files} core modules`);
    assert.deepEqual(offending, []);
  });
});
