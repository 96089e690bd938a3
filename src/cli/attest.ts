/**
 * `attest`: runs the whole attestation pipeline for one process, outside spire-agent, with the plugin's
 * own configuration file, through the same runtime the plugin uses. For humans it prints each step of that
 * one attestation (locator result, kubelet URL, matched pod and container, selectors); with `--json` it
 * prints one object, `{"selectors": [...]}` or `{"error": "..."}`.
 *
 * ```
 * attest --pid <N> --config <file.hcl> [--json] [--proc-root <dir>]
 * ```
 *
 * Exit code 0 on success (including "not in a container": no selectors), 1 on any error. Diagnostics
 * (warnings and errors of the pipeline) go to stderr as hclog JSON lines; stdout holds only the report.
 *
 * @module
 */

import { clipText } from "../clip.ts";
import { readSmallTextFile, writeAllSync } from "../io.ts";
import { parsePidOption, parseProcRootOption, parseStrict, SHARED_OPTIONS } from "./pid.ts";
import { buildConfig } from "../config/build.ts";
import { loadHclParser } from "../config/hcl_parser.ts";
import type { Config } from "../config/types.ts";
import { AttestorError, toAttestorError } from "../errors.ts";
import { createHclogLogger, type Logger } from "../log.ts";
import { platformFor } from "../platform/mod.ts";
import type { Platform } from "../platform/types.ts";
import type { AttestResult } from "../core/attest.ts";
import { createRuntime } from "../runtime.ts";

/** The usage line, also part of the error for bad arguments. */
export const ATTEST_USAGE = "usage: attest --pid <N> --config <file.hcl> [--json] [--proc-root <dir>]";

/** Where {@linkcode runAttest} writes, and what it runs on. Everything defaults to the real process. */
export interface AttestIo {
  /** Receives the report. */
  stdout?: (s: string) => void;
  /** Receives hclog diagnostics. */
  stderr?: (s: string) => void;
  /** The platform. @default {platformFor()} */
  platform?: Platform;
  /** Environment lookup for the node name. @default {Deno.env.get} */
  getenv?: (name: string) => string | undefined;
  /** The name the kubelet certificate must carry without a node name. @default {os.hostname()} */
  hostname?: string;
}

interface AttestArgs {
  pid: number;
  configPath: string;
  json: boolean;
  procRoot: string;
}

function badArguments(reason: string): AttestorError {
  return new AttestorError("bad-request", `${reason}; ${ATTEST_USAGE}`);
}

function parse(args: string[]): AttestArgs {
  const values = parseStrict(
    args,
    { ...SHARED_OPTIONS, config: { type: "string" }, json: { type: "boolean" } },
    badArguments,
  );
  const pid = parsePidOption(values.pid, badArguments);
  if (values.config === undefined || values.config === "") throw badArguments("missing --config");
  const procRoot = parseProcRootOption(values["proc-root"], badArguments);
  return { pid, configPath: values.config, json: values.json ?? false, procRoot };
}

async function loadConfig(path: string, getenv: (name: string) => string | undefined): Promise<Config> {
  let text: string;
  try {
    text = await readSmallTextFile(path);
  } catch (err) {
    throw new AttestorError(
      "bad-config",
      `unable to read configuration file "${path}": ${err instanceof Error ? err.message : err}`,
    );
  }
  await loadHclParser();
  const { config, problems } = buildConfig(text, null, { getenv });
  if (config === null || problems.length > 0) {
    throw new AttestorError("bad-config", `invalid configuration in "${path}": ${problems.join("; ")}`);
  }
  return config;
}

function describeLocation(pid: number, loc: Pick<AttestResult, "podUid" | "containerId">): string {
  if (loc.containerId === null) return `pid ${pid} is not in a container`;
  const pod = loc.podUid === null ? "pod UID unknown (matched by container ID)" : `pod UID ${loc.podUid}`;
  return `pid ${pid}: ${pod}, container ID ${loc.containerId}`;
}

/**
 * Runs `attest` with the arguments after the subcommand name. Never throws.
 *
 * @example
 * ```ts ignore
 * import { runAttest } from "./attest.ts";
 * Deno.exit(await runAttest(["--pid", "1234", "--config", "k8s.hcl", "--json"]));
 * ```
 *
 * @param args The arguments after `attest`.
 * @param io Output hooks and injectables.
 * @returns The exit code: 0 on success, 1 on any error.
 */
export async function runAttest(args: string[], io: AttestIo = {}): Promise<number> {
  const out = io.stdout ?? ((s: string) => writeAllSync(Deno.stdout, s));
  const errOut = io.stderr ?? ((s: string) => writeAllSync(Deno.stderr, s));
  const getenv = io.getenv ?? ((name: string) => {
    try {
      return Deno.env.get(name);
    } catch {
      return undefined;
    }
  });
  const json = args.includes("--json");
  const logger: Logger = createHclogLogger({ write: errOut, level: "warn", module: "k8s-attestor.attest" });
  const human = (line: string) => {
    if (!json) out(line + "\n");
  };
  let runtime: ReturnType<typeof createRuntime> | null = null;
  try {
    const parsed = parse(args);
    const config = await loadConfig(parsed.configPath, getenv);
    const platform = io.platform ?? platformFor();
    runtime = createRuntime({ platform, logger, procRoot: parsed.procRoot, hostname: io.hostname });
    await runtime.apply(config);
    // One attestation, and the report is read off its result, so the two can never disagree.
    const result = await runtime.attestDetailed(parsed.pid, new AbortController().signal);
    human(`locator:   ${describeLocation(parsed.pid, result)}`);
    human(`kubelet:   ${runtime.kubeletUrl}`);
    if (result.pod !== null) {
      human(
        `pod:       ${result.pod.namespace}/${result.pod.name} (UID ${result.pod.uid}), ` +
          `found in pod list ${result.attempts} of at most ${config.maxPollAttempts}`,
      );
    }
    if (result.container !== null) {
      human(`container: ${result.container.status.name} (${result.container.kind} status list)`);
    } else if (result.pod !== null) {
      human("container: not matched (disable_container_selectors: pod selectors only)");
    }
    human(`selectors (${result.selectors.length}):`);
    for (const value of result.selectors) human(`  k8s:${value}`);
    if (json) out(JSON.stringify({ selectors: result.selectors }) + "\n");
    return 0;
  } catch (err) {
    const error = toAttestorError(err, "internal");
    const message = clipText(error.message);
    if (json) out(JSON.stringify({ error: message }) + "\n");
    else out(`error:     ${error.reason}: ${message}\n`);
    return 1;
  } finally {
    await runtime?.close();
  }
}
