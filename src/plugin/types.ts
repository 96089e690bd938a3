/**
 * The contract between the gRPC edge (`src/plugin/server.ts`) and the attestor behind it. The server only
 * translates wire messages and maps {@linkcode AttestorError} codes to gRPC statuses; everything else lives
 * behind this interface.
 *
 * @module
 */

import type { CoreConfiguration } from "../config/types.ts";

// The core configuration is the config layer's input: it lives there (config never imports plugin).
export type { CoreConfiguration } from "../config/types.ts";

/** What `Validate` answers. */
export interface ValidationResult {
  /** True when the configuration would be accepted. */
  readonly valid: boolean;
  /** One note per problem, each naming the key (and line, for HCL syntax). */
  readonly notes: readonly string[];
}

/** One `AttestReference` call as the plugin sees it. */
export interface ReferenceRequest {
  /** The request's `google.protobuf.Any`, or null when the request has none. */
  readonly reference: { readonly typeUrl: string; readonly value: Uint8Array } | null;
  /** The values of the call's `spire-agent-broker-caller-id` metadata (the broker's SPIFFE ID). */
  readonly brokerCallerIds: readonly string[];
}

/** The plugin as the gRPC services see it. Methods throw `AttestorError`. */
export interface AttestorPlugin {
  /**
   * Parses and applies `plugin_data`. On failure throws a `bad-config` {@linkcode AttestorError} listing
   * every problem, and the previous configuration stays in force.
   */
  configure(hcl: string, core: CoreConfiguration | null): Promise<void>;
  /** Checks a configuration without applying anything and without touching files or the network. */
  validate(hcl: string, core: CoreConfiguration | null): ValidationResult;
  /**
   * Attests `pid`: selector values (without the `k8s:` type), sorted and de-duplicated; `[]` when the
   * process is not in a container. Throws `not-configured "not configured"` before a successful
   * configure (the runtime's answer: the runtime owns the configuration state).
   */
  attest(pid: number, signal: AbortSignal): Promise<string[]>;
  /**
   * Attests a Broker API reference (`src/broker/attest_reference.ts`): selector values, sorted and
   * de-duplicated. Throws like {@linkcode AttestorPlugin.attest} before a configure and after deinit.
   */
  attestReference(request: ReferenceRequest, signal: AbortSignal): Promise<string[]>;
  /** Releases resources before unload. */
  deinit(): Promise<void>;
}

/**
 * The attestation machinery behind a configured plugin (locator + kubelet fetcher + selector core). The
 * plugin keeps one runtime for its lifetime and hands it each accepted configuration. The runtime is the one
 * owner of the configuration state: the plugin keeps none.
 */
export interface AttestorRuntime {
  /**
   * Applies a validated configuration (builds kubelet credentials, locator, ...). Throws a `bad-config`
   * {@linkcode AttestorError} when it cannot (e.g. an unreadable CA file); the previous configuration then
   * stays in force.
   */
  apply(config: import("../config/types.ts").Config): Promise<void>;
  /**
   * Attests `pid` with the configuration last applied. Throws `not-configured "not configured"` when no
   * configuration was ever applied, and `shutting-down "the plugin is shutting down"` after close.
   */
  attest(pid: number, signal: AbortSignal): Promise<string[]>;
  /** Attests a Broker API reference with the configuration last applied (same states as `attest`). */
  attestReference(request: ReferenceRequest, signal: AbortSignal): Promise<string[]>;
  /** Stops background work and releases resources. Idempotent. */
  close(): Promise<void>;
}
