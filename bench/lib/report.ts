/**
 * The benchmark table of `deno task bench:table`: one row per target of issue 12 (what, ours, floor, ratio,
 * target, verdict), its Markdown rendering and the JSON document written to `bench/results/`. Pure functions
 * only (no I/O), so the shape is tested without running anything.
 *
 * @module
 */

/** Whether a row meets its target; `info` rows have no target. */
export type Verdict = "pass" | "FAIL" | "info";

/** One row of the table. */
export interface Row {
  /** Stable identifier (for comparing runs), e.g. `attest-gohost-c1`. */
  readonly id: string;
  /** What is measured, for people. */
  readonly what: string;
  /** Our value (a median), or null when it could not be measured. */
  readonly ours: number | null;
  /** The floor's value measured in the same run, or null when the target has no floor. */
  readonly floor: number | null;
  /** Unit of `ours` and `floor`: `µs`, `ms` or `MiB`. */
  readonly unit: string;
  /** The ratio the target is about (median of per-round ratios where rounds exist), or null. */
  readonly ratio: number | null;
  /** The target, as text (e.g. `≤ 2.0×`). */
  readonly target: string;
  /** The verdict. */
  readonly verdict: Verdict;
  /** What else a reader needs: spread, counts, why a verdict failed. */
  readonly detail: string;
}

/** The JSON document of one run. */
export interface BenchDocument {
  /** Format version of this document. */
  readonly schema: 1;
  /** When the run started (ISO 8601). */
  readonly startedAt: string;
  /** How long it took, in seconds. */
  readonly durationS: number;
  /** `quick` or `full`. */
  readonly mode: string;
  /** The machine and the code measured. */
  readonly environment: Readonly<Record<string, unknown>>;
  /** The run counts and sizes used. */
  readonly settings: Readonly<Record<string, unknown>>;
  /** The table. */
  readonly rows: readonly Row[];
  /** Raw measurements of every stage (per-round values, RSS samples). */
  readonly raw: Readonly<Record<string, unknown>>;
}

/**
 * The median of a list of numbers (the mean of the two middle values for an even count).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { median } from "./report.ts";
 * assert.equal(median([3, 1, 2]), 2);
 * assert.equal(median([4, 1, 2, 3]), 2.5);
 * ```
 *
 * @param xs The numbers (at least one).
 * @returns The median.
 * @throws {RangeError} For an empty list.
 */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError("Cannot take the median of an empty list");
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * The verdict of an "at most" target.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { atMost } from "./report.ts";
 * assert.equal(atMost(1.9, 2), "pass");
 * assert.equal(atMost(2.1, 2), "FAIL");
 * assert.equal(atMost(null, 2), "FAIL");
 * ```
 *
 * @param value The measured value, or null when it could not be measured (a failure).
 * @param limit The largest value that passes.
 * @returns `pass` or `FAIL`.
 */
export function atMost(value: number | null, limit: number): Verdict {
  return value !== null && Number.isFinite(value) && value <= limit ? "pass" : "FAIL";
}

/**
 * Formats a number for the table: 3 significant digits, no exponent; `—` for null.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatNumber } from "./report.ts";
 * assert.equal(formatNumber(1234.5), "1235");
 * assert.equal(formatNumber(12.345), "12.3");
 * assert.equal(formatNumber(0.012345), "0.0123");
 * assert.equal(formatNumber(null), "—");
 * ```
 *
 * @param x The number.
 * @returns The text.
 */
export function formatNumber(x: number | null): string {
  if (x === null || !Number.isFinite(x)) return "—";
  const abs = Math.abs(x);
  if (abs >= 100) return x.toFixed(0);
  if (abs >= 10) return x.toFixed(1);
  if (abs >= 1) return x.toFixed(2);
  if (abs === 0) return "0";
  return x.toPrecision(3);
}

function cell(value: number | null, unit: string): string {
  return value === null ? "—" : `${formatNumber(value)} ${unit}`;
}

function escapeCell(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll("\n", " ");
}

/**
 * Renders rows as a Markdown table with the columns what, ours, floor, ratio, target, verdict, detail.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatTable } from "./report.ts";
 * const text = formatTable([{
 *   id: "x", what: "Attest p50", ours: 500, floor: 250, unit: "µs", ratio: 2, target: "≤ 3×",
 *   verdict: "pass", detail: "5 rounds",
 * }]);
 * assert.equal(text.split("\n")[2], "| Attest p50 | 500 µs | 250 µs | 2.00× | ≤ 3× | pass | 5 rounds |");
 * ```
 *
 * @param rows The rows.
 * @returns The table, lines joined by `\n`, without a final newline.
 */
export function formatTable(rows: readonly Row[]): string {
  const head = ["what", "ours", "floor", "ratio", "target", "verdict", "detail"];
  const body = rows.map((r) =>
    [
      r.what,
      cell(r.ours, r.unit),
      cell(r.floor, r.unit),
      r.ratio === null ? "—" : `${formatNumber(r.ratio)}×`,
      r.target,
      r.verdict,
      r.detail,
    ].map(escapeCell)
  );
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(head), line(head.map(() => "---")), ...body.map(line)].join("\n");
}

/**
 * The results file name of a run started at `date`: `<ISO timestamp with - for :>.json`, which sorts by time.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resultFileName } from "./report.ts";
 * assert.equal(resultFileName(new Date("2026-12-04T12:30:05.123Z")), "2026-12-04T12-30-05Z.json");
 * ```
 *
 * @param date The start of the run.
 * @returns The file name.
 */
export function resultFileName(date: Date): string {
  return `${date.toISOString().replace(/\.\d{3}Z$/, "Z").replaceAll(":", "-")}.json`;
}

/**
 * Checks that a value is a well-formed {@linkcode BenchDocument} (what a reader of `bench/results/` relies
 * on) and returns the problems found; an empty list means well-formed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { documentProblems } from "./report.ts";
 * assert.deepEqual(documentProblems({ schema: 2 }).slice(0, 1), ["schema is not 1"]);
 * ```
 *
 * @param doc The parsed JSON.
 * @returns The problems, one sentence each.
 */
export function documentProblems(doc: unknown): string[] {
  const problems: string[] = [];
  if (typeof doc !== "object" || doc === null) return ["not an object"];
  const d = doc as Record<string, unknown>;
  if (d.schema !== 1) problems.push("schema is not 1");
  if (typeof d.startedAt !== "string" || Number.isNaN(Date.parse(d.startedAt))) {
    problems.push("startedAt is not a date");
  }
  if (typeof d.durationS !== "number") problems.push("durationS is not a number");
  if (d.mode !== "quick" && d.mode !== "full" && d.mode !== "custom") problems.push("mode is unknown");
  for (const key of ["environment", "settings", "raw"]) {
    if (typeof d[key] !== "object" || d[key] === null) problems.push(`${key} is not an object`);
  }
  if (!Array.isArray(d.rows) || d.rows.length === 0) {
    problems.push("rows is not a non-empty array");
    return problems;
  }
  const ids = new Set<string>();
  d.rows.forEach((row: Record<string, unknown>, i: number) => {
    const at = `rows[${i}]`;
    for (const key of ["id", "what", "unit", "target", "detail"]) {
      if (typeof row[key] !== "string") problems.push(`${at}.${key} is not a string`);
    }
    for (const key of ["ours", "floor", "ratio"]) {
      if (row[key] !== null && typeof row[key] !== "number") {
        problems.push(`${at}.${key} is not a number or null`);
      }
    }
    if (!["pass", "FAIL", "info"].includes(row.verdict as string)) problems.push(`${at}.verdict is unknown`);
    if (typeof row.id === "string") {
      if (ids.has(row.id)) problems.push(`${at}.id ${row.id} is repeated`);
      ids.add(row.id);
    }
  });
  return problems;
}
