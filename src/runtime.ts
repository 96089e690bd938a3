/**
 * The attestation runtime: joins the platform's container locator, the kubelet client, the shared pod-list
 * fetcher and the attestor core, and swaps them atomically when a new configuration is applied. The
 * fetcher lives for the whole plugin lifetime (its cache and spacing survive reconfiguration, as upstream).
 *
 * @module
 */

import type { Config } from "./config/types.ts";
import { type AttestCore, type AttestResult, createAttestCore } from "./core/attest.ts";
import { AttestorError } from "./errors.ts";
import { createKubeletClient } from "./kubelet/client.ts";
import { type FetcherClock, PodListFetcher } from "./kubelet/fetcher.ts";
import type { Logger } from "./log.ts";
import type { Platform } from "./platform/types.ts";
import type { AttestorRuntime } from "./plugin/types.ts";

/** Options of {@linkcode createRuntime}. */
export interface RuntimeOptions {
  /** The platform (from `platformFor()`). */
  readonly platform: Platform;
  /** Where diagnostics go. */
  readonly logger: Logger;
  /** The directory holding `proc/` (Linux). @default {"/"} */
  readonly procRoot?: string;
  /** The name the kubelet certificate must carry when no node name is configured. @default {os.hostname()} */
  readonly hostname?: string;
  /** Clock and timers of the fetcher, for tests. */
  readonly clock?: FetcherClock;
}

/** The runtime, with what the CLI needs to explain a run. */
export interface Runtime extends AttestorRuntime {
  /** The kubelet URL of the applied configuration, or `null` before the first apply. */
  readonly kubeletUrl: string | null;
  /** Like `attest`, with the locator result and the matched pod and container. */
  attestDetailed(pid: number, signal: AbortSignal): Promise<AttestResult>;
}

interface Active {
  readonly config: Config;
  readonly core: AttestCore;
  readonly kubeletUrl: string;
}

/**
 * Creates the attestation runtime.
 *
 * @example
 * ```ts ignore
 * import { createRuntime } from "./runtime.ts";
 * import { platformFor } from "./platform/mod.ts";
 * const runtime = createRuntime({ platform: platformFor(), logger });
 * await runtime.apply(config);
 * const selectors = await runtime.attest(pid, AbortSignal.timeout(30_000));
 * await runtime.close();
 * ```
 *
 * @param options Platform, logger and injectables.
 * @returns The runtime.
 */
export function createRuntime(options: RuntimeOptions): Runtime {
  const { platform, logger, procRoot, hostname, clock } = options;
  const fetcher = new PodListFetcher({ clock, logger: logger.with({ subsystem_name: "pod_list_fetcher" }) });
  let active: Active | null = null;
  let closed = false;

  function current(): Active {
    if (closed) throw new AttestorError("UNAVAILABLE", "the plugin is shutting down");
    if (active === null) throw new AttestorError("FAILED_PRECONDITION", "not configured");
    return active;
  }

  return {
    get kubeletUrl() {
      return active?.kubeletUrl ?? null;
    },
    async apply(config: Config): Promise<void> {
      if (closed) throw new AttestorError("UNAVAILABLE", "the plugin is shutting down");
      // Everything that can fail comes first, so a failure leaves the previous configuration in force.
      const client = await createKubeletClient({
        config,
        resolvePath: (p) => platform.resolveConfigPath(p),
        logger: logger.with({ subsystem_name: "kubelet_client" }),
        hostname,
      });
      const locator = platform.createLocator({
        useNewContainerLocator: config.useNewContainerLocator,
        kubeletCgroupRoot: config.kubeletCgroupRoot,
        verbose: config.verboseContainerLocatorLogs,
        logger,
        procRoot,
      });
      const core = createAttestCore({ locator, pods: fetcher, logger, config });
      fetcher.configure({
        fetchPods: (signal) => client.fetchPods(signal),
        minIntervalMs: config.pollRetryIntervalMs,
      });
      active = { config, core, kubeletUrl: client.url };
      if (config.sigstore !== null) {
        logger.warn(
          "experimental.sigstore is configured, but image signature verification is not implemented yet: " +
            "no sigstore selectors are produced and no signature is checked",
        );
      }
      if (platform.name === "unix") {
        if (config.useNewContainerLocator) logger.info("Using the new container locator");
        else {logger.warn(
            "Using the legacy container locator. This option will be removed in a future release.",
          );}
      }
    },
    attest(pid: number, signal: AbortSignal): Promise<string[]> {
      try {
        return current().core.attest(pid, signal);
      } catch (err) {
        return Promise.reject(err);
      }
    },
    attestDetailed(pid: number, signal: AbortSignal): Promise<AttestResult> {
      try {
        return current().core.attestDetailed(pid, signal);
      } catch (err) {
        return Promise.reject(err);
      }
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await fetcher.close();
    },
  };
}
