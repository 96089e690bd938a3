/**
 * JSDoc examples must be able to fail: no `console.assert` anywhere in the code (it only prints), and every
 * example `deno test --doc` runs asserts with `node:assert/strict` (or throws). First the check itself on
 * small inputs, then the check over the repository (src/, mod.ts, bench/, tools/, tests/ except this
 * directory, whose fixtures break the rules on purpose).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { checkDocExamples } from "./doc_examples.ts";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Wraps example lines in a JSDoc comment above an export, fenced with `fence`. */
function jsdoc(fence: string, body: string[]): string {
  return [
    "/**",
    " * Adds.",
    " *",
    " * @example",
    ` * ${fence}`,
    ...body.map((l) => ` * ${l}`),
    " * ```",
    " */",
  ]
    .concat(["export const add = (a: number, b: number): number => a + b;", ""])
    .join("\n");
}

describe("checkDocExamples", () => {
  it("reports console.assert in an example, and the example for checking nothing", () => {
    const text = jsdoc("```ts", ['import { add } from "./add.ts";', "console.assert(add(1, 1) === 3);"]);
    assert.deepEqual(checkDocExamples(text, "add.ts"), [
      {
        file: "add.ts",
        line: 7,
        problem:
          'console.assert only prints; use node:assert/strict (import assert from "node:assert/strict")',
      },
      {
        file: "add.ts",
        line: 5,
        problem: 'example checks nothing: assert with node:assert/strict (or throw), or mark it "ignore"',
      },
    ]);
  });

  it("reports console.assert outside comments and in ignored examples too", () => {
    const code = "export function f(x: number): void {\n  console .assert(x > 0);\n}\n";
    assert.deepEqual(checkDocExamples(code, "f.ts").map((f) => f.line), [2]);
    const ignored = jsdoc("```ts ignore", ["console.assert(false);"]);
    assert.deepEqual(checkDocExamples(ignored, "g.ts").map((f) => f.line), [6]);
  });

  it("reports runnable examples without an assertion, in every runnable language", () => {
    for (const fence of ["```ts", "```js", "```typescript", "```tsx", "````ts", "~~~ts"]) {
      const close = fence.startsWith("~") ? "~~~" : fence.replace(/[^`]/g, "");
      const text = jsdoc(fence, ['import { add } from "./add.ts";', "add(1, 1);"]).replace(
        " * ```\n */",
        ` * ${close}\n */`,
      );
      assert.deepEqual(checkDocExamples(text, "a.ts").map((f) => f.line), [5], fence);
    }
  });

  it("accepts examples that import node:assert/strict or throw", () => {
    const asserting = jsdoc("```ts", [
      'import assert from "node:assert/strict";',
      'import { add } from "./add.ts";',
      "assert.equal(add(1, 1), 2);",
    ]);
    assert.deepEqual(checkDocExamples(asserting, "a.ts"), []);
    const named = jsdoc("```ts", ["import { equal } from 'node:assert/strict';", "equal(1, 1);"]);
    assert.deepEqual(checkDocExamples(named, "a.ts"), []);
    const throwing = jsdoc("```ts", [
      'import { add } from "./add.ts";',
      'if (add(1, 1) !== 2) throw new Error("add");',
    ]);
    assert.deepEqual(checkDocExamples(throwing, "a.ts"), []);
  });

  it("asks for node:assert/strict instead of node:assert, and does not count a comment as asserting", () => {
    for (
      const line of ['import assert from "node:assert";', 'import { strict as assert } from "node:assert";']
    ) {
      assert.deepEqual(checkDocExamples(jsdoc("```ts", [line, "assert.equal(1, 1);"]), "a.ts"), [{
        file: "a.ts",
        line: 5,
        problem: 'example imports another assert module: use import assert from "node:assert/strict"',
      }]);
    }
    const comment = jsdoc("```ts", ["// assert.equal(add(1, 1), 2)", "add(1, 1);"]);
    assert.deepEqual(checkDocExamples(comment, "a.ts").map((f) => f.line), [5]);
  });

  it("skips ignored examples, non-code blocks and fences outside JSDoc comments", () => {
    assert.deepEqual(checkDocExamples(jsdoc("```ts ignore", ["add(1, 1);"]), "a.ts"), []);
    assert.deepEqual(checkDocExamples(jsdoc("```sh", ["deno task test"]), "a.ts"), []);
    assert.deepEqual(checkDocExamples(jsdoc("```", ["locate --pid <N>"]), "a.ts"), []);
    assert.deepEqual(checkDocExamples(jsdoc("```json", ['{"a": 1}']), "a.ts"), []);
    const markdownInString = "const md = `\n```ts\nadd(1, 1);\n```\n`;\n";
    assert.deepEqual(checkDocExamples(markdownInString, "a.ts"), []);
  });
});

/** The TypeScript and JavaScript files under `dir` (relative to the repository), recursively. */
async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(join(REPO_ROOT, dir))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory && entry.name !== "node_modules") out.push(...await sourceFiles(path));
    else if (/\.(ts|tsx|js|mjs)$/.test(entry.name)) out.push(path);
  }
  return out;
}

describe("the repository's code", () => {
  it("has no console.assert and no JSDoc example that checks nothing", async () => {
    const self = join("tests", "repo");
    const files = ["mod.ts"];
    for (const dir of ["src", "bench", "tools", "tests"]) files.push(...await sourceFiles(dir));
    const checked = files.filter((f) => !f.startsWith(self + "/")).sort();
    assert.ok(checked.includes(join("src", "errors.ts")), "the walk found the sources");
    const findings = [];
    for (const file of checked) {
      findings.push(...checkDocExamples(await Deno.readTextFile(join(REPO_ROOT, file)), file));
    }
    assert.deepEqual(
      findings.map((f) => `${f.file}:${f.line}: ${f.problem}`),
      [],
      `${findings.length} problem(s) in JSDoc examples`,
    );
  });
});
