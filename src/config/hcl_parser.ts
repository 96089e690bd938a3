/**
 * The real HCL v1 parser, hashicorp/hcl v1 compiled by GopherJS (`js-hcl-parser`), run so that it can
 * never fail twice: loaded once (its Go runtime reads the environment, so it needs env permission), made
 * healthy again after it throws, and its errors turned into decode problems with line and column.
 *
 * @module
 */

import { createRequire } from "node:module";
import { lineColumnAt } from "./json.ts";
import { DECODE_PREFIX, positioned } from "./decode_rules.ts";

/** js-hcl-parser's `parse`: HCL (or JSON) text in, JSON text or an error text out. */
export type HclParse = (text: string) => string;

/** Loads js-hcl-parser's `parse` (the GopherJS prelude sets `Error.stackTraceLimit` to Infinity; undone). */
function withStackLimitKept<T>(load: () => T): T {
  const stackLimit = Error.stackTraceLimit;
  try {
    return load();
  } finally {
    Error.stackTraceLimit = stackLimit;
  }
}

function parseFunctionOf(mod: unknown): HclParse | null {
  const m = mod as { default?: { parse?: unknown }; parse?: unknown } | null;
  const parse = (m?.default ?? m)?.parse;
  return typeof parse === "function" ? (parse as HclParse) : null;
}

/**
 * js-hcl-parser's code (`dist/hcl.js`, 1.5 MB of minified GopherJS output) as text, imported when first
 * needed. It is run by {@linkcode evaluateParser} rather than imported as a module: a bundle then carries it
 * as one string literal, which costs next to nothing to load, instead of the 3.3 MB of reformatted code the
 * bundler makes of it, which V8 compiles at start-up (about 25 ms of the bundle's exec → handshake time, even
 * though the parser is not run before the handshake).
 */
async function importParserSource(): Promise<string> {
  return (await import("js-hcl-parser/dist/hcl.js", { with: { type: "text" } })).default;
}

/** The parser's code, once {@linkcode loadHclParser} has imported it. */
let parserSource: string | null = null;

/**
 * Runs js-hcl-parser's code as Node's CommonJS loader runs a module (`exports`, `require`, `module`,
 * `__filename`, `__dirname`; `this` is `module.exports`) and gives its exports: each call is a fresh copy
 * with its own Go runtime.
 */
function evaluateParser(source: string): unknown {
  const module = { exports: {} as Record<string, unknown> };
  const run = new Function("exports", "require", "module", "__filename", "__dirname", source);
  run.call(module.exports, module.exports, createRequire(import.meta.url), module, "hcl.js", ".");
  return module.exports;
}

/** The outcome of loading js-hcl-parser: its `parse`, or why there is none. */
interface LoadedParser {
  parse: HclParse | null;
  error: string;
}

/**
 * The GopherJS parser (its Go runtime reads the environment, so it needs env permission), once
 * {@linkcode loadHclParser} has loaded it.
 */
const parser: LoadedParser & { loaded: boolean } = { parse: null, error: "", loaded: false };
let loading: Promise<void> | null = null;

/**
 * Loads the HCL parser (once; later calls share the first load), so that {@linkcode runHcl} can run it.
 * Never rejects: a failed load is kept and {@linkcode runHcl} reports it. Importing this module loads the
 * parser already (a top-level await), except in the plugin program itself (see
 * {@linkcode runsAsPluginProgram}), which awaits this before it builds a configuration.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadHclParser, runHcl } from "./hcl_parser.ts";
 * await loadHclParser();
 * assert.equal(runHcl("k = 1").ok, true);
 * ```
 *
 * @returns Once the parser is loaded, or its load failed.
 */
export function loadHclParser(): Promise<void> {
  loading ??= (async () => {
    const stackLimit = Error.stackTraceLimit;
    let outcome: LoadedParser;
    try {
      const source = await importParserSource();
      parserSource = source;
      const parse = parseFunctionOf(evaluateParser(source));
      outcome = parse ? { parse, error: "" } : { parse: null, error: "js-hcl-parser has no parse function" };
    } catch (err) {
      const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      outcome = { parse: null, error: detail.split("\n")[0] };
    } finally {
      Error.stackTraceLimit = stackLimit;
    }
    Object.assign(parser, outcome, { loaded: true });
  })();
  return loading;
}

/**
 * Whether this process is the plugin program: the main module is this package's `mod.ts` (run from source
 * or compiled), or the bundle this module is part of. Then loading the parser waits for the first
 * configuration (it is a large part of the start-up before the handshake). Any other importer (a library
 * user, a test) gets the parser loaded at import, so that the synchronous `buildConfig` works at once.
 *
 * @returns True in the plugin program; false when in doubt (the parser is then loaded at import).
 */
export function runsAsPluginProgram(): boolean {
  try {
    const main = Deno.mainModule;
    return main === new URL("../../mod.ts", import.meta.url).href || main === import.meta.url;
  } catch {
    return false;
  }
}

if (!runsAsPluginProgram()) await loadHclParser();

/** A trivial document and what the parser answers for it, to tell a healthy runtime. */
const PROBE_TEXT = "k = 1";
const PROBE_JSON = '{\n    "k": 1\n}';

/**
 * Brings a js-hcl-parser `parse` whose GopherJS runtime was left half unwound back to health. An exception
 * thrown inside GopherJS code (a stack overflow, say) leaves the Go runtime's shared defer and panic stacks
 * half unwound, and the next call replays them and fails, too; each failing call unwinds part of what was
 * left. This calls `parse` on a trivial document until it answers correctly (at most 8 times).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { restoreGopherJsParse } from "./hcl_parser.ts";
 * assert.equal(restoreGopherJsParse(() => '{\n    "k": 1\n}'), true);
 * assert.equal(restoreGopherJsParse(() => { throw new RangeError("Maximum call stack size exceeded"); }), false);
 * ```
 *
 * @param parse The `parse` function of one copy of js-hcl-parser.
 * @returns True when `parse` answers the trivial document correctly again.
 */
export function restoreGopherJsParse(parse: HclParse): boolean {
  for (let i = 0; i < 8; i++) {
    try {
      if (parse(PROBE_TEXT) === PROBE_JSON) return true;
    } catch {
      // this call unwound part of the leftovers
    }
  }
  return false;
}

/**
 * Makes the parser healthy again after it threw: preferably a fresh copy (its code run again: a fresh Go
 * runtime), else the same copy restored with {@linkcode restoreGopherJsParse}.
 */
function resetParser(): void {
  try {
    const source = parserSource;
    const fresh = source === null ? null : parseFunctionOf(withStackLimitKept(() => evaluateParser(source)));
    if (fresh && restoreGopherJsParse(fresh)) {
      parser.parse = fresh;
      return;
    }
  } catch {
    // no fresh copy: restore the copy we have
  }
  if (parser.parse && restoreGopherJsParse(parser.parse)) return;
  parser.parse = null;
  parser.error = "the HCL parser failed and could not be restored";
}

/**
 * The `parse` the configuration layer runs now (`null` before {@linkcode loadHclParser}, or when it could not
 * be loaded or restored): for tests that need to reach the very copy {@linkcode runHcl} uses.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hclParseInUse, loadHclParser } from "./hcl_parser.ts";
 * await loadHclParser();
 * assert.equal(typeof hclParseInUse(), "function");
 * ```
 *
 * @returns The function, or `null`.
 */
export function hclParseInUse(): HclParse | null {
  return parser.parse;
}

/** The error prefix of js-hcl-parser's `parse` (its Go code formats errors into the returned string). */
const HCL_ERROR_PREFIX = "unable to parse JSON: ";
const POSITIONED_RE = /^At (\d+):(\d+): ([\s\S]*)$/;
const RANGE_RE = /^strconv\.Parse(?:Int|Float): parsing "([^"]*)": value out of range$/;

/** Finds `literal` as a whole token in `text` (for errors the Go code reports without a position). */
function locateLiteral(text: string, literal: string): { line: number; column: number } | null {
  let from = 0;
  for (;;) {
    const at = text.indexOf(literal, from);
    if (at < 0) return null;
    const before = at > 0 ? text[at - 1] : "";
    const after = text[at + literal.length] ?? "";
    if (!/[\w.+-]/.test(before) && !/[\w.]/.test(after)) return lineColumnAt(text, at);
    from = at + 1;
  }
}

/**
 * Describes an error of the HCL parser as a decode problem, with the line and column of `text` (from the
 * parser's `At L:C:` prefix, or found for an out-of-range number, which Go reports without a position).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hclProblem } from "./hcl_parser.ts";
 * assert.equal(hclProblem("a = [", "At 1:6: unexpected token while parsing list: EOF"), "unable to decode configuration: line 1, column 6: unexpected token while parsing list: EOF");
 * ```
 *
 * @param text The text the parser was given.
 * @param raw The parser's error (without its `unable to parse JSON: ` prefix).
 * @returns The problem text.
 */
export function hclProblem(text: string, raw: string): string {
  const msg = raw.replace(/\s+$/, "");
  const m = POSITIONED_RE.exec(msg);
  if (m) return positioned(Number(m[1]), Number(m[2]), m[3]);
  const r = RANGE_RE.exec(msg);
  if (r) {
    const where = locateLiteral(text, r[1]);
    const what = `number ${r[1]} is out of range for the HCL parser (integers must be within ±2147483647)`;
    return where ? positioned(where.line, where.column, what) : `${DECODE_PREFIX}: ${what}`;
  }
  return `${DECODE_PREFIX}: ${msg}`;
}

/**
 * Runs the parser. An exception (never expected within the limits) means its runtime may be left half
 * unwound: the parser is made healthy again and the text is tried once more, so a failure can never carry
 * over to this or a later call.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runHcl } from "./hcl_parser.ts";
 * assert.deepEqual(runHcl("k = 1"), { ok: true, json: '{\n    "k": 1\n}' });
 * assert.equal(runHcl("k = [").ok, false);
 * ```
 *
 * @param text HCL v1 text.
 * @returns The parser's JSON output, or its error.
 */
export function runHcl(text: string): { ok: true; json: string } | { ok: false; error: string } {
  let out: unknown;
  for (let attempt = 0;; attempt++) {
    const parse = parser.parse;
    if (!parser.loaded) return { ok: false, error: "the HCL parser is not loaded yet (loadHclParser)" };
    if (!parse) return { ok: false, error: `the HCL parser could not be loaded (${parser.error})` };
    try {
      out = parse(text);
      break;
    } catch (err) {
      resetParser();
      if (attempt > 0) {
        return {
          ok: false,
          error: `the HCL parser failed: ${err instanceof Error ? err.message : String(err)}`,
        };
      }
    }
  }
  if (typeof out !== "string") return { ok: false, error: "the HCL parser returned no result" };
  if (out.startsWith(HCL_ERROR_PREFIX)) return { ok: false, error: out.slice(HCL_ERROR_PREFIX.length) };
  if (out.startsWith("unable to ")) return { ok: false, error: out };
  return { ok: true, json: out };
}
