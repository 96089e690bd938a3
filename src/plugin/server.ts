/**
 * The gRPC services a go-plugin host (spire-agent) calls, on `@grpc/grpc-js` with the ts-proto generated
 * service definitions from `src/gen/`:
 *
 * - `plugin.GRPCBroker/StartStream`: held open, ConnInfo recorded per service id, never ended by us.
 * - `plugin.GRPCStdio/StreamStdio`: held open, nothing sent.
 * - `plugin.GRPCController/Shutdown`: replies, then asks the process to stop.
 * - `grpc.health.v1.Health`: `"plugin"` and `""` SERVING, other names NOT_FOUND.
 * - `spire.service.private.init.v1.Init`: Init (the two plugin service names), Deinit.
 * - `spire.service.common.config.v1.Config`: Configure, Validate.
 * - `spire.plugin.agent.workloadattestor.v1.WorkloadAttestor`: Attest (deadline and cancellation become an
 *   `AbortSignal`); AttestReference answers UNIMPLEMENTED.
 *
 * Unknown methods get UNIMPLEMENTED from grpc-js itself. Every error response (grpc-js sends
 * Trailers-Only) carries `content-type: application/grpc+proto`, which grpc-go accepts.
 *
 * @module
 */

import * as grpc from "@grpc/grpc-js";
import type { Duplex } from "node:stream";
import { HealthCheckResponse_ServingStatus, HealthService } from "../gen/grpc/health/v1/health.ts";
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
import { AttestorError, describeError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { toServiceError, validateNotes } from "./grpc_status.ts";
import type { AttestorPlugin, CoreConfiguration } from "./types.ts";

/** The longest delay a timer supports (2^31 - 1 ms). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The service name spire-agent binds a WorkloadAttestor to. */
export const WORKLOAD_ATTESTOR_SERVICE_NAME = "spire.plugin.agent.workloadattestor.v1.WorkloadAttestor";
/** The service name that tells spire-agent the plugin accepts configuration. */
export const CONFIG_SERVICE_NAME = "spire.service.common.config.v1.Config";
/** What Init answers, exactly. */
export const PLUGIN_SERVICE_NAMES: readonly string[] = [WORKLOAD_ATTESTOR_SERVICE_NAME, CONFIG_SERVICE_NAME];

/** Health service names answered SERVING. */
const HEALTHY_SERVICES = new Set(["", "plugin"]);

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

/** Remaining milliseconds until a grpc-js deadline (`Infinity` when there is none). */
function millisUntil(deadline: grpc.Deadline): number {
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  return at - Date.now();
}

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
  const connInfos = new Map<number, ConnInfo>();
  let hostServices: readonly string[] = [];
  // grpc-js defaults: no connection idle or age limit, so the host's long-lived streams are never cut.
  const grpcServer = new grpc.Server();

  /** Wraps an async unary implementation: errors become statuses, unexpected ones are logged. */
  function unary<Req, Res>(
    method: string,
    fn: (request: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res> | Res,
  ): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      let result: Promise<Res>;
      try {
        result = Promise.resolve(fn(call.request, call));
      } catch (err) {
        result = Promise.reject(err);
      }
      result.then(
        (response) => callback(null, response),
        (err: unknown) => {
          if (err instanceof AttestorError) {
            const level = err.code === "INTERNAL" ? "error" : "debug";
            logger[level]("call failed", { method, code: err.code, error: err.message });
          } else {
            logger.error("call failed with an unexpected error", { method, ...describeError(err) });
          }
          callback(toServiceError(err));
        },
      );
    };
  }

  const broker: GRPCBrokerServer = {
    startStream(call) {
      call.sendMetadata(new grpc.Metadata());
      call.on("data", (info: ConnInfo) => {
        connInfos.set(info.serviceId, info);
        logger.debug("broker connection info received", {
          service_id: info.serviceId,
          network: info.network,
          address: info.address,
        });
      });
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
    shutdown(_call, callback) {
      logger.debug("shutdown requested by the host");
      callback(null, {});
      onShutdownRequested?.();
    },
  };

  const health: HealthServer = {
    check: unary("Health/Check", (request) => {
      if (HEALTHY_SERVICES.has(request.service)) return { status: HealthCheckResponse_ServingStatus.SERVING };
      throw new AttestorError("NOT_FOUND", `unknown service "${request.service}"`);
    }),
    list: unary("Health/List", () => ({
      statuses: Object.fromEntries(
        [...HEALTHY_SERVICES].map((name) => [name, { status: HealthCheckResponse_ServingStatus.SERVING }]),
      ),
    })),
    watch(call) {
      call.on("error", (err: Error) => logger.debug("health watch stream error", { error: err.message }));
      call.write({
        status: HEALTHY_SERVICES.has(call.request.service)
          ? HealthCheckResponse_ServingStatus.SERVING
          : HealthCheckResponse_ServingStatus.SERVICE_UNKNOWN,
      });
    },
  };

  const init: InitServer = {
    init: unary("Init/Init", (request) => {
      hostServices = [...request.hostServiceNames];
      logger.debug("plugin initialized", { host_services: hostServices.join(",") });
      return { pluginServiceNames: [...PLUGIN_SERVICE_NAMES] };
    }),
    deinit: unary("Init/Deinit", async () => {
      await plugin.deinit();
      return {};
    }),
  };

  const toCore = (core: { trustDomain: string } | undefined): CoreConfiguration | null =>
    core ? { trustDomain: core.trustDomain } : null;

  const config: ConfigServer = {
    configure: unary("Config/Configure", async (request) => {
      await plugin.configure(request.hclConfiguration, toCore(request.coreConfiguration));
      return {};
    }),
    validate: unary("Config/Validate", (request) => {
      const result = plugin.validate(request.hclConfiguration, toCore(request.coreConfiguration));
      return { valid: result.valid, notes: validateNotes(result.notes) };
    }),
  };

  const attestor: WorkloadAttestorServer = {
    attest: unary("WorkloadAttestor/Attest", async (request, call) => {
      const abort = new AbortController();
      const onCancel = () => abort.abort(new AttestorError("CANCELLED", "context canceled"));
      call.on("cancelled", onCancel);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const remaining = millisUntil(call.getDeadline());
      // A deadline beyond what a timer can hold (~24.8 days; longer delays fire at once) is no deadline.
      // (grpc-js itself already answers such calls with DEADLINE_EXCEEDED; this keeps our timer honest.)
      if (Number.isFinite(remaining) && remaining <= MAX_TIMER_MS) {
        timer = setTimeout(
          () => abort.abort(new AttestorError("DEADLINE_EXCEEDED", "context deadline exceeded")),
          Math.max(0, remaining),
        );
      }
      try {
        const selectorValues = await plugin.attest(request.pid, abort.signal);
        return { selectorValues };
      } finally {
        clearTimeout(timer);
        call.off("cancelled", onCancel);
      }
    }),
    attestReference: unary("WorkloadAttestor/AttestReference", () => {
      throw new AttestorError("UNIMPLEMENTED", "reference attestation is not implemented; use Attest");
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
    brokerConnInfo: (serviceId) => connInfos.get(serviceId),
    hostServiceNames: () => hostServices,
    close() {
      if (closed) return;
      closed = true;
      injector.destroy();
      grpcServer.forceShutdown();
    },
  };
}
