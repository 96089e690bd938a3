/**
 * k8s-attestor: a SPIRE WorkloadAttestor plugin for Kubernetes, run by spire-agent as an external
 * go-plugin (gRPC over a unix socket, or 127.0.0.1 TCP on Windows).
 *
 * Run as a program, this module is the plugin binary: `deno run -A --no-prompt mod.ts` serves the plugin
 * when spire-agent starts it, and `--help`, `--version` and `locate` work from a shell. Imported, it
 * exposes the building blocks: the error type, the plugin factory, the gRPC server, and the process
 * lifecycle.
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

export { AttestorError } from "./src/errors.ts";
export type { ErrorCode } from "./src/errors.ts";
export { main, versionText } from "./src/cli/main.ts";
export type { MainOptions } from "./src/cli/main.ts";
export { createAttestorPlugin } from "./src/plugin/plugin.ts";
export type { AttestorPluginOptions, BuildConfigFn, BuildResultLike } from "./src/plugin/plugin.ts";
export { createPluginServer, PLUGIN_SERVICE_NAMES } from "./src/plugin/server.ts";
export type { PluginServer, PluginServerOptions } from "./src/plugin/server.ts";
export { servePlugin } from "./src/plugin/serve.ts";
export type { ServeOptions } from "./src/plugin/serve.ts";
export type { Transport } from "./src/plugin/listener.ts";
export type {
  AttestorPlugin,
  AttestorRuntime,
  CoreConfiguration,
  ValidationResult,
} from "./src/plugin/types.ts";
export type { Config, SigstoreConfig } from "./src/config/types.ts";
export type { LogFields, Logger, LogLevel } from "./src/log.ts";

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
