/** A logger that keeps parsed hclog lines, for tests that check what was logged. */
import { createHclogLogger, type Logger } from "../../src/log.ts";

/** One captured log entry. */
export type Entry = Record<string, string | number | boolean>;

/** Creates a capturing logger and the array it fills. */
export function captureLogger(): { logger: Logger; entries: Entry[] } {
  const entries: Entry[] = [];
  const logger = createHclogLogger({ write: (line) => entries.push(JSON.parse(line)) });
  return { logger, entries };
}
