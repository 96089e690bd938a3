/**
 * Where the Kubernetes API server is and how to authenticate to it, from the pod's in-cluster
 * configuration, as client-go's `rest.InClusterConfig` finds it: the `KUBERNETES_SERVICE_HOST` and
 * `KUBERNETES_SERVICE_PORT` variables, the service-account token and the cluster CA at their standard
 * paths. Nothing here reads a file: {@linkcode inClusterLocation} only resolves names (the client reads the
 * files, with a bounded cache, see `client.ts`).
 *
 * @module
 */

import { isIP } from "node:net";
import { AttestorError } from "../errors.ts";

/** The directory of the projected service-account credentials in every pod. */
export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** Where the API server is and which files authenticate to it. */
export interface InClusterLocation {
  /** The host to connect to (no brackets around an IPv6 address). */
  readonly host: string;
  /** The TCP port. */
  readonly port: number;
  /** `https://<host>:<port>` (brackets around an IPv6 address), for messages. */
  readonly baseUrl: string;
  /** The bearer token file (`<dir>/token`). */
  readonly tokenPath: string;
  /** The CA bundle that verifies the API server (`<dir>/ca.crt`). */
  readonly caPath: string;
}

/** Options of {@linkcode inClusterLocation}. */
export interface InClusterOptions {
  /** Reads an environment variable. @default {Deno.env.get; a missing permission reads as unset} */
  readonly getenv?: (name: string) => string | undefined;
  /** The service-account directory (tests point it elsewhere). @default {SERVICE_ACCOUNT_DIR} */
  readonly serviceAccountDir?: string;
}

function defaultGetenv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/**
 * Resolves the in-cluster API server location. Fails like client-go when either variable is unset, and
 * also (stricter) when the port is not a TCP port or the host is not a plain host name or IP address.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { inClusterLocation } from "./in_cluster.ts";
 * const env: Record<string, string> = { KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443" };
 * const loc = inClusterLocation({ getenv: (n) => env[n] });
 * assert.equal(loc.baseUrl, "https://10.96.0.1:443");
 * assert.equal(loc.tokenPath, "/var/run/secrets/kubernetes.io/serviceaccount/token");
 * assert.throws(() => inClusterLocation({ getenv: () => undefined }), { reason: "apiserver-failed" });
 * ```
 *
 * @param options Environment and directory.
 * @returns The location.
 * @throws {AttestorError} `apiserver-failed` when the variables are unset or unusable.
 */
export function inClusterLocation(options: InClusterOptions = {}): InClusterLocation {
  const getenv = options.getenv ?? defaultGetenv;
  const host = getenv("KUBERNETES_SERVICE_HOST") ?? "";
  const portText = getenv("KUBERNETES_SERVICE_PORT") ?? "";
  if (host === "" || portText === "") {
    throw new AttestorError(
      "apiserver-failed",
      "unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined",
    );
  }
  const port = /^[0-9]{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65535)) {
    throw new AttestorError(
      "apiserver-failed",
      "unable to load in-cluster configuration: KUBERNETES_SERVICE_PORT is not a TCP port",
    );
  }
  const ipv6 = isIP(host) === 6;
  if (!ipv6 && !/^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/.test(host)) {
    throw new AttestorError(
      "apiserver-failed",
      "unable to load in-cluster configuration: KUBERNETES_SERVICE_HOST is not a host name or IP address",
    );
  }
  const dir = (options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR).replace(/\/+$/, "");
  return {
    host,
    port,
    baseUrl: `https://${ipv6 ? `[${host}]` : host}:${port}`,
    tokenPath: `${dir}/token`,
    caPath: `${dir}/ca.crt`,
  };
}
