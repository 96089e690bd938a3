/**
 * The one door to the API server code for modules loaded at start-up: it imports `access.ts` (and with it
 * the client, TLS and namespace-label code) only when a feature first needs it, and keeps one access per
 * holder. An agent without namespace labels or brokers never loads any of it.
 *
 * @module
 */

import { AttestorError } from "../errors.ts";
import type { ApiServerAccess, ApiServerAccessOptions } from "./access.ts";

export type { ApiServerAccess, ApiServerAccessOptions } from "./access.ts";

/** Gives the API server access, created on the first call. */
export type ApiServerAccessGetter = () => Promise<ApiServerAccess>;

/**
 * A getter that creates the access on its first call (a failure is not kept: the next call tries again,
 * e.g. once the service-account files exist).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lazyApiServerAccess } from "./lazy.ts";
 * const get = lazyApiServerAccess({ getenv: () => undefined });
 * await assert.rejects(get(), { reason: "apiserver-failed", message: /^unable to set up Kubernetes client: / });
 * ```
 *
 * @param options Passed to `createApiServerAccess`.
 * @returns The getter.
 */
export function lazyApiServerAccess(options: ApiServerAccessOptions = {}): ApiServerAccessGetter {
  let access: Promise<ApiServerAccess> | null = null;
  return () => {
    access ??= import("./access.ts").then((m) => m.createApiServerAccess(options)).catch((err) => {
      access = null;
      const text = err instanceof Error ? err.message : String(err);
      throw new AttestorError("apiserver-failed", `unable to set up Kubernetes client: ${text}`, {
        cause: err,
      });
    });
    return access;
  };
}
