/**
 * Builds the immutable {@linkcode Config} from `plugin_data` text and the agent's core configuration,
 * collecting every problem at once. Used by both Configure and Validate, so it has no side effects:
 * it reads no files and touches no network; it only reads the environment variable that holds the
 * node name (through an injectable `getenv`).
 *
 * The steps, each in its own module: the text is parsed (`hcl.ts`), each block level is read against the
 * known keys (`level.ts`), the top-level keys (`top_level.ts`), the sigstore blocks (`sigstore.ts` for the
 * seed's `experimental.sigstore`, `sigstore_current.ts` for the current top-level `sigstore`; never both) and
 * the API server and broker settings (`broker.ts`) are read with typed readers (`level_reader.ts`), and the
 * problems are listed in a fixed order.
 *
 * @module
 */

import type { Config, CoreConfiguration, SigstoreConfig, SigstoreCurrentConfig } from "./types.ts";
import { parseConfigText } from "./hcl.ts";
import { readLevel } from "./level.ts";
import { LevelReader } from "./level_reader.ts";
import { readTopLevel } from "./top_level.ts";
import { readSigstore } from "./sigstore.ts";
import { type ApiServerBlocks, findApiServerBlocks, readApiServerSettings } from "./broker.ts";
import { readSigstoreCurrent } from "./sigstore_current.ts";
import { checkCore } from "./trust_domain.ts";

export { MAX_REPORTED_KEYS } from "./level.ts";

/** Options of {@linkcode buildConfig}. */
export interface BuildConfigOptions {
  /**
   * Reads an environment variable (for the node name). Defaults to `Deno.env.get`; a missing env
   * permission counts as "unset".
   */
  getenv?: (name: string) => string | undefined;
}

/**
 * What {@linkcode buildConfig} returns: a config when there is no problem, otherwise the problems (the first
 * {@linkcode MAX_REPORTED_PROBLEMS}, then one line saying how many more there are).
 */
export interface BuildResult {
  /** The configuration, or null when `problems` is not empty. */
  config: Config | null;
  /** One human-readable string per problem, each naming the key (and line/column for syntax errors). */
  problems: string[];
  /** How many problems were found in all (more than `problems` lists when the list was cut). */
  problemCount: number;
}

/** The most problems listed one by one; the rest are counted in one final line. */
export const MAX_REPORTED_PROBLEMS = 20;

function defaultGetenv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no env permission (or an invalid name): treat as unset
  }
}

function build(hcl: string, core: CoreConfiguration | null, getenv: (name: string) => string | undefined) {
  const problems: string[] = [];
  const trustDomain = checkCore(core, problems);
  const parsed = parseConfigText(hcl);
  if (!parsed.ok) {
    problems.push(parsed.problem);
    return { config: null, problems };
  }
  const top = readLevel(parsed.root, "", problems);
  const r = new LevelReader(top, "", problems);

  // Blocks first, so unknown keys at every level are reported together, before value problems.
  let sigstoreReader: LevelReader | undefined;
  let apiServerBlocks: ApiServerBlocks = {};
  const experimental = r.block("experimental");
  if (experimental) {
    const er = new LevelReader(readLevel(experimental, "experimental", problems), "experimental", problems);
    const block = er.block("sigstore");
    const path = "experimental.sigstore";
    if (block) sigstoreReader = new LevelReader(readLevel(block, path, problems), path, problems);
    apiServerBlocks = findApiServerBlocks(er);
  }
  let currentReader: LevelReader | undefined;
  const currentBlock = r.block("sigstore");
  if (currentBlock) {
    currentReader = new LevelReader(readLevel(currentBlock, "sigstore", problems), "sigstore", problems);
  }

  const settings = readTopLevel(r, getenv);
  const apiServer = readApiServerSettings(r, apiServerBlocks);

  if (sigstoreReader && r.has("sigstore")) {
    problems.push(
      "sigstore and experimental.sigstore cannot both be set: use one form (the top-level sigstore block is " +
        "current SPIRE's, experimental.sigstore the seed's)",
    );
  }
  let sigstore: SigstoreConfig | null = null;
  if (sigstoreReader) sigstore = readSigstore(sigstoreReader) ?? null;
  let sigstoreCurrent: SigstoreCurrentConfig | null = null;
  if (currentReader) sigstoreCurrent = readSigstoreCurrent(currentReader) ?? null;

  if (problems.length > 0) return { config: null, problems };
  const config: Config = Object.freeze({ trustDomain, ...settings, ...apiServer, sigstore, sigstoreCurrent });
  return { config, problems };
}

/** Cuts a long problem list to {@linkcode MAX_REPORTED_PROBLEMS} and one line counting the rest. */
function reported(config: Config | null, problems: string[]): BuildResult {
  const problemCount = problems.length;
  if (problemCount <= MAX_REPORTED_PROBLEMS) return { config, problems, problemCount };
  const more = problemCount - MAX_REPORTED_PROBLEMS;
  return {
    config,
    problems: [
      ...problems.slice(0, MAX_REPORTED_PROBLEMS),
      `and ${more} more problem${more === 1 ? "" : "s"}`,
    ],
    problemCount,
  };
}

/**
 * Parses `plugin_data` (HCL v1 or JSON; "" means all defaults) and the core configuration into a
 * frozen {@linkcode Config}, or returns every problem found. Never throws, reads no files.
 *
 * With a non-null `core`, its `trustDomain` must be a valid SPIFFE trust domain name; with `null` (the
 * CLI) the check is skipped and `trustDomain` is "".
 *
 * @param hcl The `plugin_data` text.
 * @param core The agent's core configuration, or null.
 * @param options `getenv` for the node-name variable (tests inject it).
 * @returns `{config, problems: [], problemCount: 0}` or `{config: null, problems: [...], problemCount}`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildConfig } from "./build.ts";
 * const { config, problems } = buildConfig("kubelet_read_only_port = 10255", { trustDomain: "example.org" });
 * assert.ok(problems.length === 0 && config?.kubeletReadOnlyPort === 10255);
 * const twice = buildConfig("max_poll_attempts = 1\nMax_Poll_Attempts = 2", { trustDomain: "example.org" });
 * assert.deepEqual(twice.problems, ['max_poll_attempts is set more than once (line 1 and line 2 as "Max_Poll_Attempts")']);
 * ```
 */
export function buildConfig(
  hcl: string,
  core: CoreConfiguration | null,
  options?: BuildConfigOptions,
): BuildResult {
  let result: { config: Config | null; problems: string[] };
  try {
    if (typeof hcl !== "string") result = { config: null, problems: ["the configuration is not text"] };
    else result = build(hcl, core, options?.getenv ?? defaultGetenv);
  } catch (err) {
    // Defensive: nothing above is expected to throw; a bug must not crash Configure.
    const detail = err instanceof Error ? err.message : String(err);
    result = { config: null, problems: [`unable to build configuration: internal error: ${detail}`] };
  }
  return reported(result.config, result.problems);
}
