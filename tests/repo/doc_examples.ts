/**
 * The check behind tests/repo/doc_examples_test.ts, which applies it to the repository's code:
 *
 * - `console.assert` may not appear anywhere: it only prints, so an example or check using it cannot fail;
 * - every JSDoc code block that `deno test --doc` runs (a JavaScript/TypeScript block not marked `ignore`)
 *   must check something: import `node:assert/strict` or `throw`.
 *
 * @module
 */

/** One problem found in a file. */
export interface DocExampleFinding {
  /** The file, as given to {@linkcode checkDocExamples}. */
  readonly file: string;
  /** 1-based line number. */
  readonly line: number;
  /** What is wrong. */
  readonly problem: string;
}

/** Languages whose fenced blocks `deno test --doc` type-checks and runs (blocks without one are not run). */
const RUNNABLE_LANGUAGES = new Set([
  "js",
  "javascript",
  "mjs",
  "cjs",
  "jsx",
  "ts",
  "typescript",
  "mts",
  "cts",
  "tsx",
]);

/** An opening or closing fence inside a JSDoc comment: ` * ```ts ignore`. */
const FENCE = /^\s*\*?\s?(`{3,}|~{3,})\s*([^\s`]*)(.*)$/;
const ASSERT_IMPORT = /\bfrom\s+["']node:assert\/strict["']/;
const OTHER_ASSERT_IMPORT = /\bfrom\s+["'](node:)?assert["']/;
const THROW = /\bthrow\b/;
const CONSOLE_ASSERT = /\bconsole\s*\.\s*assert\b/;

/**
 * Checks one source file's text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkDocExamples } from "./doc_examples.ts";
 * const fence = "`".repeat(3);
 * const text = ["/**", ` * ${fence}ts`, " * console.assert(1 + 1 === 3);", ` * ${fence}`, " *\/", ""].join("\n");
 * assert.deepEqual(checkDocExamples(text, "x.ts").map((f) => f.line), [3, 2]);
 * ```
 *
 * @param text The file content.
 * @param file The name used in findings.
 * @returns The findings, `console.assert` lines first, then examples that check nothing; empty when clean.
 */
export function checkDocExamples(text: string, file: string): DocExampleFinding[] {
  const lines = text.split("\n");
  const findings: DocExampleFinding[] = [];
  lines.forEach((line, i) => {
    if (CONSOLE_ASSERT.test(line)) {
      findings.push({
        file,
        line: i + 1,
        problem:
          'console.assert only prints; use node:assert/strict (import assert from "node:assert/strict")',
      });
    }
  });
  for (const block of jsdocCodeBlocks(lines)) {
    if (!block.runnable) continue;
    if (ASSERT_IMPORT.test(block.body) || THROW.test(block.body)) continue;
    findings.push({
      file,
      line: block.line,
      problem: OTHER_ASSERT_IMPORT.test(block.body)
        ? 'example imports another assert module: use import assert from "node:assert/strict"'
        : 'example checks nothing: assert with node:assert/strict (or throw), or mark it "ignore"',
    });
  }
  return findings;
}

interface CodeBlock {
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly runnable: boolean;
  readonly body: string;
}

/** The fenced code blocks inside `/** … *\/` comments. */
function jsdocCodeBlocks(lines: readonly string[]): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  let inComment = false;
  let open: { line: number; fence: string; runnable: boolean; body: string[] } | null = null;
  lines.forEach((line, i) => {
    if (!inComment) {
      const start = line.indexOf("/**");
      if (start === -1) return;
      inComment = !line.includes("*/", start + 3);
      return;
    }
    if (line.includes("*/")) {
      inComment = false;
      open = null; // an unclosed fence ends with its comment
      return;
    }
    const fence = FENCE.exec(line);
    if (open === null) {
      if (fence === null) return;
      const [, marks, language, attributes] = fence;
      const runnable = RUNNABLE_LANGUAGES.has(language.toLowerCase()) &&
        !attributes.split(/\s+/).includes("ignore");
      open = { line: i + 1, fence: marks, runnable, body: [] };
    } else if (
      fence !== null && fence[1].startsWith(open.fence) && fence[2] === "" && fence[3].trim() === ""
    ) {
      blocks.push({ line: open.line, runnable: open.runnable, body: open.body.join("\n") });
      open = null;
    } else {
      open.body.push(line);
    }
  });
  return blocks;
}
