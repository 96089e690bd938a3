/**
 * The production composition of image-signature verification: the OCI registry client
 * (`src/oci/registry.ts`), the per-signature check (`verify_signature.ts`) and the trust loader
 * (`trust.ts`) behind the verifier factory (`factory.ts`). The runtime imports this module dynamically,
 * on the first Configure whose configuration has a sigstore block, so nothing of sigstore, X.509 or TUF is
 * loaded by a plugin that does not verify signatures.
 *
 * @module
 */

import { createRegistryClient } from "../oci/registry.ts";
import type { Logger } from "../log.ts";
import {
  createCurrentSigstoreVerifierFactory,
  createSigstoreVerifierFactory,
  type CurrentSigstoreVerifierFactory,
  type SigstoreVerifierFactory,
} from "./factory.ts";
import { loadSigstoreTrust } from "./trust.ts";
import { verifySignature } from "./verify_signature.ts";

/** What the real parts read from the plugin's process. */
export interface DefaultSigstoreOptions {
  /** Reads the plugin's environment (`DOCKER_CONFIG`, `HOME`). */
  readonly env: (name: string) => string | undefined;
  /** The registry client's logger (debug notes about unused docker config entries). */
  readonly logger?: Logger;
}

/**
 * The verifier factory over the real registry client, signature check and trust loader. Registry
 * credentials come from the docker `config.json` in `$DOCKER_CONFIG` (or `$HOME/.docker`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createDefaultSigstoreFactory } from "./setup.ts";
 * const factory = createDefaultSigstoreFactory({ env: () => undefined });
 * assert.equal(typeof factory, "function");
 * ```
 *
 * @param options Where the environment is read.
 * @returns The factory the runtime calls at every Configure with a sigstore block.
 */
export function createDefaultSigstoreFactory(options: DefaultSigstoreOptions): SigstoreVerifierFactory {
  const registry = createRegistryClient({
    ...(options.logger ? { logger: options.logger } : {}),
    getEnv: options.env,
  });
  return createSigstoreVerifierFactory({
    registry,
    checkSignature: verifySignature,
    loadTrust: loadSigstoreTrust,
  });
}

/**
 * The verifier factory of the top-level `sigstore` block over the real registry client and trust loader.
 * Every Configure gets its own registry client with the block's `registry_credentials` (they take
 * precedence over the docker `config.json` for their registry).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createDefaultCurrentSigstoreFactory } from "./setup.ts";
 * const factory = createDefaultCurrentSigstoreFactory({ env: () => undefined });
 * assert.equal(typeof factory, "function");
 * ```
 *
 * @param options Where the environment is read.
 * @returns The factory the runtime calls at every Configure with a top-level `sigstore` block.
 */
export function createDefaultCurrentSigstoreFactory(
  options: DefaultSigstoreOptions,
): CurrentSigstoreVerifierFactory {
  return createCurrentSigstoreVerifierFactory({
    registryFor: (settings) =>
      createRegistryClient({
        ...(options.logger ? { logger: options.logger } : {}),
        getEnv: options.env,
        credentials: settings.registryCredentials,
      }),
    loadTrust: loadSigstoreTrust,
  });
}
