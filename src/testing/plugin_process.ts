/**
 * Starting the plugin program the way spire-agent does (`plugin.NewClient(...).Start()` in go-plugin):
 * its command, the environment the agent gives it (magic cookie, `PLUGIN_*` variables), and the wait for a
 * valid handshake line; plus short, non-serving runs (`--help`, `--version`, cookie failures).
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { type Handshake, parseHandshake } from "./handshake.ts";
import { OutputCapture } from "./output_capture.ts";

/** The repository root. */
export const REPO_ROOT: string = fileURLToPath(new URL("../../", import.meta.url));

/**
 * The command that runs a TypeScript entry point from this repository under the current `deno`, with the
 * repository's configuration (as a plugin command for spire-agent's `plugin_cmd`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { REPO_ROOT, sourcePluginCommand } from "./plugin_process.ts";
 * const command = sourcePluginCommand("tests/plugin/fixtures/faulty_plugin.ts");
 * assert.deepEqual(command.slice(1, 4), ["run", "-A", "--no-prompt"]);
 * assert.equal(command.at(-1), `${REPO_ROOT}tests/plugin/fixtures/faulty_plugin.ts`);
 * ```
 *
 * @param entry The entry point, relative to the repository root.
 * @returns `[deno, "run", ...flags, entry]` with absolute paths.
 */
export function sourcePluginCommand(entry: string): string[] {
  return [
    Deno.execPath(),
    "run",
    "-A",
    "--no-prompt",
    "--config",
    join(REPO_ROOT, "deno.json"),
    join(REPO_ROOT, entry),
  ];
}

/** The default plugin command: the source entry point under the current `deno`. */
export const DEFAULT_PLUGIN_COMMAND: readonly string[] = sourcePluginCommand("mod.ts");

/** Options of `PluginHost.start` (plugin_host.ts) and {@linkcode startPluginProcess}. */
export interface PluginHostOptions {
  /** `[program, ...args]` of the plugin (spire-agent's `plugin_cmd`). @default {DEFAULT_PLUGIN_COMMAND} */
  readonly command?: readonly string[];
  /** Extra arguments (spire-agent's `plugin_args`). */
  readonly args?: readonly string[];
  /** Environment changes on top of this process's environment; `undefined` unsets. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The cookie value; `null` leaves the variable unset. @default {"WorkloadAttestor"} */
  readonly cookie?: string | null;
  /** Working directory. */
  readonly cwd?: string;
  /** Handshake timeout. @default {60000} */
  readonly handshakeTimeoutMs?: number;
  /** Give the plugin an open stdin pipe (that is never written) instead of /dev/null. */
  readonly pipedStdin?: boolean;
}

/**
 * The environment spire-agent gives a plugin, applied on top of `base`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pluginEnvironment } from "./plugin_process.ts";
 * const env = pluginEnvironment({ HOME: "/root", WorkloadAttestor: "x" }, null, { HOME: undefined });
 * assert.equal(env.WorkloadAttestor, undefined);
 * assert.equal(env.HOME, undefined);
 * assert.equal(env.PLUGIN_PROTOCOL_VERSIONS, "1");
 * ```
 *
 * @param base The environment to start from (this process's, usually).
 * @param cookie The magic cookie value; `null` leaves it unset.
 * @param overrides Changes applied last; `undefined` unsets.
 * @returns The plugin's environment.
 */
export function pluginEnvironment(
  base: Record<string, string>,
  cookie: string | null,
  overrides: Readonly<Record<string, string | undefined>> = {},
): Record<string, string> {
  const env: Record<string, string> = { ...base };
  delete env.PLUGIN_CLIENT_CERT;
  delete env.PLUGIN_MULTIPLEX_GRPC;
  delete env.WorkloadAttestor;
  if (cookie !== null) env.WorkloadAttestor = cookie;
  env.PLUGIN_MIN_PORT = "10000";
  env.PLUGIN_MAX_PORT = "25000";
  env.PLUGIN_PROTOCOL_VERSIONS = "1";
  env.RUST_BACKTRACE = "0";
  env.NO_COLOR = "1";
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

/** The `Deno.Command` of the plugin program with `args` after its command, in a clean environment. */
function pluginCommand(
  options: Pick<PluginHostOptions, "command" | "env" | "cwd">,
  args: readonly string[],
  cookie: string | null,
  stdin: "piped" | "null",
): Deno.Command {
  const [program, ...programArgs] = options.command ?? DEFAULT_PLUGIN_COMMAND;
  return new Deno.Command(program, {
    args: [...programArgs, ...args],
    env: pluginEnvironment(Deno.env.toObject(), cookie, options.env),
    clearEnv: true,
    cwd: options.cwd,
    stdin,
    stdout: "piped",
    stderr: "piped",
  });
}

/** A plugin process that has printed a valid handshake line. */
export interface StartedPlugin {
  /** The process. */
  readonly child: Deno.ChildProcess;
  /** Its handshake. */
  readonly handshake: Handshake;
  /** Its stdout and stderr, still being read. */
  readonly output: OutputCapture;
}

/**
 * Spawns the plugin and reads its handshake (spire-agent's `plugin.NewClient(...).Start()`).
 *
 * @param options Command, arguments and environment.
 * @returns The running process and its handshake.
 * @throws {Error} When the plugin exits first, times out, or prints an unacceptable line; the message
 *   includes its stderr. The process is killed first.
 */
export async function startPluginProcess(options: PluginHostOptions = {}): Promise<StartedPlugin> {
  const child = pluginCommand(
    options,
    options.args ?? [],
    options.cookie === undefined ? "WorkloadAttestor" : options.cookie,
    options.pipedStdin ? "piped" : "null",
  ).spawn();
  const output = new OutputCapture(child.stdout, child.stderr);

  const timeoutMs = options.handshakeTimeoutMs ?? 60_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    output.firstLine.then((line) => ({ kind: "line" as const, line })),
    child.status.then((status) => ({ kind: "exit" as const, status })),
    new Promise<{ kind: "timeout" }>((resolve) =>
      timer = setTimeout(() => resolve({ kind: "timeout" }), timeoutMs)
    ),
  ]);
  clearTimeout(timer);
  const fail = async (message: string): Promise<never> => {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await child.status;
    await output.done;
    throw new Error(`${message}\nplugin stderr:\n${output.stderrLines.join("\n")}`);
  };
  if (outcome.kind === "exit") {
    // A line may have raced with the exit.
    await output.stdoutDone;
    if (output.stdoutLineCount === 0) {
      return await fail(`plugin exited before we could connect (code ${outcome.status.code})`);
    }
  }
  if (outcome.kind === "timeout") return await fail("timeout while waiting for plugin to start");
  const line = await output.firstLine;
  let handshake: Handshake;
  try {
    handshake = parseHandshake(line);
  } catch (err) {
    return await fail((err as Error).message);
  }
  return { child, handshake, output };
}

/** The outcome of a short, non-serving run of the plugin program. */
export interface RunResult {
  /** Exit code. */
  readonly code: number;
  /** Everything on stdout. */
  readonly stdout: string;
  /** Everything on stderr. */
  readonly stderr: string;
}

/**
 * Runs the plugin program to completion (for `--help`, `--version`, and cookie failures).
 *
 * @param args Arguments after the command.
 * @param options Cookie and environment as for {@linkcode startPluginProcess}; the cookie is unset by
 *   default.
 * @returns Exit code and output.
 */
export async function runPluginOnce(
  args: readonly string[],
  options: Pick<PluginHostOptions, "command" | "cookie" | "env"> = {},
): Promise<RunResult> {
  const output = await pluginCommand(
    options,
    args,
    options.cookie === undefined ? null : options.cookie,
    "null",
  ).output();
  const decoder = new TextDecoder();
  return { code: output.code, stdout: decoder.decode(output.stdout), stderr: decoder.decode(output.stderr) };
}
