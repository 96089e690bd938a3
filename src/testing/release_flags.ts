/**
 * The runtime flags (`--allow-*`, `--no-prompt`, `--v8-flags=…`) that the `deno compile` tasks in
 * `deno.json` bake into the release binaries, so tests and benchmarks can run the same code under exactly
 * those flags with `deno run`.
 *
 * @module
 */

import denoConfig from "../../deno.json" with { type: "json" };

/** The compile tasks whose flags can be read. */
export type CompileTask = "compile:linux-x64" | "compile:linux-arm64" | "compile:windows-x64";

/**
 * Returns the runtime flags of a compile task.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { releaseRuntimeFlags } from "./release_flags.ts";
 * assert.ok(releaseRuntimeFlags("compile:windows-x64").includes("--allow-ffi"));
 * ```
 *
 * @param task The `deno.json` task.
 * @returns The flags, in the task's order.
 * @throws {Error} When the task has no permission flag (the task was edited into something unexpected).
 */
export function releaseRuntimeFlags(task: CompileTask): string[] {
  const command = denoConfig.tasks[task];
  const flags = command.split(/\s+/).filter((f) =>
    f.startsWith("--allow-") || f === "--no-prompt" || f.startsWith("--v8-flags=")
  );
  if (!flags.some((f) => f.startsWith("--allow-"))) throw new Error(`no permission flags in task ${task}`);
  return flags;
}
