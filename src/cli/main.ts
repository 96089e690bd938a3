/**
 * The command line: `--version`, `--help` (both work without the plugin cookie), the `locate` subcommand,
 * and, with no subcommand, plugin mode (serving spire-agent over go-plugin).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { clipText } from "../clip.ts";
import { writeAllSync } from "../io.ts";
import denoConfig from "../../deno.json" with { type: "json" };
import type { Logger } from "../log.ts";
import type { Transport } from "../plugin/listener.ts";
import { createAttestorPlugin } from "../plugin/plugin.ts";
import { servePlugin } from "../plugin/serve.ts";
import type { AttestorRuntime } from "../plugin/types.ts";
import { platformFor } from "../platform/mod.ts";
import { createRuntime } from "../runtime.ts";

/** The program name in help and version output. */
export const PROGRAM_NAME = "k8s-attestor";

/** Options of {@linkcode main} (the entry point wires the platform and the attestation runtime). */
export interface MainOptions {
  /** Transport when `--transport` is not given. @default {the platform's: "tcp" on Windows, "unix" elsewhere} */
  readonly defaultTransport?: Transport;
  /**
   * Creates the attestation runtime for plugin mode (`procRoot` is the `--proc-root` argument).
   * @default {the real runtime on the current platform}
   */
  readonly createRuntime?: (logger: Logger, context: { readonly procRoot: string }) => AttestorRuntime;
  /** Writes to stdout (help and version only). @default {synchronous writes to Deno.stdout} */
  readonly writeStdout?: (text: string) => void;
  /** Writes to stderr (usage errors). @default {synchronous writes to Deno.stderr} */
  readonly writeStderr?: (text: string) => void;
}

/**
 * The `--version` text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { versionText } from "./main.ts";
 * assert.match(versionText(), /^k8s-attestor /);
 * ```
 *
 * @returns Program version, Deno/V8/TypeScript versions, target triple and platform, one per line.
 */
export function versionText(): string {
  return [
    `${PROGRAM_NAME} ${denoConfig.version}`,
    `deno ${Deno.version.deno} (v8 ${Deno.version.v8}, typescript ${Deno.version.typescript})`,
    `target ${Deno.build.target}`,
    `platform ${Deno.build.os} ${Deno.build.arch}`,
  ].join("\n") + "\n";
}

/**
 * Runs the command line.
 *
 * @example
 * ```ts ignore
 * import { main } from "./main.ts";
 * Deno.exit(await main(Deno.args));
 * ```
 *
 * @param args The arguments after the program name.
 * @param options Platform wiring and output hooks.
 * @returns The process exit code.
 */
export async function main(args: readonly string[], options: MainOptions = {}): Promise<number> {
  const out = options.writeStdout ?? ((text: string) => writeAllSync(Deno.stdout, text));
  const err = options.writeStderr ?? ((text: string) => writeAllSync(Deno.stderr, text));

  // The subcommands are imported when used: plugin mode (what spire-agent starts) does not load them.
  if (args[0] === "locate") return await (await import("./locate.ts")).runLocate(args.slice(1));
  if (args[0] === "attest") return await (await import("./attest.ts")).runAttest(args.slice(1));

  let values: { version?: boolean; help?: boolean; transport?: string; "proc-root"?: string };
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        version: { type: "boolean", short: "V" },
        help: { type: "boolean", short: "h" },
        transport: { type: "string" },
        "proc-root": { type: "string" },
      },
      allowPositionals: false,
      strict: true,
    }));
  } catch (e) {
    err(`${PROGRAM_NAME}: ${clipText((e as Error).message)}\nRun "${PROGRAM_NAME} --help" for usage.\n`);
    return 2;
  }
  if (values.help) {
    out((await import("./help.ts")).helpText(PROGRAM_NAME));
    return 0;
  }
  if (values.version) {
    out(versionText());
    return 0;
  }
  const platform = platformFor();
  const transport = values.transport ?? options.defaultTransport ?? platform.transport;
  if (transport !== "unix" && transport !== "tcp") {
    err(`${PROGRAM_NAME}: --transport must be "unix" or "tcp", got "${transport}"\n`);
    return 2;
  }
  const procRoot = values["proc-root"] ?? "/";
  if (procRoot === "") {
    err(`${PROGRAM_NAME}: --proc-root must not be empty\n`);
    return 2;
  }
  const makeRuntime = options.createRuntime ??
    ((logger: Logger, context: { readonly procRoot: string }) =>
      createRuntime({ platform, logger, procRoot: context.procRoot }));
  const getenv = (name: string) => Deno.env.get(name);
  return await servePlugin({
    transport,
    getenv,
    createPlugin: (logger) =>
      createAttestorPlugin({ runtime: makeRuntime(logger, { procRoot }), logger, getenv }),
  });
}
