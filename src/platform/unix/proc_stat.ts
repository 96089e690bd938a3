/**
 * The process start time from `/proc/<pid>/stat` (proc(5)), which tells one process that held a PID from a
 * later one that was given the same PID: the kernel never changes a process's start time, and a process
 * created later has a later (or, within the same clock tick, equal) one.
 *
 * @module
 */

import { AttestorError } from "../../errors.ts";
import { clip, quote } from "./lines.ts";

/**
 * The most bytes read from a stat file. Real files are about 300 bytes: 52 numeric fields and a `comm` of at
 * most 15 bytes (`TASK_COMM_LEN` − 1).
 */
export const MAX_PROC_STAT_BYTES = 4096;

/** The prefix of every stat-file error message. */
export const PROC_STAT_ERROR_PREFIX = "unable to read process start time";

/** What is used of one `/proc/<pid>/stat` line. */
export interface ProcStat {
  /** Field 1, `pid`, as written (decimal). */
  readonly pid: string;
  /** Field 3, `state` (`R`, `S`, `D`, `Z`, …). */
  readonly state: string;
  /**
   * Field 22, `starttime`: clock ticks since boot when the process started, as a decimal string (compared
   * for equality only, so it is kept as text and never rounded).
   */
  readonly startTime: string;
}

/** `starttime` is field 22; fields 3 onwards follow the last `)`, so it is the 20th of those. */
const START_TIME_AFTER_COMM = 22 - 3;

/**
 * Parses the text of `/proc/<pid>/stat`.
 *
 * Field 2, `comm`, is the executable name in parentheses. A process chooses it (`prctl(PR_SET_NAME)`, or the
 * name of the file it runs), and it may hold spaces, parentheses, newlines and digits, so a hostile process
 * could write a fake `) S 1 …` inside it. Every later field is numeric except `state`, so the real end of
 * `comm` is the **last** `)` of the file; the fields are taken from the text after it, split on single
 * spaces, exactly as the kernel writes them.
 *
 * @example A comm that imitates the following fields
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseProcStat } from "./proc_stat.ts";
 * const tail = "0 0 0 0 0 0 0 0 0 0 0 0 0 20 0 1 0 424242 0 0"; // fields 5 to 24
 * const stat = parseProcStat(`7 (x) R 1 ${tail.replace("424242", "1")}) S 1 ${tail}\n`, "/proc/7/stat");
 * assert.equal(stat.startTime, "424242");
 * assert.equal(stat.state, "S");
 * ```
 *
 * @param text The file's text.
 * @param path The file, for error messages.
 * @returns The pid, state and start time.
 * @throws {AttestorError} `malformed-input` naming the file when the text is not a stat line.
 */
export function parseProcStat(text: string, path: string): ProcStat {
  const bad = (reason: string) =>
    new AttestorError("malformed-input", `${PROC_STAT_ERROR_PREFIX}: ${quote(path)}: ${reason}`);
  const open = text.indexOf(" (");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) throw bad(`no "(comm)" field in ${quote(clip(text, 128))}`);
  const pid = text.slice(0, open);
  if (!/^[1-9][0-9]{0,9}$/.test(pid)) throw bad(`field 1 (pid) is ${quote(clip(pid, 64))}, not a PID`);
  // The fields after comm: `text` from `close + 2` to `end` (a final newline excluded), split on single
  // spaces. Only fields 3 and 22 are used, so they are found by position instead of splitting them all.
  const end = text.endsWith("\n") ? text.length - 1 : text.length;
  if (close + 1 >= end || text[close + 1] !== " ") throw bad(`no space after the comm field`);
  const first = close + 2;
  const bounds = fieldBounds(text, first, end, START_TIME_AFTER_COMM);
  if (bounds === null) {
    const count = text.slice(first, end).split(" ").length;
    throw bad(`${count + 2} fields, fewer than the 22 needed for starttime`);
  }
  const state = text.slice(first, bounds.stateEnd);
  if (!/^[A-Za-z]$/.test(state)) throw bad(`field 3 (state) is ${quote(clip(state, 64))}, not one letter`);
  const startTime = text.slice(bounds.start, bounds.end);
  if (!/^(0|[1-9][0-9]{0,19})$/.test(startTime)) {
    throw bad(`field 22 (starttime) is ${quote(clip(startTime, 64))}, not a decimal number`);
  }
  return { pid, state, startTime };
}

/**
 * Where field `index` (0-based) of the space-separated fields in `text[from, end)` starts and ends, and where
 * field 0 ends; `null` when there are not more than `index` fields. The same fields as
 * `text.slice(from, end).split(" ")`, without making them.
 */
function fieldBounds(
  text: string,
  from: number,
  end: number,
  index: number,
): { stateEnd: number; start: number; end: number } | null {
  let start = from;
  let stateEnd = -1;
  for (let i = 0; i < index; i++) {
    const space = text.indexOf(" ", start);
    if (space < 0 || space >= end) return null;
    if (i === 0) stateEnd = space;
    start = space + 1;
  }
  const space = text.indexOf(" ", start);
  const fieldEnd = space < 0 || space >= end ? end : space;
  return { stateEnd: index === 0 ? fieldEnd : stateEnd, start, end: fieldEnd };
}

/**
 * The start time of process `pid` from the text of its stat file, checking that the file describes that
 * process.
 *
 * @param pid The PID whose `/proc/<pid>/stat` was read.
 * @param file The file and its text; `text` is `null` when the file does not exist (only possible under a
 *   test proc root: the kernel always provides it while the process directory exists).
 * @returns The start time, or `null` for a missing file.
 * @throws {AttestorError} `malformed-input` naming the file for malformed text or another PID in field 1.
 */
export function startTimeOf(pid: number, file: { path: string; text: string | null }): string | null {
  if (file.text === null) return null;
  const stat = parseProcStat(file.text, file.path);
  if (stat.pid !== String(pid)) {
    throw new AttestorError(
      "malformed-input",
      `${PROC_STAT_ERROR_PREFIX}: ${quote(file.path)}: field 1 (pid) is ${stat.pid}, not ${pid}`,
    );
  }
  return stat.startTime;
}

/**
 * Confirms that the start times read before and after the cgroup (and mountinfo) reads of one lookup are the
 * same, so that what was read belongs to one process. Both `null` (a test proc root without stat files) is
 * accepted; the attestor core then refuses to answer with a container, since it cannot re-check the process.
 *
 * @param pid The PID.
 * @param before The start time read before the cgroup file.
 * @param after The start time read after the last file of the lookup.
 * @throws {AttestorError} `process-changed` naming both start times when they differ.
 */
export function assertSameStart(pid: number, before: string | null, after: string | null): void {
  if (before === after) return;
  throw new AttestorError(
    "process-changed",
    `process ${pid} was replaced while it was being located: PID ${pid} belonged to a process started at ` +
      `${before ?? "unknown"} (clock ticks since boot) before its cgroups were read and to one started at ` +
      `${after ?? "unknown"} after`,
  );
}
