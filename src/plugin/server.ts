/**
 * The gRPC server a go-plugin host (spire-agent) talks to, on `@grpc/grpc-js` with the ts-proto generated
 * service definitions from `src/gen/`. What each call does lives in `src/plugin/services.ts` (plain
 * functions, testable without a socket); this module registers those handlers with grpc-js and adds what
 * only a transport has:
 *
 * - `plugin.GRPCBroker/StartStream`: held open, each ConnInfo handed to the services, never ended by us.
 * - `plugin.GRPCStdio/StreamStdio`: held open, nothing sent.
 * - `plugin.GRPCController/Shutdown`: replies, then asks the process to stop.
 * - `grpc.health.v1.Health/Watch`: sends the one status, then holds the stream.
 * - `WorkloadAttestor/Attest`: the call's deadline and cancellation become an `AbortSignal`
 *   ({@linkcode callAbortSignal}).
 *
 * Unknown methods get UNIMPLEMENTED from grpc-js itself. Every error response (grpc-js sends
 * Trailers-Only) carries `content-type: application/grpc+proto`, which grpc-go accepts.
 *
 * @module
 */

import * as grpc from "@grpc/grpc-js";
import type { Duplex } from "node:stream";
import { HealthService } from "../gen/grpc/health/v1/health.ts";
import type { HealthServer } from "../gen/grpc/health/v1/health.ts";
import { type ConnInfo, type GRPCBrokerServer, GRPCBrokerService } from "../gen/plugin/grpc_broker.ts";
import { type GRPCControllerServer, GRPCControllerService } from "../gen/plugin/grpc_controller.ts";
import { type GRPCStdioServer, GRPCStdioService } from "../gen/plugin/grpc_stdio.ts";
import { WorkloadAttestorService } from "../gen/spire/plugin/agent/workloadattestor/v1/workloadattestor.ts";
import type { WorkloadAttestorServer } from "../gen/spire/plugin/agent/workloadattestor/v1/workloadattestor.ts";
import { ConfigService } from "../gen/spire/service/common/config/v1/config.ts";
import type { ConfigServer } from "../gen/spire/service/common/config/v1/config.ts";
import { InitService } from "../gen/spire/service/private/init/v1/init.ts";
import type { InitServer } from "../gen/spire/service/private/init/v1/init.ts";
import { loadHclParser } from "../config/hcl_parser.ts";
import { AttestorError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { createPluginServices, settleUnary } from "./services.ts";
import type { AttestorPlugin } from "./types.ts";

export { CONFIG_SERVICE_NAME, PLUGIN_SERVICE_NAMES, WORKLOAD_ATTESTOR_SERVICE_NAME } from "./services.ts";

/** The longest delay a timer supports (2^31 - 1 ms). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Options of {@linkcode createPluginServer}. */
export interface PluginServerOptions {
  /** The attestor behind the services. */
  readonly plugin: AttestorPlugin;
  /** Diagnostics. */
  readonly logger: Logger;
  /** Called once the reply to `GRPCController/Shutdown` has been handed to grpc-js. */
  readonly onShutdownRequested?: () => void;
}

/** The gRPC side of the plugin. */
export interface PluginServer {
  /** The grpc-js server with every service registered. */
  readonly grpcServer: grpc.Server;
  /** Serves gRPC on an accepted connection (unix or TCP socket). */
  injectConnection(connection: Duplex): void;
  /** The latest broker `ConnInfo` the host sent for `serviceId` (SPIRE's host services use id 1). */
  brokerConnInfo(serviceId: number): ConnInfo | undefined;
  /** The host service names received in Init (empty before Init). */
  hostServiceNames(): readonly string[];
  /** Ends every call and connection at once. Idempotent. */
  close(): void;
}

/** The parts of a grpc-js server call that {@linkcode callAbortSignal} reads. */
export interface CancellableCall {
  /** The call's deadline (`Infinity` when there is none). */
  getDeadline(): grpc.Deadline;
  /** Subscribes to the call's `"cancelled"` event (the host cancelled the call or went away). */
  on(event: "cancelled", listener: () => void): unknown;
  /** Unsubscribes. */
  off(event: "cancelled", listener: () => void): unknown;
}

/** Remaining milliseconds until a grpc-js deadline (`Infinity` when there is none). */
function millisUntil(deadline: grpc.Deadline): number {
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  return at - Date.now();
}

/**
 * The `AbortSignal` of a call: aborted with `AttestorError("cancelled", "context canceled")` when the host
 * cancels the call, or `AttestorError("deadline-exceeded", "context deadline exceeded")` when its deadline
 * passes. A deadline beyond what a timer can hold (~24.8 days; longer delays fire at once) is no deadline
 * (grpc-js itself already answers such calls with DEADLINE_EXCEEDED; this keeps our timer honest).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { EventEmitter } from "node:events";
 * import { callAbortSignal } from "./server.ts";
 * const call = Object.assign(new EventEmitter(), { getDeadline: () => Infinity });
 * const { signal, release } = callAbortSignal(call);
 * call.emit("cancelled");
 * assert.equal(signal.reason.reason, "cancelled");
 * release();
 * ```
 *
 * @param call The server call.
 * @returns The signal, and `release` to call when the call is answered (stops the timer and listener).
 */
export function callAbortSignal(call: CancellableCall): { signal: AbortSignal; release: () => void } {
  const abort = new AbortController();
  const onCancel = () => abort.abort(new AttestorError("cancelled", "context canceled"));
  call.on("cancelled", onCancel);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const remaining = millisUntil(call.getDeadline());
  if (Number.isFinite(remaining) && remaining <= MAX_TIMER_MS) {
    timer = setTimeout(
      () => abort.abort(new AttestorError("deadline-exceeded", "context deadline exceeded")),
      Math.max(0, remaining),
    );
  }
  return {
    signal: abort.signal,
    release: () => {
      clearTimeout(timer);
      call.off("cancelled", onCancel);
    },
  };
}

/**
 * The metadata key that carries the broker's SPIFFE ID on `AttestReference` (upstream
 * `pkg/agent/broker/brokercontext`: spire-agent appends it when a Broker API caller is behind the request).
 */
export const BROKER_CALLER_ID_METADATA_KEY = "spire-agent-broker-caller-id";

/**
 * Creates the gRPC server with every service registered. It does not listen: hand it connections with
 * {@linkcode PluginServer.injectConnection} (see `src/plugin/listener.ts`).
 *
 * @example
 * ```ts ignore
 * import { createPluginServer } from "./server.ts";
 * const server = createPluginServer({ plugin, logger, onShutdownRequested: () => stop() });
 * const listener = await listen({ transport: "unix", getenv, logger, onConnection: (s) => server.injectConnection(s) });
 * ```
 *
 * @param options The plugin, logger and shutdown hook.
 * @returns The server.
 */
export function createPluginServer(options: PluginServerOptions): PluginServer {
  const { plugin, logger, onShutdownRequested } = options;
  const services = createPluginServices({ plugin, logger });
  // grpc-js defaults: no connection idle or age limit, so the host's long-lived streams are never cut.
  const grpcServer = new grpc.Server();

  /** A grpc-js unary handler over a plain one: its outcome settled by {@linkcode settleUnary}. */
  function unary<Req, Res>(
    method: string,
    fn: (request: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res> | Res,
  ): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      settleUnary(method, logger, () => fn(call.request, call)).then((outcome) =>
        outcome.error === null ? callback(null, outcome.response) : callback(outcome.error)
      );
    };
  }

  const broker: GRPCBrokerServer = {
    startStream(call) {
      call.sendMetadata(new grpc.Metadata());
      call.on("data", (info: ConnInfo) => services.broker.receive(info));
      call.on("error", (err: Error) => logger.debug("broker stream error", { error: err.message }));
      call.on("cancelled", () => logger.debug("broker stream closed by the host"));
      // Finish our side only after the host finished its side, as go-plugin's server does.
      call.on("end", () => call.end());
    },
  };

  const stdio: GRPCStdioServer = {
    streamStdio(call) {
      call.sendMetadata(new grpc.Metadata());
      call.on("error", (err: Error) => logger.debug("stdio stream error", { error: err.message }));
      call.on("cancelled", () => logger.debug("stdio stream closed by the host"));
    },
  };

  const controller: GRPCControllerServer = {
    shutdown(call, callback) {
      callback(null, services.controller.shutdown(call.request));
      onShutdownRequested?.();
    },
  };

  const health: HealthServer = {
    check: unary("Health/Check", (request) => services.health.check(request)),
    list: unary("Health/List", (request) => services.health.list(request)),
    watch(call) {
      call.on("error", (err: Error) => logger.debug("health watch stream error", { error: err.message }));
      call.write(services.health.watch(call.request));
    },
  };

  const init: InitServer = {
    init: unary("Init/Init", (request) => services.init.init(request)),
    deinit: unary("Init/Deinit", (request) => services.init.deinit(request)),
  };

  const config: ConfigServer = {
    // The plugin program loads the HCL parser on its first configuration, not before the handshake.
    configure: unary("Config/Configure", async (request) => {
      await loadHclParser();
      return await services.config.configure(request);
    }),
    validate: unary("Config/Validate", async (request) => {
      await loadHclParser();
      return services.config.validate(request);
    }),
  };

  const attestor: WorkloadAttestorServer = {
    attest: unary("WorkloadAttestor/Attest", async (request, call) => {
      const { signal, release } = callAbortSignal(call);
      try {
        return await services.workloadAttestor.attest(request, signal);
      } finally {
        release();
      }
    }),
    attestReference: unary("WorkloadAttestor/AttestReference", async (request, call) => {
      const { signal, release } = callAbortSignal(call);
      try {
        // HTTP/2 joins repeated header fields with ", "; no SPIFFE ID holds a comma, so split them again.
        const callerIds = call.metadata.get(BROKER_CALLER_ID_METADATA_KEY)
          .flatMap((v) => String(v).split(","))
          .map((v) => v.trim());
        return await services.workloadAttestor.attestReference(request, signal, callerIds);
      } finally {
        release();
      }
    }),
  };

  grpcServer.addService(GRPCBrokerService, broker);
  grpcServer.addService(GRPCStdioService, stdio);
  grpcServer.addService(GRPCControllerService, controller);
  grpcServer.addService(HealthService, health);
  grpcServer.addService(InitService, init);
  grpcServer.addService(ConfigService, config);
  grpcServer.addService(WorkloadAttestorService, attestor);

  const injector = grpcServer.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  let closed = false;

  return {
    grpcServer,
    injectConnection(connection) {
      if (closed) {
        connection.destroy();
        return;
      }
      injector.injectConnection(connection);
    },
    brokerConnInfo: (serviceId) => services.broker.connInfo(serviceId),
    hostServiceNames: () => services.hostServiceNames(),
    close() {
      if (closed) return;
      closed = true;
      injector.destroy();
      grpcServer.forceShutdown();
    },
  };
}
