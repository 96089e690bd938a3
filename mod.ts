/**
 * k8s-attestor: a SPIRE WorkloadAttestor plugin for Kubernetes, run by spire-agent as an external
 * go-plugin (gRPC over a unix socket, or 127.0.0.1 TCP on Windows).
 *
 * Run as a program, this module is the plugin binary: `deno run -A --no-prompt mod.ts` serves the plugin
 * when spire-agent starts it, and `--help`, `--version`, `locate` and `attest` work from a shell.
 *
 * Imported, it gives an embedder the real plugin and its parts:
 *
 * - {@linkcode createAttestorPlugin}: the plugin (real configuration builder, real attestation runtime on
 *   the current platform unless another runtime or platform is given): Configure, Validate, Attest, deinit;
 * - {@linkcode createRuntime} and {@linkcode platformFor}: the attestation runtime for a platform, which
 *   owns the configuration in force; {@linkcode buildConfig}: `plugin_data` text to a typed configuration;
 * - {@linkcode createPluginServices}: the gRPC services' handlers as plain functions (no socket), with
 *   {@linkcode settleUnary} giving the status the host would receive;
 * - {@linkcode servePlugin} (the whole go-plugin process lifecycle), {@linkcode createPluginServer} (the
 *   grpc-js server, without a listener) and {@linkcode main} (the command line);
 * - {@linkcode AttestorError}, the loggers and the types.
 *
 * @example Attesting in process with the real plugin
 * ```ts
 * import assert from "node:assert/strict";
 * import { createAttestorPlugin, createPluginServices, nullLogger, settleUnary } from "./mod.ts";
 *
 * const plugin = createAttestorPlugin({ logger: nullLogger });
 * const core = { trustDomain: "example.org" };
 * await assert.rejects(plugin.attest(Deno.pid, AbortSignal.timeout(5000)), {
 *   reason: "not-configured",
 *   message: "not configured",
 * });
 * assert.deepEqual(plugin.validate("kubelet_read_only_port = 10255", core), { valid: true, notes: [] });
 * await plugin.configure("kubelet_read_only_port = 10255", core);
 * await assert.rejects(plugin.attest(0, AbortSignal.timeout(5000)), { reason: "bad-request" });
 *
 * // The gRPC handlers over the same plugin, and the status spire-agent would receive.
 * const services = createPluginServices({ plugin, logger: nullLogger });
 * const outcome = await settleUnary("Health/Check", nullLogger, () => services.health.check({ service: "x" }));
 * assert.deepEqual([outcome.error?.code, outcome.error?.details], [5, 'unknown service "x"']); // NOT_FOUND
 * await services.init.deinit({});
 * ```
 *
 * @example Serving the plugin from another entry point
 * ```ts ignore
 * import { main } from "./mod.ts";
 * Deno.exit(await main(Deno.args));
 * ```
 *
 * @module
 */
import { main } from "./src/cli/main.ts";

export { AttestorError, ERROR_REASONS } from "./src/errors.ts";
export type { ErrorReason } from "./src/errors.ts";
export { main, versionText } from "./src/cli/main.ts";
export type { MainOptions } from "./src/cli/main.ts";
export { buildConfig } from "./src/config/build.ts";
export type { BuildConfigOptions, BuildResult } from "./src/config/build.ts";
export type { Config, SigstoreConfig } from "./src/config/types.ts";
export { createAttestorPlugin } from "./src/plugin/plugin.ts";
export type { AttestorPluginOptions, BuildConfigFn, BuildResultLike } from "./src/plugin/plugin.ts";
export { createRuntime, samePodSource } from "./src/runtime.ts";
export type { Runtime, RuntimeOptions } from "./src/runtime.ts";
export type { AttestResult } from "./src/core/attest.ts";
export { platformFor } from "./src/platform/mod.ts";
export type { ContainerLocation, ContainerLocator, LocatorOptions, Platform } from "./src/platform/mod.ts";
export { createPluginServices, PLUGIN_SERVICE_NAMES, settleUnary } from "./src/plugin/services.ts";
export type { PluginServices, PluginServicesOptions, UnaryOutcome } from "./src/plugin/services.ts";
export { callAbortSignal, createPluginServer } from "./src/plugin/server.ts";
export type { CancellableCall, PluginServer, PluginServerOptions } from "./src/plugin/server.ts";
export { servePlugin } from "./src/plugin/serve.ts";
export type { ServeOptions } from "./src/plugin/serve.ts";
export type { Transport } from "./src/plugin/listener.ts";
export type {
  AttestorPlugin,
  AttestorRuntime,
  CoreConfiguration,
  ValidationResult,
} from "./src/plugin/types.ts";
export { createHclogLogger, nullLogger } from "./src/log.ts";
export type { HclogOptions, LogFields, Logger, LogLevel } from "./src/log.ts";

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
