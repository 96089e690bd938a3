/**
 * A {@linkcode Logger} that keeps every line in memory, for tests that check what was logged (level,
 * message and fields, including the fields added with `with`).
 *
 * @module
 */

import type { LogFields, Logger } from "../log.ts";

/** One recorded log line. */
export interface RecordedLine {
  /** `debug`, `info`, `warn` or `error`. */
  readonly level: string;
  /** The message. */
  readonly message: string;
  /** The line's fields merged over those of the `with` chain. */
  readonly fields: LogFields;
}

/**
 * Creates a logger that appends every line to `lines`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type RecordedLine, recordingLogger } from "./recording_logger.ts";
 * const lines: RecordedLine[] = [];
 * recordingLogger(lines).with({ pid: 7 }).warn("gone", { why: "exit" });
 * assert.deepEqual(lines, [{ level: "warn", message: "gone", fields: { pid: 7, why: "exit" } }]);
 * ```
 *
 * @param lines Where the lines go, oldest first.
 * @param base Fields added to every line.
 * @returns The logger.
 */
export function recordingLogger(lines: RecordedLine[], base: LogFields = {}): Logger {
  const emit = (level: string) => (message: string, fields?: LogFields) =>
    void lines.push({ level, message, fields: { ...base, ...fields } });
  return {
    debug: emit("debug"),
    info: emit("info"),
    warn: emit("warn"),
    error: emit("error"),
    with: (fields) => recordingLogger(lines, { ...base, ...fields }),
  };
}
