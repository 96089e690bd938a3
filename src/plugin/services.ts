/**
 * What the plugin's gRPC services do, as plain functions over plain request objects: no transport, no
 * socket. `src/plugin/server.ts` registers them with the gRPC transport (streams, deadlines, cancellation); tests and
 * embedders call them directly, the way hono handlers are called without a server. A handler throws
 * {@linkcode AttestorError} for a refused request; {@linkcode settleUnary} turns any outcome into what the
 * host receives (a response, or the gRPC status from `grpc_status.ts`) and logs failures.
 *
 * - `grpc.health.v1.Health`: `"plugin"` and `""` SERVING, other names NOT_FOUND (Watch: SERVICE_UNKNOWN).
 * - `spire.service.private.init.v1.Init`: Init (the two plugin service names, records the host's), Deinit.
 * - `spire.service.common.config.v1.Config`: Configure, Validate.
 * - `spire.plugin.agent.workloadattestor.v1.WorkloadAttestor`: Attest and AttestReference (with the call's
 *   `AbortSignal`; AttestReference also with the broker caller IDs of the call's metadata).
 * - `plugin.GRPCController/Shutdown`: answers `{}`; `plugin.GRPCBroker`: records the host's ConnInfo.
 *
 * @module
 */

import type { HealthCheckRequest, HealthCheckResponse } from "../gen/grpc/health/v1/health.ts";
import { HealthCheckResponse_ServingStatus } from "../gen/grpc/health/v1/health.ts";
import type { HealthListRequest, HealthListResponse } from "../gen/grpc/health/v1/health.ts";
import type { ConnInfo } from "../gen/plugin/grpc_broker.ts";
import type { Empty } from "../gen/plugin/grpc_controller.ts";
import type {
  AttestReferenceRequest,
  AttestReferenceResponse,
  AttestRequest,
  AttestResponse,
} from "../gen/spire/plugin/agent/workloadattestor/v1/workloadattestor.ts";
import type {
  ConfigureRequest,
  ConfigureResponse,
  ValidateRequest,
  ValidateResponse,
} from "../gen/spire/service/common/config/v1/config.ts";
import type {
  DeinitRequest,
  DeinitResponse,
  InitRequest,
  InitResponse,
} from "../gen/spire/service/private/init/v1/init.ts";
import { AttestorError, describeError } from "../errors.ts";
import type { Logger } from "../log.ts";
import {
  GrpcCode,
  grpcCodeName,
  grpcCodeOf,
  type ServiceError,
  toServiceError,
  validateNotes,
} from "./grpc_status.ts";
import type { AttestorPlugin, CoreConfiguration } from "./types.ts";

/** The service name spire-agent binds a WorkloadAttestor to. */
export const WORKLOAD_ATTESTOR_SERVICE_NAME = "spire.plugin.agent.workloadattestor.v1.WorkloadAttestor";
/** The service name that tells spire-agent the plugin accepts configuration. */
export const CONFIG_SERVICE_NAME = "spire.service.common.config.v1.Config";
/** What Init answers, exactly. */
export const PLUGIN_SERVICE_NAMES: readonly string[] = [WORKLOAD_ATTESTOR_SERVICE_NAME, CONFIG_SERVICE_NAME];

/** Health service names answered SERVING. */
const HEALTHY_SERVICES = new Set(["", "plugin"]);

/** Options of {@linkcode createPluginServices}. */
export interface PluginServicesOptions {
  /** The attestor behind the services. */
  readonly plugin: AttestorPlugin;
  /** Diagnostics. */
  readonly logger: Logger;
}

/** The services' handlers. Unary handlers throw `AttestorError` for a refused request. */
export interface PluginServices {
  /** `grpc.health.v1.Health`. */
  readonly health: {
    /** `Check`: SERVING for `"plugin"` and `""`; NOT_FOUND `unknown service "<name>"` otherwise. */
    check(request: HealthCheckRequest): HealthCheckResponse;
    /** `List`: every served name, SERVING. */
    list(request: HealthListRequest): HealthListResponse;
    /** The one status `Watch` sends: SERVING, or SERVICE_UNKNOWN for an unknown name. */
    watch(request: HealthCheckRequest): HealthCheckResponse;
  };
  /** `spire.service.private.init.v1.Init`. */
  readonly init: {
    /** Records the host service names; answers {@linkcode PLUGIN_SERVICE_NAMES}. */
    init(request: InitRequest): InitResponse;
    /** Releases the plugin's resources. */
    deinit(request: DeinitRequest): Promise<DeinitResponse>;
  };
  /** `spire.service.common.config.v1.Config`. */
  readonly config: {
    /** Applies `plugin_data`; INVALID_ARGUMENT naming every problem, the previous config staying in force. */
    configure(request: ConfigureRequest): Promise<ConfigureResponse>;
    /** Checks `plugin_data` without applying it; notes clipped as sent. */
    validate(request: ValidateRequest): ValidateResponse;
  };
  /** `spire.plugin.agent.workloadattestor.v1.WorkloadAttestor`. */
  readonly workloadAttestor: {
    /** Attests `request.pid`; `signal` ends the work when the call's deadline passes or it is cancelled. */
    attest(request: AttestRequest, signal: AbortSignal): Promise<AttestResponse>;
    /**
     * Attests `request.reference` (`src/broker/attest_reference.ts`) on behalf of the broker named by
     * `brokerCallerIds` (the `spire-agent-broker-caller-id` metadata values; none: no broker).
     */
    attestReference(
      request: AttestReferenceRequest,
      signal: AbortSignal,
      brokerCallerIds: readonly string[],
    ): Promise<AttestReferenceResponse>;
  };
  /** `plugin.GRPCController`. */
  readonly controller: {
    /** Answers `{}`; stopping the process is the transport's job, once the reply is on its way. */
    shutdown(request: Empty): Empty;
  };
  /** `plugin.GRPCBroker`. */
  readonly broker: {
    /** Records a `ConnInfo` the host sent on the broker stream. */
    receive(info: ConnInfo): void;
    /** The latest `ConnInfo` for `serviceId` (SPIRE's host services use id 1). */
    connInfo(serviceId: number): ConnInfo | undefined;
  };
  /** The host service names received in Init (empty before Init). */
  hostServiceNames(): readonly string[];
}

/** What a unary call ends with, as the host receives it: the response, or the status error. */
export type UnaryOutcome<Res> =
  | { readonly response: Res; readonly error: null }
  | { readonly response: null; readonly error: ServiceError };

/**
 * Runs a unary handler and settles it as the host will see it: its response, or the gRPC status of what
 * it threw ({@linkcode toServiceError}). A refusal (`AttestorError`) is logged with its reason and gRPC code
 * at debug level, one whose code is INTERNAL at error level; anything else is logged with its stack and
 * answered INTERNAL with a fixed text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AttestorError } from "../errors.ts";
 * import { nullLogger } from "../log.ts";
 * import { settleUnary } from "./services.ts";
 * const refused = await settleUnary("Demo/Call", nullLogger, () => {
 *   throw new AttestorError("unknown-service", "no such thing");
 * });
 * assert.deepEqual([refused.error?.code, refused.error?.details], [5, "no such thing"]); // NOT_FOUND
 * assert.deepEqual(await settleUnary("Demo/Call", nullLogger, () => ({ ok: true })), {
 *   response: { ok: true },
 *   error: null,
 * });
 * ```
 *
 * @param method The method, for the log (e.g. `Config/Configure`).
 * @param logger Where failures are logged.
 * @param run The handler call.
 * @returns The response or the status error; never rejects.
 */
export async function settleUnary<Res>(
  method: string,
  logger: Logger,
  run: () => Promise<Res> | Res,
): Promise<UnaryOutcome<Res>> {
  try {
    return { response: await run(), error: null };
  } catch (err) {
    if (err instanceof AttestorError) {
      const code = grpcCodeOf(err.reason);
      const level = code === GrpcCode.INTERNAL ? "error" : "debug";
      logger[level]("call failed", {
        method,
        reason: err.reason,
        code: grpcCodeName(code),
        error: err.message,
      });
    } else {
      logger.error("call failed with an unexpected error", { method, ...describeError(err) });
    }
    return { response: null, error: toServiceError(err) };
  }
}

const toCore = (core: { trustDomain: string } | undefined): CoreConfiguration | null =>
  core ? { trustDomain: core.trustDomain } : null;

/**
 * Creates the services' handlers over a plugin.
 *
 * @example Calling handlers without a server
 * ```ts
 * import assert from "node:assert/strict";
 * import { nullLogger } from "../log.ts";
 * import { createAttestorPlugin } from "./plugin.ts";
 * import { createPluginServices, PLUGIN_SERVICE_NAMES } from "./services.ts";
 * const services = createPluginServices({ plugin: createAttestorPlugin({ logger: nullLogger }), logger: nullLogger });
 * assert.deepEqual(services.init.init({ hostServiceNames: [] }).pluginServiceNames, PLUGIN_SERVICE_NAMES);
 * const request = { hclConfiguration: "no_such_key = 1", coreConfiguration: { trustDomain: "example.org" } };
 * assert.equal(services.config.validate(request).valid, false);
 * await assert.rejects(services.config.configure(request), { reason: "bad-config" });
 * await services.init.deinit({});
 * ```
 *
 * @param options The plugin and logger.
 * @returns The handlers.
 */
export function createPluginServices(options: PluginServicesOptions): PluginServices {
  const { plugin, logger } = options;
  const connInfos = new Map<number, ConnInfo>();
  let hostServices: readonly string[] = [];
  const healthOf = (service: string) =>
    HEALTHY_SERVICES.has(service)
      ? HealthCheckResponse_ServingStatus.SERVING
      : HealthCheckResponse_ServingStatus.SERVICE_UNKNOWN;

  return {
    health: {
      check(request) {
        if (HEALTHY_SERVICES.has(request.service)) {
          return { status: HealthCheckResponse_ServingStatus.SERVING };
        }
        throw new AttestorError("unknown-service", `unknown service "${request.service}"`);
      },
      list: () => ({
        statuses: Object.fromEntries([...HEALTHY_SERVICES].map((name) => [name, { status: healthOf(name) }])),
      }),
      watch: (request) => ({ status: healthOf(request.service) }),
    },
    init: {
      init(request) {
        hostServices = [...request.hostServiceNames];
        logger.debug("plugin initialized", { host_services: hostServices.join(",") });
        return { pluginServiceNames: [...PLUGIN_SERVICE_NAMES] };
      },
      async deinit() {
        await plugin.deinit();
        return {};
      },
    },
    config: {
      async configure(request) {
        await plugin.configure(request.hclConfiguration, toCore(request.coreConfiguration));
        return {};
      },
      validate(request) {
        const result = plugin.validate(request.hclConfiguration, toCore(request.coreConfiguration));
        return { valid: result.valid, notes: validateNotes(result.notes) };
      },
    },
    workloadAttestor: {
      async attest(request, signal) {
        return { selectorValues: await plugin.attest(request.pid, signal) };
      },
      async attestReference(request, signal, brokerCallerIds) {
        const reference = request.reference
          ? { typeUrl: request.reference.typeUrl, value: request.reference.value }
          : null;
        return { selectorValues: await plugin.attestReference({ reference, brokerCallerIds }, signal) };
      },
    },
    controller: {
      shutdown() {
        logger.debug("shutdown requested by the host");
        return {};
      },
    },
    broker: {
      receive(info) {
        connInfos.set(info.serviceId, info);
        logger.debug("broker connection info received", {
          service_id: info.serviceId,
          network: info.network,
          address: info.address,
        });
      },
      connInfo: (serviceId) => connInfos.get(serviceId),
    },
    hostServiceNames: () => hostServices,
  };
}
