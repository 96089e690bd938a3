/**
 * The attestation runtime: joins the platform's container locator, the kubelet client, the shared pod-list
 * fetcher and the attestor core, and swaps them atomically when a new configuration is applied. A
 * configuration that changes where identities come from (anything but the pacing settings) is a clean cut:
 * a new fetcher with an empty cache, and no answer from the previous setup afterwards (see
 * {@linkcode createRuntime}). The runtime is the one owner of the configuration state: which configuration
 * is in force, "not configured" before the first successful apply, and "shutting down" after close.
 *
 * @module
 */

import type { Config } from "./config/types.ts";
import type { AttestCore, AttestResult } from "./core/attest.ts";
import { AttestorError } from "./errors.ts";
import type { FetcherClock, PodListFetcher } from "./kubelet/fetcher.ts";
import type { Logger } from "./log.ts";
import { samePodSource } from "./config/same_pod_source.ts";
import type { Platform } from "./platform/types.ts";
import type { AttestorRuntime, ReferenceRequest } from "./plugin/types.ts";
import { type ApiServerAccessOptions, lazyApiServerAccess } from "./apiserver/lazy.ts";
import type { CurrentSigstoreVerifierFactory, SigstoreVerifierFactory } from "./sigstore/factory.ts";
import type { SigstoreVerifier } from "./sigstore/verifier.ts";
import { tufCachePath } from "./sigstore/tuf_cache.ts";

export { samePodSource } from "./config/same_pod_source.ts";

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
  /**
   * Where the API server client finds the in-cluster configuration (tests point it at a fake). Nothing of
   * the API server code is loaded until namespace labels or a reference need it.
   * @default {the process environment and /var/run/secrets/kubernetes.io/serviceaccount}
   */
  readonly apiServer?: ApiServerAccessOptions;
  /**
   * Builds the image-signature verifier of a configuration with an `experimental.sigstore` block (composed
   * in `src/sigstore/setup.ts`, imported when first needed). `null`: such a configuration is refused at
   * Configure.
   */
  readonly sigstore?: SigstoreVerifierFactory | null;
  /**
   * Builds the image-signature verifier of a configuration with a top-level `sigstore` block (composed in
   * `src/sigstore/setup.ts`, imported when first needed). `null`: such a configuration is refused at
   * Configure.
   */
  readonly sigstoreCurrent?: CurrentSigstoreVerifierFactory | null;
  /** Reads the plugin's environment (trust files, TUF cache location). @default {Deno.env.get} */
  readonly env?: (name: string) => string | undefined;
}

/**
 * The modules that applying a configuration needs (the kubelet client with Node's HTTP and TLS stacks, the
 * pod-list fetcher, the attestor core), imported on the first apply: the plugin program does not load them
 * before its handshake. Loaded once, shared by every runtime.
 */
async function importApplyModules() {
  const [client, fetcher, core, features, warnings] = await Promise.all([
    import("./kubelet/client.ts"),
    import("./kubelet/fetcher.ts"),
    import("./core/attest.ts"),
    import("./apiserver/features.ts"),
    import("./config/warnings.ts"),
  ]);
  return {
    createKubeletClient: client.createKubeletClient,
    PodListFetcher: fetcher.PodListFetcher,
    createAttestCore: core.createAttestCore,
    attestWithNamespaceLabels: features.attestWithNamespaceLabels,
    kubeletDisabledCore: features.kubeletDisabledCore,
    configureWarnings: warnings.configureWarnings,
  };
}
type ApplyModules = Awaited<ReturnType<typeof importApplyModules>>;
let applyModules: Promise<ApplyModules> | undefined;

/** Longest time Configure waits for the sigstore trust material (TUF refresh), ms. */
export const SIGSTORE_TRUST_TIMEOUT_MS = 60_000;

function processEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/**
 * The real verifier factory, imported on the first Configure with a sigstore block (`src/sigstore/setup.ts`):
 * a plugin that does not verify signatures never loads the registry client, X.509 or TUF code.
 */
function lazyDefaultSigstore(
  env: (name: string) => string | undefined,
  logger: Logger,
): SigstoreVerifierFactory {
  let factory: Promise<SigstoreVerifierFactory> | null = null;
  return async (settings, context) => {
    factory ??= import("./sigstore/setup.ts").then((m) => m.createDefaultSigstoreFactory({ env, logger }));
    return (await factory)(settings, context);
  };
}

/** Like {@linkcode lazyDefaultSigstore}, for the top-level `sigstore` block. */
function lazyDefaultCurrentSigstore(
  env: (name: string) => string | undefined,
  logger: Logger,
): CurrentSigstoreVerifierFactory {
  let factory: Promise<CurrentSigstoreVerifierFactory> | null = null;
  return async (settings, context) => {
    factory ??= import("./sigstore/setup.ts").then((m) =>
      m.createDefaultCurrentSigstoreFactory({ env, logger })
    );
    return (await factory)(settings, context);
  };
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
  /** The modules loaded for the apply that made this configuration. */
  readonly modules: ApplyModules;
  /** The kubelet pod list, or null with `disable_kubelet_client`. */
  readonly pods: PodListFetcher | null;
  readonly kubeletUrl: string;
  /** Incremented by every apply that is a clean cut (see {@linkcode samePodSource}). */
  readonly generation: number;
}

/** The error of an attestation that a clean-cut Configure overtook. */
function reconfiguredError(cause: unknown): AttestorError {
  return new AttestorError(
    "reconfigured",
    "the plugin was reconfigured while this attestation was in progress (new kubelet, credential, node " +
      "name, locator or selector settings); nothing from the previous configuration is answered, retry",
    { cause },
  );
}

/**
 * Creates the attestation runtime.
 *
 * **Configure is a clean cut.** When an applied configuration differs from the previous one in anything
 * but the pacing settings ({@linkcode samePodSource}), the runtime starts a new pod-list fetcher (empty
 * cache, no spacing inherited) for the new kubelet client and locator, and closes the old one: its in-flight
 * kubelet request is aborted and its waiters are released. An attestation that started before such a
 * Configure and ends after it is answered with `reconfigured "the plugin was reconfigured while this
 * attestation was in progress (…); nothing from the previous configuration is answered, retry"`, whatever
 * the old setup would have answered (selectors or an error): it is never answered from the old kubelet, the
 * old credentials or the old locator, also when the old kubelet's answer was already on its way. It is not
 * re-run under the new setup: failing is the simple, evidently safe choice, Configure is rare (spire-agent
 * configures a plugin when it loads it), and the agent retries attestation. A Configure that changes only
 * pacing settings keeps the fetcher (its cache and spacing, as upstream) and lets running attestations
 * finish.
 *
 * **Image signatures** (`experimental.sigstore` or the top-level `sigstore` block, through
 * `options.sigstore` or `options.sigstoreCurrent`): every Configure with a block loads the trust material
 * again (the TUF cache in `tuf_cache.ts`'s location, at most
 * {@linkcode SIGSTORE_TRUST_TIMEOUT_MS}) and builds a new verifier with an empty cache; the previous
 * configuration's verifier and cache are dropped with it. A trust failure fails Configure (`bad-config`,
 * naming the file) and leaves the previous configuration in force; without `options.sigstore` the block is
 * refused. Nothing here is platform-specific: the block works on Windows too (upstream v1.9.6 refuses it
 * there).
 *
 * @example Not configured, configured, closed
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildConfig } from "./config/build.ts";
 * import { nullLogger } from "./log.ts";
 * import { platformFor } from "./platform/mod.ts";
 * import { createRuntime } from "./runtime.ts";
 * const runtime = createRuntime({ platform: platformFor(), logger: nullLogger });
 * await assert.rejects(runtime.attest(1, AbortSignal.timeout(5000)), { message: "not configured" });
 * const { config } = buildConfig("kubelet_read_only_port = 10255", { trustDomain: "example.org" });
 * await runtime.apply(config!);
 * assert.equal(runtime.kubeletUrl, "http://127.0.0.1:10255/pods");
 * await runtime.close();
 * await assert.rejects(runtime.attest(1, AbortSignal.timeout(5000)), { message: "the plugin is shutting down" });
 * ```
 *
 * @param options Platform, logger and injectables.
 * @returns The runtime.
 */
export function createRuntime(options: RuntimeOptions): Runtime {
  const { platform, logger, procRoot, hostname, clock } = options;
  const apiServer = lazyApiServerAccess(options.apiServer);
  const env = options.env ?? processEnv;
  const sigstoreFactory = options.sigstore === undefined
    ? lazyDefaultSigstore(env, logger.with({ subsystem_name: "sigstore" }))
    : options.sigstore;
  const currentSigstoreFactory = options.sigstoreCurrent === undefined
    ? lazyDefaultCurrentSigstore(env, logger.with({ subsystem_name: "sigstore" }))
    : options.sigstoreCurrent;
  const fetcherLogger = logger.with({ subsystem_name: "pod_list_fetcher" });
  let fetcher: PodListFetcher | null = null;
  let retired: Promise<unknown> = Promise.resolve();
  let active: Active | null = null;
  let closed = false;

  /**
   * The configuration in force. The runtime is the one owner of this state: never configured is
   * `not-configured "not configured"` (also after close), configured and closed is `shutting-down`.
   */
  function current(): Active {
    if (active === null) throw new AttestorError("not-configured", "not configured");
    if (closed) throw new AttestorError("shutting-down", "the plugin is shutting down");
    return active;
  }

  /** Runs `call` on the current core; an answer that a clean cut overtook becomes the reconfigured error. */
  async function run<T>(call: (core: AttestCore, started: Active) => Promise<T>): Promise<T> {
    const started = current();
    let result: T;
    try {
      result = await call(started.core, started);
    } catch (err) {
      if (active !== null && active.generation !== started.generation) throw reconfiguredError(err);
      throw err;
    }
    if (active !== null && active.generation !== started.generation) throw reconfiguredError(undefined);
    return result;
  }

  return {
    get kubeletUrl() {
      return active?.kubeletUrl ?? null;
    },
    async apply(config: Config): Promise<void> {
      if (closed) throw new AttestorError("shutting-down", "the plugin is shutting down");
      const modules = await (applyModules ??= importApplyModules());
      const { createKubeletClient, PodListFetcher, createAttestCore, configureWarnings } = modules;
      if (closed) throw new AttestorError("shutting-down", "the plugin is shutting down");
      if (config.disableKubeletClient) {
        // No kubelet client, no credential files, no fetcher: a clean cut to a kubelet-less setup.
        if (fetcher !== null) retired = Promise.all([retired, fetcher.close()]);
        fetcher = null;
        const generation = (active?.generation ?? 0) + 1;
        active = {
          config,
          core: modules.kubeletDisabledCore(),
          modules,
          pods: null,
          kubeletUrl: "",
          generation,
        };
        logger.info("The kubelet client is disabled: PID attestation is unavailable");
        return;
      }
      // Everything that can fail comes first, so a failure leaves the previous configuration in force.
      const client = await createKubeletClient({
        config,
        resolvePath: (p) => platform.resolveConfigPath(p),
        logger: logger.with({ subsystem_name: "kubelet_client" }),
        hostname,
      });
      if (closed) throw new AttestorError("shutting-down", "the plugin is shutting down");
      // A new verifier (trust loaded again, empty cache) for every configuration with a sigstore block.
      let imageVerifier: SigstoreVerifier | null = null;
      if (config.sigstore !== null) {
        if (sigstoreFactory === null) {
          throw new AttestorError(
            "bad-config",
            "experimental.sigstore: image signature verification is not available in this build",
          );
        }
        const tufCache = tufCachePath(env, platform.name);
        imageVerifier = await sigstoreFactory(config.sigstore, {
          logger: logger.with({ subsystem_name: "sigstore" }),
          env,
          tufCachePath: tufCache,
          signal: AbortSignal.timeout(SIGSTORE_TRUST_TIMEOUT_MS),
        });
        if (closed) throw new AttestorError("shutting-down", "the plugin is shutting down");
      } else if (config.sigstoreCurrent !== null) {
        if (currentSigstoreFactory === null) {
          throw new AttestorError(
            "bad-config",
            "sigstore: image signature verification is not available in this build",
          );
        }
        imageVerifier = await currentSigstoreFactory(config.sigstoreCurrent, {
          logger: logger.with({ subsystem_name: "sigstore" }),
          env,
          tufCachePath: tufCachePath(env, platform.name),
          signal: AbortSignal.timeout(SIGSTORE_TRUST_TIMEOUT_MS),
        });
        if (closed) throw new AttestorError("shutting-down", "the plugin is shutting down");
      }
      const locator = platform.createLocator({
        useNewContainerLocator: config.useNewContainerLocator,
        kubeletCgroupRoot: config.kubeletCgroupRoot,
        verbose: config.verboseContainerLocatorLogs,
        logger,
        procRoot,
      });
      const source = {
        fetchPods: (signal: AbortSignal) => client.fetchPods(signal),
        minIntervalMs: config.pollRetryIntervalMs,
        // The fetcher closes the client (its kept-alive connections) when this source is replaced or closed.
        // A client dropped by a failed apply was never used: it holds no connection.
        close: () => client.close(),
      };
      const previous = active;
      const kept = previous !== null && samePodSource(previous.config, config) ? fetcher : null;
      const pods = kept ?? new PodListFetcher({ clock, logger: fetcherLogger });
      pods.configure(source);
      if (kept === null && fetcher !== null) {
        // A clean cut: the old fetcher aborts its request and releases its waiters; its cache goes with it.
        retired = Promise.all([retired, fetcher.close()]);
        logger.info(
          "New pod source settings: discarded the cached pod list; attestations in progress will fail",
        );
      }
      fetcher = pods;
      const core = createAttestCore({ locator, pods, logger, config, imageVerifier });
      const generation = (previous?.generation ?? 0) + (kept === null ? 1 : 0);
      active = { config, core, modules, pods, kubeletUrl: client.url, generation };
      for (const w of configureWarnings(config)) logger.warn(w.message, w.fields);
      if (platform.name === "unix") {
        if (config.useNewContainerLocator) logger.info("Using the new container locator");
        else {logger.warn(
            "Using the legacy container locator. This option will be removed in a future release.",
          );}
      }
    },
    attest(pid: number, signal: AbortSignal): Promise<string[]> {
      return run((core, started) =>
        started.config.enableNamespaceLabels
          ? started.modules.attestWithNamespaceLabels(core, apiServer, pid, signal)
          : core.attest(pid, signal)
      );
    },
    attestReference(request: ReferenceRequest, signal: AbortSignal): Promise<string[]> {
      return run(async (core, started) => {
        const { attestReference } = await import("./broker/attest_reference.ts");
        const deps = { config: started.config, core, pods: started.pods, api: apiServer, logger };
        return await attestReference(deps, request, signal);
      });
    },
    attestDetailed(pid: number, signal: AbortSignal): Promise<AttestResult> {
      return run((core) => core.attestDetailed(pid, signal));
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await Promise.all([retired, fetcher?.close()]);
    },
  };
}
