/**
 * Builds the sigstore verifier of one configuration from its three parts: the registry client, the
 * per-signature check and the trust loader. The runtime calls the factory at every Configure whose
 * configuration has an `experimental.sigstore` block; `src/sigstore/setup.ts` composes the real parts:
 *
 * ```ts ignore
 * createSigstoreVerifierFactory({
 *   registry: createRegistryClient({ dockerConfigDir: Deno.env.get("DOCKER_CONFIG") }),
 *   checkSignature: verifySignature,
 *   loadTrust: loadSigstoreTrust,
 * })
 * ```
 *
 * @module
 */

import { AttestorError, errorMessage } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { RegistryClient } from "../oci/types.ts";
import type { SignatureCheck, SigstoreTrust, TrustLoader } from "./types.ts";
import { createSigstoreVerifier, type SigstoreVerifier, type VerifierSettings } from "./verifier.ts";
import type { SigstoreCurrentConfig } from "../config/types.ts";
import { createCurrentSigstoreVerifier } from "./verifier_current.ts";

/** The parts a verifier is made of. */
export interface SigstoreParts {
  /** Reads manifests and blobs (shared by every configuration). */
  readonly registry: RegistryClient;
  /** Checks one signature. */
  readonly checkSignature: SignatureCheck;
  /** Loads the trust material at Configure. */
  readonly loadTrust: TrustLoader;
}

/** What a Configure gives the factory besides the settings. */
export interface VerifierContext {
  /** The verifier's logger. */
  readonly logger: Logger;
  /** Reads the plugin's environment (`SIGSTORE_ROOT_FILE`, …). */
  readonly env: (name: string) => string | undefined;
  /** The TUF cache directory (see `tuf_cache.ts`). */
  readonly tufCachePath: string;
  /** Ends the trust loading (Configure's time limit). */
  readonly signal?: AbortSignal;
}

/** Builds the verifier of one configuration: trust loaded, cache empty. */
export type SigstoreVerifierFactory = (
  settings: VerifierSettings,
  context: VerifierContext,
) => Promise<SigstoreVerifier>;

/** Loads the trust material for the block `block`; a failure becomes Configure's `bad-config` naming it. */
async function loadTrustFor(
  block: string,
  loadTrust: TrustLoader,
  context: VerifierContext,
): Promise<SigstoreTrust> {
  try {
    return await loadTrust({ env: context.env, tufCachePath: context.tufCachePath, signal: context.signal });
  } catch (err) {
    throw new AttestorError(
      "bad-config",
      `${block}: cannot load the sigstore trust material: ${errorMessage(err)}`,
      { cause: err },
    );
  }
}

/**
 * The factory over `parts`. Trust that cannot be loaded fails Configure with `bad-config`
 * `experimental.sigstore: cannot load the sigstore trust material: <the loader's message, which names the
 * file or TUF step>`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createSigstoreVerifierFactory } from "./factory.ts";
 * import { nullLogger } from "../log.ts";
 * const factory = createSigstoreVerifierFactory({
 *   registry: { getManifest: () => Promise.resolve(null), getBlob: () => Promise.reject(new Error("none")) },
 *   checkSignature: () => Promise.reject(new Error("none")),
 *   loadTrust: () => Promise.reject(new Error("SIGSTORE_ROOT_FILE=/x: no PEM certificate")),
 * });
 * const settings = { skipSignatureVerificationImageList: [], allowedSubjects: new Map(),
 *   rekorUrl: "https://rekor.example/", enforceSct: true };
 * await assert.rejects(
 *   factory(settings, { logger: nullLogger, env: () => undefined, tufCachePath: "/tmp/none" }),
 *   { reason: "bad-config", message: /cannot load the sigstore trust material: SIGSTORE_ROOT_FILE=\/x/ },
 * );
 * ```
 *
 * @param parts The registry client, signature check and trust loader.
 * @returns The factory.
 */
export function createSigstoreVerifierFactory(parts: SigstoreParts): SigstoreVerifierFactory {
  return async (settings, context) => {
    const trust = await loadTrustFor("experimental.sigstore", parts.loadTrust, context);
    context.logger.info("Sigstore image signature verification enabled", {
      trust: trust.source,
      fulcio_roots: trust.fulcioRoots.length,
      rekor_keys: trust.rekorKeys.length,
      ct_log_keys: trust.ctLogKeys.length,
      enforce_sct: settings.enforceSct,
    });
    return createSigstoreVerifier({
      settings,
      trust,
      registry: parts.registry,
      checkSignature: parts.checkSignature,
      logger: context.logger,
    });
  };
}

/** Builds the verifier of one configuration of the top-level `sigstore` block: trust loaded, cache empty. */
export type CurrentSigstoreVerifierFactory = (
  settings: SigstoreCurrentConfig,
  context: VerifierContext,
) => Promise<SigstoreVerifier>;

/** The parts of a current-form verifier. */
export interface CurrentSigstoreParts {
  /** The registry client of one configuration (its `registry_credentials`). */
  readonly registryFor: (settings: SigstoreCurrentConfig) => RegistryClient;
  /** Loads the trust material at Configure. */
  readonly loadTrust: TrustLoader;
}

/**
 * The factory of the current form over `parts`. Trust that cannot be loaded fails Configure with
 * `bad-config` `sigstore: cannot load the sigstore trust material: <the loader's message>`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createCurrentSigstoreVerifierFactory } from "./factory.ts";
 * import { nullLogger } from "../log.ts";
 * const factory = createCurrentSigstoreVerifierFactory({
 *   registryFor: () => ({ getManifest: () => Promise.resolve(null), getBlob: () => Promise.reject(new Error("none")) }),
 *   loadTrust: () => Promise.reject(new Error("SIGSTORE_ROOT_FILE=/x: no PEM certificate")),
 * });
 * const settings = { allowedIdentities: new Map([["https://i", ["s"]]]), skippedImages: [],
 *   rekorUrl: "https://rekor.example", ignoreSct: false, ignoreTlog: false, ignoreAttestations: false,
 *   registryCredentials: new Map(), ignoredCredentials: [] };
 * await assert.rejects(
 *   factory(settings, { logger: nullLogger, env: () => undefined, tufCachePath: "/tmp/none" }),
 *   { reason: "bad-config", message: /^sigstore: cannot load the sigstore trust material: SIGSTORE_ROOT_FILE=\/x/ },
 * );
 * ```
 *
 * @param parts The registry client maker and the trust loader.
 * @returns The factory.
 */
export function createCurrentSigstoreVerifierFactory(
  parts: CurrentSigstoreParts,
): CurrentSigstoreVerifierFactory {
  return async (settings, context) => {
    const trust = await loadTrustFor("sigstore", parts.loadTrust, context);
    context.logger.info("Sigstore image signature verification enabled", {
      trust: trust.source,
      fulcio_roots: trust.fulcioRoots.length,
      rekor_keys: trust.rekorKeys.length,
      ct_log_keys: trust.ctLogKeys.length,
      ignore_sct: settings.ignoreSct,
      ignore_tlog: settings.ignoreTlog,
      ignore_attestations: settings.ignoreAttestations,
    });
    return createCurrentSigstoreVerifier({
      settings,
      trust,
      registry: parts.registryFor(settings),
      logger: context.logger,
    });
  };
}
