/**
 * The plugin process lifecycle under a go-plugin host (spire-agent):
 *
 * 1. check the magic cookie `WorkloadAttestor=WorkloadAttestor` (else a human message on stderr, exit 1);
 * 2. check `PLUGIN_PROTOCOL_VERSIONS` lists version 1 (else an error log line, exit 1);
 * 3. send every `console.*` call to the hclog logger, so nothing but the handshake reaches stdout, and
 *    install global error handlers that log and keep serving;
 * 4. listen, then print exactly `1|1|unix|<socket>|grpc|` (or `1|1|tcp|127.0.0.1:<port>|grpc|`);
 * 5. serve until `GRPCController/Shutdown`, SIGTERM, or the host connection has been gone for a while;
 *    SIGINT is ignored (logged), as go-plugin servers do;
 * 6. close the server, remove the socket and its directory, and report exit code 0.
 *
 * @module
 */

import { format } from "node:util";
import { loadHclParser } from "../config/hcl_parser.ts";
import { describeError } from "../errors.ts";
import { createHclogLogger, type Logger } from "../log.ts";
import { listen, type PluginListener, type Transport } from "./listener.ts";
import { createPluginServer } from "./server.ts";
import type { AttestorPlugin } from "./types.ts";
import { writeAllSync } from "../io.ts";
import { createNativeHeapTrimmer, type NativeHeapTrimmer } from "../memory/malloc_trim.ts";

/** The cookie key and value spire-agent sets for a WorkloadAttestor. */
export const MAGIC_COOKIE_KEY = "WorkloadAttestor";
/** See {@linkcode MAGIC_COOKIE_KEY}. */
export const MAGIC_COOKIE_VALUE = "WorkloadAttestor";

/** What a person sees when running the plugin directly. */
export const NOT_A_COMMAND_MESSAGE: string = [
  "This binary is a plugin. It is not meant to be executed directly.",
  "It is a SPIRE WorkloadAttestor plugin: configure it in spire-agent with plugin_cmd, and spire-agent",
  "will start it (spire-agent sets the WorkloadAttestor=WorkloadAttestor environment variable).",
  "Run it with --help for its options and configuration keys, or --version for its version.",
].join("\n") + "\n";

/** Options of {@linkcode servePlugin}. */
export interface ServeOptions {
  /** `unix` or `tcp` (the platform's choice; Windows uses tcp). */
  readonly transport: Transport;
  /** Reads environment variables. @default {Deno.env.get} */
  readonly getenv?: (name: string) => string | undefined;
  /** Builds the attestor once the process is known to run under a host. */
  readonly createPlugin: (logger: Logger) => AttestorPlugin;
  /** Where log lines go. @default {an hclog logger on stderr} */
  readonly logger?: Logger;
  /** Writes raw text to stdout (the handshake line only). @default {synchronous writes to fd 1} */
  readonly writeStdout?: (text: string) => void;
  /** Writes raw text to stderr (the cookie message only). @default {synchronous writes to fd 2} */
  readonly writeStderr?: (text: string) => void;
  /** How long the host may stay disconnected before the process exits. @default {10000} */
  readonly hostGoneTimeoutMs?: number;
}

/**
 * The plugin with every Configure, Validate and Attest noted as activity (after which the C heap is trimmed,
 * see {@linkcode createNativeHeapTrimmer}); the answers are the plugin's own.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { withActivityNoted } from "./serve.ts";
 * import { createAttestorPlugin } from "./plugin.ts";
 * import { nullLogger } from "../log.ts";
 * let noted = 0;
 * const plugin = withActivityNoted(createAttestorPlugin({ logger: nullLogger }), () => noted++);
 * assert.equal(plugin.validate("kubelet_read_only_port = 10255", { trustDomain: "example.org" }).valid, true);
 * await assert.rejects(plugin.attest(1, AbortSignal.timeout(5000)), { reason: "not-configured" });
 * assert.equal(noted, 2);
 * await plugin.deinit();
 * ```
 *
 * @param plugin The plugin.
 * @param noteActivity Called at the start of each such call.
 * @returns The same plugin, observed.
 */
export function withActivityNoted(plugin: AttestorPlugin, noteActivity: () => void): AttestorPlugin {
  return {
    configure(hcl, core) {
      noteActivity();
      return plugin.configure(hcl, core);
    },
    validate(hcl, core) {
      noteActivity();
      return plugin.validate(hcl, core);
    },
    attest(pid, signal) {
      noteActivity();
      return plugin.attest(pid, signal);
    },
    attestReference(request, signal) {
      noteActivity();
      return plugin.attestReference(request, signal);
    },
    deinit() {
      return plugin.deinit();
    },
  };
}

/** How long the final resource release may take (the host kills the process 2 s after Shutdown). */
const DEINIT_BOUND_MS = 1000;

/**
 * Checks the `PLUGIN_PROTOCOL_VERSIONS` list the host sent.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { acceptsProtocolVersion1 } from "./serve.ts";
 * assert.equal(acceptsProtocolVersion1("1"), true);
 * assert.equal(acceptsProtocolVersion1(undefined), true);
 * assert.equal(acceptsProtocolVersion1("2,3"), false);
 * ```
 *
 * @param value The variable's value; unset or empty means the host did not negotiate (version 1).
 * @returns Whether version 1 is acceptable to the host.
 */
export function acceptsProtocolVersion1(value: string | undefined): boolean {
  if (value === undefined || value.trim() === "") return true;
  return value.split(",").some((v) => v.trim() === "1");
}

/**
 * Sends `console.log/info/debug/trace/dir/warn/error` to `logger`, one hclog line per call.
 *
 * @param logger The destination.
 * @returns A function that restores the original console methods.
 */
export function redirectConsole(logger: Logger): () => void {
  const target = globalThis.console;
  const saved = {
    log: target.log,
    info: target.info,
    debug: target.debug,
    trace: target.trace,
    dir: target.dir,
    warn: target.warn,
    error: target.error,
  };
  const fields = { source: "console" };
  target.log = (...args: unknown[]) => logger.info(format(...args), fields);
  target.info = (...args: unknown[]) => logger.info(format(...args), fields);
  target.debug = (...args: unknown[]) => logger.debug(format(...args), fields);
  target.trace = (...args: unknown[]) => logger.debug(format(...args), fields);
  target.dir = (item: unknown) => logger.debug(format(item), fields);
  target.warn = (...args: unknown[]) => logger.warn(format(...args), fields);
  target.error = (...args: unknown[]) => logger.error(format(...args), fields);
  return () => Object.assign(target, saved);
}

/**
 * Runs the plugin process until the host stops it.
 *
 * @example The entry point of a plugin binary
 * ```ts ignore
 * import { servePlugin } from "./serve.ts";
 * const code = await servePlugin({ transport: "unix", createPlugin: (logger) => makePlugin(logger) });
 * Deno.exit(code);
 * ```
 *
 * @param options Transport, environment, plugin factory and I/O hooks.
 * @returns The exit code: 0 after an orderly stop, 1 when the process must not (or could not) serve.
 */
export async function servePlugin(options: ServeOptions): Promise<number> {
  const getenv = options.getenv ?? ((name: string) => Deno.env.get(name));
  const writeStdout = options.writeStdout ?? ((text: string) => writeAllSync(Deno.stdout, text));
  const writeStderr = options.writeStderr ?? ((text: string) => writeAllSync(Deno.stderr, text));
  const hostGoneTimeoutMs = options.hostGoneTimeoutMs ?? 10_000;

  if (getenv(MAGIC_COOKIE_KEY) !== MAGIC_COOKIE_VALUE) {
    writeStderr(NOT_A_COMMAND_MESSAGE);
    return 1;
  }
  const logger = options.logger ?? createHclogLogger();
  const versions = getenv("PLUGIN_PROTOCOL_VERSIONS");
  if (!acceptsProtocolVersion1(versions)) {
    logger.error("the host does not accept plugin protocol version 1", {
      plugin_protocol_versions: versions,
    });
    return 1;
  }

  const restoreConsole = redirectConsole(logger);
  const onError = (event: ErrorEvent) => {
    event.preventDefault();
    logger.error("uncaught exception", describeError(event.error ?? event.message));
  };
  const onRejection = (event: PromiseRejectionEvent) => {
    event.preventDefault();
    logger.error("unhandled promise rejection", describeError(event.reason));
  };
  globalThis.addEventListener("error", onError);
  globalThis.addEventListener("unhandledrejection", onRejection);

  let resolveStopped!: (reason: string) => void;
  const stopRequested = new Promise<string>((resolve) => resolveStopped = resolve);
  const requestStop = (reason: string) => resolveStopped(reason);

  const signalListeners: Array<[Deno.Signal, () => void]> = [
    ["SIGINT", () => logger.info("plugin received interrupt signal, ignoring")],
    ["SIGTERM", () => requestStop("SIGTERM")],
  ];
  const installed: Array<[Deno.Signal, () => void]> = [];
  for (const [signal, handler] of signalListeners) {
    try {
      Deno.addSignalListener(signal, handler);
      installed.push([signal, handler]);
    } catch {
      // Not every signal exists on every OS (SIGTERM on Windows); the host stops us with Shutdown.
    }
  }

  let plugin: AttestorPlugin | null = null;
  // Gives the C heap's free pages back a little while after the start-up and after bursts of calls.
  const trimmer: NativeHeapTrimmer = createNativeHeapTrimmer({ logger });
  let server: ReturnType<typeof createPluginServer> | null = null;
  let listener: PluginListener | null = null;
  let hostGoneTimer: ReturnType<typeof setTimeout> | undefined;
  let everConnected = false;
  let exitCode = 0;
  try {
    plugin = withActivityNoted(options.createPlugin(logger), trimmer.noteActivity);
    const srv = createPluginServer({
      plugin,
      logger,
      onShutdownRequested: () => requestStop("shutdown requested by the host"),
    });
    server = srv;
    listener = await listen({
      transport: options.transport,
      getenv,
      logger,
      onConnection: (socket) => srv.injectConnection(socket),
      onConnectionCountChange: (open) => {
        clearTimeout(hostGoneTimer);
        hostGoneTimer = undefined;
        if (open > 0) {
          everConnected = true;
        } else if (everConnected) {
          hostGoneTimer = setTimeout(() => requestStop("the host connection is gone"), hostGoneTimeoutMs);
        }
      },
    });
    writeStdout(`1|1|${listener.network}|${listener.address}|grpc|\n`);
    logger.debug("plugin serving", { network: listener.network, address: listener.address });
    // The HCL parser is not loaded before the handshake (it is a large part of the start-up); load it now,
    // while the host connects, so that the first Configure need not wait for it (it awaits it anyway).
    void loadHclParser();
    const reason = await stopRequested;
    logger.debug("plugin stopping", { reason });
  } catch (err) {
    logger.error("plugin failed to start", describeError(err));
    exitCode = 1;
  } finally {
    clearTimeout(hostGoneTimer);
    trimmer.stop();
    // Destroy the connections at once, before the gRPC server, and without waiting for the Shutdown reply
    // to flush (the host ignores it; a Go plugin also exits before it is sent). (With grpc-js on
    // node:http2 the other order tripped an nghttp2 assertion in Deno 2.9.6; the plugin's own transport
    // has no such state, and this order stays the simplest.)
    if (listener) await listener.close();
    server?.close();
    if (plugin) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<void>((resolve) => timer = setTimeout(resolve, DEINIT_BOUND_MS));
      try {
        await Promise.race([plugin.deinit(), timeout]);
      } catch (err) {
        logger.warn("releasing plugin resources failed", describeError(err));
      } finally {
        clearTimeout(timer);
      }
    }
    for (const [signal, handler] of installed) Deno.removeSignalListener(signal, handler);
    globalThis.removeEventListener("error", onError);
    globalThis.removeEventListener("unhandledrejection", onRejection);
    restoreConsole();
  }
  return exitCode;
}
