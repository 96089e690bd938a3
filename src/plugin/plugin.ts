/**
 * The {@linkcode AttestorPlugin} behind the gRPC services: configuration state plus delegation to the
 * attestation runtime. Configure builds the config, lets the runtime apply it, then swaps it in as one
 * step; a failed Configure keeps the previous config. Validate has no side effects.
 *
 * @module
 */

import type { Config } from "../config/types.ts";
import { AttestorError, toAttestorError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { AttestorPlugin, AttestorRuntime, CoreConfiguration, ValidationResult } from "./types.ts";

/** What a config builder returns: a config, or every problem found (one line each). */
export interface BuildResultLike {
  /** The built configuration, or `null` when there are problems. */
  readonly config: Config | null;
  /** One line per problem, naming the key (and line, for HCL syntax); possibly cut, see `problemCount`. */
  readonly problems: readonly string[];
  /** How many problems were found in all, when `problems` lists only the first ones. */
  readonly problemCount?: number;
}

/** The signature of `buildConfig` in `src/config/build.ts`. */
export type BuildConfigFn = (
  hcl: string,
  core: CoreConfiguration | null,
  options?: { getenv?: (name: string) => string | undefined },
) => BuildResultLike;

/** Options of {@linkcode createAttestorPlugin}. */
export interface AttestorPluginOptions {
  /** Turns `plugin_data` text into a config (normally `buildConfig` from `src/config/build.ts`). */
  readonly buildConfig: BuildConfigFn;
  /** The attestation machinery. Without it, Attest answers UNIMPLEMENTED. */
  readonly runtime?: AttestorRuntime;
  /** Diagnostics. */
  readonly logger: Logger;
  /** Environment lookups for the config builder (`node_name_env`). */
  readonly getenv: (name: string) => string | undefined;
}

/** The message of the INVALID_ARGUMENT error for a rejected configuration. */
function problemsMessage(problems: readonly string[], count = problems.length): string {
  return problems.length === 1
    ? `invalid configuration: ${problems[0]}`
    : `invalid configuration (${Math.max(count, problems.length)} problems): ${problems.join("; ")}`;
}

/**
 * Creates the plugin.
 *
 * @example Configure then attest without a runtime
 * ```ts ignore
 * import { createAttestorPlugin } from "./plugin.ts";
 * import { buildConfig } from "../config/build.ts";
 * import { nullLogger } from "../log.ts";
 * const plugin = createAttestorPlugin({ buildConfig, logger: nullLogger, getenv: Deno.env.get });
 * await plugin.configure("", { trustDomain: "example.org" });
 * await plugin.attest(1, new AbortController().signal); // throws AttestorError UNIMPLEMENTED
 * ```
 *
 * @param options Builder, runtime, logger and environment.
 * @returns The plugin.
 */
export function createAttestorPlugin(options: AttestorPluginOptions): AttestorPlugin {
  const { buildConfig, runtime, logger, getenv } = options;
  let current: Config | null = null;
  // Serialises Configure calls so that apply + swap happen in request order.
  let configureChain: Promise<void> = Promise.resolve();

  const build = (hcl: string, core: CoreConfiguration | null): BuildResultLike => {
    try {
      return buildConfig(hcl, core, { getenv });
    } catch (err) {
      throw toAttestorError(err, "INTERNAL", "building the configuration failed");
    }
  };

  const configureOnce = async (hcl: string, core: CoreConfiguration | null): Promise<void> => {
    const { config, problems, problemCount } = build(hcl, core);
    if (problems.length > 0 || config === null) {
      const list = problems.length > 0 ? problems : ["the configuration builder returned no configuration"];
      throw new AttestorError("INVALID_ARGUMENT", problemsMessage(list, problemCount));
    }
    if (runtime) {
      try {
        await runtime.apply(config);
      } catch (err) {
        throw toAttestorError(err, "INTERNAL", "applying the configuration failed");
      }
    }
    current = config;
    logger.info("plugin configured", {
      trust_domain: config.trustDomain,
      node_name: config.nodeName,
      attestation_runtime: runtime ? "present" : "absent",
    });
  };

  return {
    configure(hcl, core) {
      const run = configureChain.then(() => configureOnce(hcl, core));
      configureChain = run.catch(() => {});
      return run;
    },

    validate(hcl, core): ValidationResult {
      const { config, problems } = build(hcl, core);
      if (problems.length > 0) return { valid: false, notes: [...problems] };
      if (config === null) {
        return { valid: false, notes: ["the configuration builder returned no configuration"] };
      }
      return { valid: true, notes: [] };
    },

    attest(pid, signal) {
      if (current === null) {
        return Promise.reject(new AttestorError("FAILED_PRECONDITION", "not configured"));
      }
      if (!runtime) {
        return Promise.reject(
          new AttestorError(
            "UNIMPLEMENTED",
            "workload attestation is not available in this build: the attestation core is not wired in yet",
          ),
        );
      }
      return runtime.attest(pid, signal);
    },

    async deinit() {
      if (runtime) await runtime.close();
      logger.debug("plugin deinitialized");
    },
  };
}
