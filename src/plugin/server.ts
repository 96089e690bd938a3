/**
 * The gRPC server a go-plugin host (spire-agent) talks to, on the plugin's own HTTP/2 + gRPC transport
 * (`src/plugin/h2/`) with the ts-proto generated messages from `src/gen/`. What each call does lives in
 * `src/plugin/services.ts` (plain functions, testable without a socket); this module registers those
 * handlers by path and adds what only a transport has:
 *
 * - `plugin.GRPCBroker/StartStream`: held open, each ConnInfo handed to the services; our side ends only
 *   after the host ended its side.
 * - `plugin.GRPCStdio/StreamStdio`: held open, nothing sent.
 * - `plugin.GRPCController/Shutdown`: replies, then asks the process to stop.
 * - `grpc.health.v1.Health/Watch`: sends the one status, then holds the stream.
 * - `WorkloadAttestor/Attest`: the call's deadline and cancellation become an `AbortSignal`
 *   ({@linkcode callAbortSignal}).
 *
 * Unknown methods get UNIMPLEMENTED. Every error response is Trailers-Only and carries
 * `content-type: application/grpc`, which grpc-go and grpc-js accept.
 *
 * @module
 */

import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import {
  HealthCheckRequest,
  HealthCheckResponse,
  HealthListRequest,
  HealthListResponse,
  HealthService,
} from "../gen/grpc/health/v1/health.ts";
import { ConnInfo, GRPCBrokerService } from "../gen/plugin/grpc_broker.ts";
import { Empty, GRPCControllerService } from "../gen/plugin/grpc_controller.ts";
import { GRPCStdioService } from "../gen/plugin/grpc_stdio.ts";
import {
  AttestReferenceRequest,
  AttestReferenceResponse,
  AttestRequest,
  AttestResponse,
  WorkloadAttestorService,
} from "../gen/spire/plugin/agent/workloadattestor/v1/workloadattestor.ts";
import {
  ConfigService,
  ConfigureRequest,
  ConfigureResponse,
  ValidateRequest,
  ValidateResponse,
} from "../gen/spire/service/common/config/v1/config.ts";
import {
  DeinitRequest,
  DeinitResponse,
  InitRequest,
  InitResponse,
  InitService,
} from "../gen/spire/service/private/init/v1/init.ts";
import { loadHclParser } from "../config/hcl_parser.ts";
import { AttestorError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { GrpcCode } from "./grpc_status.ts";
import { H2Connection, type H2Transport } from "./h2/connection.ts";
import { type GrpcCall, grpcStreamHandler, type Method } from "./h2/grpc.ts";
import {
  type GeneratedEncode,
  selectorValuesEncoder,
  type SelectorValuesMessage,
} from "./selector_values_codec.ts";
import { createPluginServices, settleUnary } from "./services.ts";
import type { AttestorPlugin } from "./types.ts";

export { CONFIG_SERVICE_NAME, PLUGIN_SERVICE_NAMES, WORKLOAD_ATTESTOR_SERVICE_NAME } from "./services.ts";

/** The longest delay a timer supports (2^31 - 1 ms). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Host connections served at once (not counting those already closed on an error). go-plugin's host keeps
 * one (two for a moment while grpc-go reconnects); each connection may hold up to ~40 MiB (16 MiB of request
 * messages, 8 MiB of unread replies, 1000 header lists of 16 KiB), so the cap bounds what connecting
 * processes can make the plugin hold (~640 MiB). Beyond it a new connection is closed at once.
 */
export const MAX_HOST_CONNECTIONS = 16;

/** Options of {@linkcode createPluginServer}. */
export interface PluginServerOptions {
  /** The attestor behind the services. */
  readonly plugin: AttestorPlugin;
  /** Diagnostics. */
  readonly logger: Logger;
  /** Called once the reply to `GRPCController/Shutdown` has been queued. */
  readonly onShutdownRequested?: () => void;
}

/** The gRPC side of the plugin. */
export interface PluginServer {
  /** Serves gRPC on an accepted connection (unix or TCP socket). */
  injectConnection(connection: Duplex): void;
  /** The latest broker `ConnInfo` the host sent for `serviceId` (SPIRE's host services use id 1). */
  brokerConnInfo(serviceId: number): ConnInfo | undefined;
  /** The host service names received in Init (empty before Init). */
  hostServiceNames(): readonly string[];
  /** Ends every call and connection at once. Idempotent. */
  close(): void;
}

/** A call's deadline: a `Date`, or ms since the epoch (`Infinity` when there is none). */
export type Deadline = Date | number;

/** The parts of a server call that {@linkcode callAbortSignal} reads. */
export interface CancellableCall {
  /** The call's deadline (`Infinity` when there is none). */
  getDeadline(): Deadline;
  /** Subscribes to the call's `"cancelled"` event (the host cancelled the call or went away). */
  on(event: "cancelled", listener: () => void): unknown;
  /** Unsubscribes. */
  off(event: "cancelled", listener: () => void): unknown;
}

/** Remaining milliseconds until a deadline (`Infinity` when there is none). */
function millisUntil(deadline: Deadline): number {
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  return at - Date.now();
}

/**
 * The `AbortSignal` of a call: aborted with `AttestorError("cancelled", "context canceled")` when the host
 * cancels the call, or `AttestorError("deadline-exceeded", "context deadline exceeded")` when its deadline
 * passes. A deadline beyond what a timer can hold (~24.8 days; longer delays fire at once) is no deadline.
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

/** Encode and decode of one generated message type. */
interface MessageCodec<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(input: Uint8Array): T;
}

const codec = <T>(fns: MessageCodec<T>) => ({
  decode: (bytes: Uint8Array): T => fns.decode(bytes),
  encode: (message: T): Uint8Array => fns.encode(message).finish(),
});

/** The selector responses, with the faster encoder of `selector_values_codec.ts` (same bytes). */
const selectorsCodec = <T extends SelectorValuesMessage>(
  fns: MessageCodec<T> & { encode: GeneratedEncode<T> },
) => {
  const encode = selectorValuesEncoder(fns.encode);
  return { decode: fns.decode, encode: (message: T) => ({ finish: () => encode(message) }) };
};

/**
 * Creates the gRPC server with every method registered. It does not listen: hand it connections with
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
  const methods = new Map<string, Method>();

  /** Registers a unary method over a plain handler: its outcome settled by {@linkcode settleUnary}. */
  function unary<Req, Res>(
    path: string,
    req: MessageCodec<Req>,
    res: MessageCodec<Res>,
    fn: (request: Req, call: GrpcCall) => Promise<Res> | Res,
    sent?: () => void,
  ): void {
    const name = path.split(".").at(-1)!;
    methods.set(path, {
      kind: "unary",
      ...codec(req),
      encode: codec(res).encode,
      handle: async (request: Req, call: GrpcCall) => {
        const outcome = await settleUnary(name, logger, () => fn(request, call));
        return outcome.error === null
          ? { response: outcome.response }
          : { status: { code: outcome.error.code, details: outcome.error.details } };
      },
      sent,
    });
  }

  methods.set(GRPCBrokerService.startStream.path, {
    kind: "bidi",
    ...codec(ConnInfo),
    open(call) {
      call.sendHeaders();
      return {
        message: (info: ConnInfo) => services.broker.receive(info),
        // Finish our side only after the host finished its side, as go-plugin's server does.
        end: () => call.finish({ code: GrpcCode.OK, details: "" }),
        cancelled: () => logger.debug("broker stream closed by the host"),
      };
    },
  });

  methods.set(GRPCStdioService.streamStdio.path, {
    kind: "server-stream",
    ...codec(Empty),
    encode: () => new Uint8Array(),
    open(_request, call) {
      call.sendHeaders();
    },
  });

  // The stop begins once the reply is queued (it is written before the process closes the connections).
  unary(
    GRPCControllerService.shutdown.path,
    Empty,
    Empty,
    (request) => services.controller.shutdown(request),
    () => onShutdownRequested?.(),
  );

  unary(HealthService.check.path, HealthCheckRequest, HealthCheckResponse, (r) => services.health.check(r));
  unary(HealthService.list.path, HealthListRequest, HealthListResponse, (r) => services.health.list(r));
  methods.set(HealthService.watch.path, {
    kind: "server-stream",
    ...codec(HealthCheckRequest),
    encode: codec(HealthCheckResponse).encode,
    open(request: HealthCheckRequest, call) {
      call.send(services.health.watch(request));
    },
  });

  unary(InitService.init.path, InitRequest, InitResponse, (r) => services.init.init(r));
  unary(InitService.deinit.path, DeinitRequest, DeinitResponse, (r) => services.init.deinit(r));

  // The plugin program loads the HCL parser on its first configuration, not before the handshake.
  unary(ConfigService.configure.path, ConfigureRequest, ConfigureResponse, async (r) => {
    await loadHclParser();
    return await services.config.configure(r);
  });
  unary(ConfigService.validate.path, ValidateRequest, ValidateResponse, async (r) => {
    await loadHclParser();
    return services.config.validate(r);
  });

  unary(
    WorkloadAttestorService.attest.path,
    AttestRequest,
    selectorsCodec(AttestResponse),
    async (request, call) => {
      const { signal, release } = callAbortSignal(call);
      try {
        return await services.workloadAttestor.attest(request, signal);
      } finally {
        release();
      }
    },
  );
  unary(
    WorkloadAttestorService.attestReference.path,
    AttestReferenceRequest,
    selectorsCodec(AttestReferenceResponse),
    async (request, call) => {
      const { signal, release } = callAbortSignal(call);
      try {
        // HTTP/2 may join repeated header fields with ", "; no SPIFFE ID holds a comma, so split them again.
        const callerIds = call.metadata(BROKER_CALLER_ID_METADATA_KEY)
          .flatMap((v) => v.split(","))
          .map((v) => v.trim());
        return await services.workloadAttestor.attestReference(request, signal, callerIds);
      } finally {
        release();
      }
    },
  );

  const connections = new Set<{ conn: H2Connection; socket: Duplex }>();
  let closed = false;
  /** When a refused connection was last logged at warn (at most once a minute: no log flood). */
  let refusalWarnedAt = -Infinity;

  return {
    injectConnection(socket) {
      if (closed) {
        socket.destroy();
        return;
      }
      // A connection closed on an error holds nothing but its socket for a moment: it does not count.
      let open = 0;
      for (const c of connections) if (!c.conn.closed) open++;
      if (open >= MAX_HOST_CONNECTIONS) {
        const fields = { open, max: MAX_HOST_CONNECTIONS };
        if (Date.now() - refusalWarnedAt < 60_000) {
          logger.debug("refusing a host connection: too many open", fields);
        } else {
          logger.warn("refusing a host connection: too many open", fields);
          refusalWarnedAt = Date.now();
        }
        socket.destroy();
        return;
      }
      let closeTimer: ReturnType<typeof setTimeout> | undefined;
      const transport: H2Transport = {
        write: (bytes) => {
          if (!socket.destroyed) socket.write(bytes);
        },
        close: () => {
          socket.end();
          // Give the GOAWAY a moment to reach the host, then let go of the socket whatever it does.
          closeTimer = setTimeout(() => socket.destroy(), 1000);
        },
        get pendingBytes() {
          return socket.writableLength;
        },
      };
      // Windows serves over loopback TCP: each reply is one write, so never hold it back (Nagle).
      (socket as Partial<Socket>).setNoDelay?.(true);
      const conn = new H2Connection(transport, grpcStreamHandler({ methods, logger }), logger);
      const entry = { conn, socket };
      connections.add(entry);
      socket.on("data", (chunk: Uint8Array) => conn.receive(chunk));
      socket.on("error", (err: Error) => logger.debug("host connection error", { error: err.message }));
      socket.on("close", () => {
        clearTimeout(closeTimer);
        connections.delete(entry);
        conn.transportClosed();
      });
    },
    brokerConnInfo: (serviceId) => services.broker.connInfo(serviceId),
    hostServiceNames: () => services.hostServiceNames(),
    close() {
      if (closed) return;
      closed = true;
      for (const { conn, socket } of connections) {
        conn.transportClosed();
        socket.destroy();
      }
      connections.clear();
    },
  };
}
