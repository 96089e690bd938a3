/**
 * hclog-compatible JSON logging on stderr. spire-agent parses every stderr line of a plugin as a go-plugin
 * log entry: `@level`, `@message` and `@timestamp` must be JSON strings, and `@timestamp` must have exactly
 * six fractional digits, or the line is demoted (or, for non-strings, the agent crashes). This module is the
 * only writer of such lines.
 *
 * @module
 */

import { clipText } from "./clip.ts";
import { writeAllSync } from "./io.ts";

/** The levels spire-agent understands (trace is dropped by the agent, so it is not offered). */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Extra key/value fields of a log line. Values are rendered as JSON strings, numbers or booleans. */
export type LogFields = Record<string, string | number | boolean | undefined>;

/** A structured logger. Messages are constant phrases; variable data goes into fields. */
export interface Logger {
  /** Logs at debug level. */
  debug(message: string, fields?: LogFields): void;
  /** Logs at info level. */
  info(message: string, fields?: LogFields): void;
  /** Logs at warn level. */
  warn(message: string, fields?: LogFields): void;
  /** Logs at error level. */
  error(message: string, fields?: LogFields): void;
  /** Returns a logger that adds `fields` to every line. */
  with(fields: LogFields): Logger;
}

const LEVEL_RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Keys that logrus or go-plugin treat specially; a field with such a name is renamed with a `field_` prefix. */
const RESERVED_KEYS = new Set([
  "timestamp",
  "msg",
  "level",
  "time",
  "@level",
  "@message",
  "@timestamp",
  "@module",
]);

/** Options of {@linkcode createHclogLogger}. */
export interface HclogOptions {
  /** Where finished lines go (each ends in `\n`). Defaults to synchronous writes to stderr. */
  write?: (line: string) => void;
  /** The lowest level written. @default {"debug"} */
  level?: LogLevel;
  /** The `@module` value. @default {"k8s-attestor"} */
  module?: string;
  /** Clock, injectable for tests. @default {() => new Date()} */
  now?: () => Date;
}

/**
 * Formats a date as hclog's JSON timestamp layout `2006-01-02T15:04:05.000000Z07:00` (UTC, six fractional
 * digits).
 *
 * @example Six digits
 * ```ts
 * import assert from "node:assert/strict";
 * import { hclogTimestamp } from "./log.ts";
 * assert.equal(hclogTimestamp(new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678))), "2026-01-02T03:04:05.678000Z");
 * ```
 *
 * @param date The instant to format.
 * @returns The timestamp string.
 */
export function hclogTimestamp(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

function writeStderr(line: string): void {
  writeAllSync(Deno.stderr, line);
}

/**
 * Renders one hclog JSON line (without the newline).
 *
 * @param level The level.
 * @param message The message.
 * @param module The `@module` value.
 * @param timestamp The instant of the entry.
 * @param fields Extra fields; `undefined` values are left out, reserved names are prefixed with `field_`.
 * @returns A single-line JSON object. The message, every string field value and every field name are clipped
 *   to `MAX_ECHO_BYTES` (4 KiB) of UTF-8 with their original length stated (see `src/clip.ts`): this is
 *   the one place where log text is bounded, so callers log values as they are.
 */
export function formatHclogLine(
  level: LogLevel,
  message: string,
  module: string,
  timestamp: Date,
  fields: LogFields = {},
): string {
  const entry: Record<string, string | number | boolean> = {
    "@level": level,
    "@message": clipText(String(message)),
    "@module": module,
    "@timestamp": hclogTimestamp(timestamp),
  };
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const name = clipText(RESERVED_KEYS.has(key) ? `field_${key}` : key);
    if (typeof value === "string") entry[name] = clipText(value);
    else entry[name] = typeof value === "number" && !Number.isFinite(value) ? String(value) : value;
  }
  return JSON.stringify(entry);
}

/**
 * Creates a logger that writes one hclog JSON object per line.
 *
 * @example Capturing lines
 * ```ts
 * import assert from "node:assert/strict";
 * import { createHclogLogger } from "./log.ts";
 * const lines: string[] = [];
 * const log = createHclogLogger({ write: (l) => lines.push(l), module: "test" });
 * log.info("attested workload", { pid: 42 });
 * assert.equal(JSON.parse(lines[0])["@level"], "info");
 * ```
 *
 * @param options Destination, minimum level, module name and clock.
 * @returns The logger.
 */
export function createHclogLogger(options: HclogOptions = {}): Logger {
  const { write = writeStderr, level = "debug", module = "k8s-attestor", now = () => new Date() } = options;
  const min = LEVEL_RANK[level];
  const make = (base: LogFields): Logger => {
    const emit = (lvl: LogLevel, message: string, fields?: LogFields) => {
      if (LEVEL_RANK[lvl] < min) return;
      write(formatHclogLine(lvl, message, module, now(), { ...base, ...fields }) + "\n");
    };
    return {
      debug: (m, f) => emit("debug", m, f),
      info: (m, f) => emit("info", m, f),
      warn: (m, f) => emit("warn", m, f),
      error: (m, f) => emit("error", m, f),
      with: (fields) => make({ ...base, ...fields }),
    };
  };
  return make({});
}

/** A logger that discards everything, for library callers and tests that do not look at logs. */
export const nullLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  with() {
    return nullLogger;
  },
};
