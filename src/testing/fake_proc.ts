/**
 * Lines of made-up `/proc/<pid>/stat` files, for proc roots that tests and the demo generate.
 *
 * @module
 */

/**
 * A `/proc/<pid>/stat` line as the kernel writes it (52 fields), with the given pid, comm, state and start
 * time and zeros or plausible values elsewhere.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { procStatLine } from "./fake_proc.ts";
 * const line = procStatLine(42, "sleep", "123456");
 * assert.equal(line.split(") ")[1].split(" ")[19], "123456"); // field 22
 * ```
 *
 * @param pid Field 1.
 * @param comm Field 2 without its parentheses; any text, including spaces and `)`.
 * @param startTime Field 22, clock ticks since boot.
 * @param state Field 3. @default {"S"}
 * @returns The line, with its newline.
 */
export function procStatLine(pid: number, comm: string, startTime: string | number, state = "S"): string {
  // Fields 4 (ppid) to 21, then 22 (starttime), then 23 to 52.
  const middle = ["1", pid, pid, "0", "-1", "4194560", ...Array(8).fill("0"), "20", "0", "1", "0"];
  const tail = ["2531328", "180", "18446744073709551615", ...Array(27).fill("0")];
  return `${pid} (${comm}) ${state} ${[...middle, startTime, ...tail].join(" ")}\n`;
}
