/**
 * The {@linkcode AttestorPlugin} behind the gRPC services: turns `plugin_data` text into a configuration
 * and hands it to the attestation runtime, which owns everything configured: whether there is a
 * configuration ("not configured" before the first successful Configure), which one is in force, and
 * whether the plugin is shutting down. Configure builds the config and lets the runtime apply it; a failed
 * Configure keeps the previous config. Configure calls take effect in request order. Validate has no side
 * effects.
 *
 * @module
 */

import { buildConfig as realBuildConfig } from "../config/build.ts";
import type { Config } from "../config/types.ts";
import { AttestorError, toAttestorError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { platformFor } from "../platform/mod.ts";
import type { Platform } from "../platform/types.ts";
import { createRuntime } from "../runtime.ts";
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
  /** Diagnostics. */
  readonly logger: Logger;
  /**
   * The attestation runtime: it applies each accepted configuration and answers Attest. The plugin keeps
   * it for its lifetime and closes it on deinit.
   * @default {createRuntime({ platform, logger, procRoot }): the real runtime on `platform`}
   */
  readonly runtime?: AttestorRuntime;
  /** The platform of the default runtime (unused when `runtime` is given). @default {platformFor()} */
  readonly platform?: Platform;
  /** The directory holding `proc/` for the default runtime (Linux; unused when `runtime` is given). @default {"/"} */
  readonly procRoot?: string;
  /** Environment lookups for the config builder (`node_name_env`). @default {Deno.env.get} */
  readonly getenv?: (name: string) => string | undefined;
  /** Turns `plugin_data` text into a config. @default {buildConfig from src/config/build.ts} */
  readonly buildConfig?: BuildConfigFn;
}

/** The message of the `bad-config` error for a rejected configuration. */
function problemsMessage(problems: readonly string[], count = problems.length): string {
  return problems.length === 1
    ? `invalid configuration: ${problems[0]}`
    : `invalid configuration (${Math.max(count, problems.length)} problems): ${problems.join("; ")}`;
}

/**
 * Creates the plugin: the real configuration builder and, unless one is given, the real attestation
 * runtime on the current platform. The runtime alone tracks the configuration in force, so Attest before
 * a successful Configure is the runtime's `not-configured "not configured"` and Attest or Configure after
 * deinit its `shutting-down "the plugin is shutting down"`.
 *
 * @example The real plugin: refuses Attest until configured, validates without applying
 * ```ts
 * import assert from "node:assert/strict";
 * import { createAttestorPlugin } from "./plugin.ts";
 * import { nullLogger } from "../log.ts";
 * const plugin = createAttestorPlugin({ logger: nullLogger, getenv: () => undefined });
 * const core = { trustDomain: "example.org" };
 * await assert.rejects(plugin.attest(1, AbortSignal.timeout(5000)), { reason: "not-configured" });
 * assert.equal(plugin.validate("kubelet_read_only_port = 10255", core).valid, true);
 * assert.equal(plugin.validate("no_such_key = 1", core).valid, false);
 * await plugin.configure("kubelet_read_only_port = 10255", core);
 * await plugin.deinit();
 * await assert.rejects(plugin.attest(1, AbortSignal.timeout(5000)), { reason: "shutting-down" });
 * ```
 *
 * @param options Logger, and the runtime, platform, environment and builder to use instead of the real ones.
 * @returns The plugin.
 */
export function createAttestorPlugin(options: AttestorPluginOptions): AttestorPlugin {
  const { logger } = options;
  const buildConfig = options.buildConfig ?? realBuildConfig;
  const getenv = options.getenv ?? ((name: string) => Deno.env.get(name));
  const runtime = options.runtime ??
    createRuntime({ platform: options.platform ?? platformFor(), logger, procRoot: options.procRoot });
  // Serialises Configure calls so that they reach the runtime in request order.
  let configureChain: Promise<void> = Promise.resolve();

  const build = (hcl: string, core: CoreConfiguration | null): BuildResultLike => {
    try {
      return buildConfig(hcl, core, { getenv });
    } catch (err) {
      throw toAttestorError(err, "internal", "building the configuration failed");
    }
  };

  const configureOnce = async (hcl: string, core: CoreConfiguration | null): Promise<void> => {
    const { config, problems, problemCount } = build(hcl, core);
    if (problems.length > 0 || config === null) {
      const list = problems.length > 0 ? problems : ["the configuration builder returned no configuration"];
      throw new AttestorError("bad-config", problemsMessage(list, problemCount));
    }
    try {
      await runtime.apply(config);
    } catch (err) {
      throw toAttestorError(err, "internal", "applying the configuration failed");
    }
    logger.info("plugin configured", { trust_domain: config.trustDomain, node_name: config.nodeName });
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
      return runtime.attest(pid, signal);
    },

    attestReference(request, signal) {
      return runtime.attestReference(request, signal);
    },

    async deinit() {
      await runtime.close();
      logger.debug("plugin deinitialized");
    },
  };
}
