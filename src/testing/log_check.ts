/**
 * The fake agent's check of a plugin's stderr: every line is judged as go-plugin's `logStderr` would judge
 * it. A line that would crash the agent (non-string `@message`/`@level`/`@timestamp`) or be demoted to a raw
 * Debug line (not JSON, unknown level, a timestamp without six fractional digits) is a problem.
 *
 * @module
 */

/** How one stderr line fares in go-plugin's `logStderr`. */
export type LogLineVerdict =
  | {
    readonly kind: "entry";
    readonly level: string;
    readonly message: string;
    readonly fields: Record<string, unknown>;
  }
  | { readonly kind: "crash"; readonly reason: string }
  | { readonly kind: "demoted"; readonly reason: string };

/** A stderr line that the agent logs as a proper entry. */
export interface LogEntry {
  /** `debug`, `info`, `warn` or `error`. */
  readonly level: string;
  /** The `@message`. */
  readonly message: string;
  /** Every key other than `@message`, `@level` and `@timestamp`. */
  readonly fields: Record<string, unknown>;
}

const HCLOG_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$/;
const HCLOG_LEVELS = new Set(["debug", "info", "warn", "error"]);
const MAX_LOG_LINE = 64 * 1024;

/**
 * Classifies one stderr line as go-plugin v1.8 `logStderr`/`parseJSON` would, but stricter: `@timestamp`
 * is required, and the level must be one SPIRE shows (trace is dropped by the agent).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { classifyLogLine } from "./log_check.ts";
 * assert.equal(classifyLogLine('{"@level":"info","@message":"x","@timestamp":"2026-01-01T00:00:00.000000Z"}').kind, "entry");
 * assert.equal(classifyLogLine('{"@level":"info","@message":42}').kind, "crash");
 * ```
 *
 * @param line One line without its newline.
 * @returns The verdict.
 */
export function classifyLogLine(line: string): LogLineVerdict {
  if (line.length > MAX_LOG_LINE) {
    return { kind: "demoted", reason: "longer than 64 KiB (split into raw lines)" };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return { kind: "demoted", reason: "not JSON (logged as raw text)" };
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return { kind: "demoted", reason: "not a JSON object" };
  }
  const entry = parsed as Record<string, unknown>;
  for (const key of ["@message", "@level", "@timestamp"]) {
    if (key in entry && typeof entry[key] !== "string") {
      return {
        kind: "crash",
        reason: `${key} is ${entry[key] === null ? "null" : typeof entry[key]}, not a string`,
      };
    }
  }
  const timestamp = entry["@timestamp"];
  if (typeof timestamp !== "string") return { kind: "demoted", reason: "no @timestamp" };
  if (!HCLOG_TIMESTAMP.test(timestamp)) {
    return { kind: "demoted", reason: `@timestamp "${timestamp}" does not have six fractional digits` };
  }
  const level = typeof entry["@level"] === "string" ? entry["@level"] : "";
  if (!HCLOG_LEVELS.has(level)) {
    return { kind: "demoted", reason: `@level "${level}" is not debug|info|warn|error` };
  }
  const message = typeof entry["@message"] === "string" ? entry["@message"] : "";
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(entry)) {
    if (key !== "@message" && key !== "@level" && key !== "@timestamp") fields[key] = value;
  }
  return { kind: "entry", level, message, fields };
}

/**
 * Every line that a real agent would not log as a proper entry (it crashes the agent or is demoted to raw
 * Debug text), each prefixed with its verdict and reason.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { logProblems } from "./log_check.ts";
 * const good = '{"@level":"info","@message":"x","@timestamp":"2026-01-01T00:00:00.000000Z"}';
 * assert.deepEqual(logProblems([good, "hello"]), ["demoted: not JSON (logged as raw text): hello"]);
 * ```
 *
 * @param lines Stderr lines without their newlines.
 * @returns One text per problem line, in order.
 */
export function logProblems(lines: readonly string[]): string[] {
  const problems: string[] = [];
  for (const line of lines) {
    const verdict = classifyLogLine(line);
    if (verdict.kind !== "entry") problems.push(`${verdict.kind}: ${verdict.reason}: ${line}`);
  }
  return problems;
}

/**
 * The proper log entries among `lines`, parsed (problem lines are left out).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { logEntries } from "./log_check.ts";
 * const line = '{"@level":"warn","@message":"x","@timestamp":"2026-01-01T00:00:00.000000Z","pid":7}';
 * const [entry, ...rest] = logEntries([line, "raw"]);
 * assert.deepEqual([entry.level, entry.message, entry.fields, rest], ["warn", "x", { pid: 7 }, []]);
 * ```
 *
 * @param lines Stderr lines without their newlines.
 * @returns The entries, in order.
 */
export function logEntries(lines: readonly string[]): LogEntry[] {
  const entries: LogEntry[] = [];
  for (const line of lines) {
    const verdict = classifyLogLine(line);
    if (verdict.kind === "entry") entries.push(verdict);
  }
  return entries;
}
