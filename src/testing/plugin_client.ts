/**
 * Typed gRPC calls from the fake agent to a plugin: the services spire-agent calls (Init, Config,
 * WorkloadAttestor, the go-plugin controller, broker and stdio streams, health), over one grpc-js
 * connection with `:authority` = `unused`, as go-plugin dials.
 *
 * @module
 */

import * as grpc from "@grpc/grpc-js";
import { type ConnInfo, GRPCBrokerService } from "../gen/plugin/grpc_broker.ts";
import { Empty, GRPCControllerService } from "../gen/plugin/grpc_controller.ts";
import { GRPCStdioService, type StdioData } from "../gen/plugin/grpc_stdio.ts";
import { HealthService } from "../gen/grpc/health/v1/health.ts";
import type { HealthCheckResponse } from "../gen/grpc/health/v1/health.ts";
import { InitService } from "../gen/spire/service/private/init/v1/init.ts";
import { ConfigService } from "../gen/spire/service/common/config/v1/config.ts";
import type { ValidateResponse } from "../gen/spire/service/common/config/v1/config.ts";
import { WorkloadAttestorService } from "../gen/spire/plugin/agent/workloadattestor/v1/workloadattestor.ts";
import type { Any } from "../gen/google/protobuf/any.ts";

/** The host service spire-agent offers (announced in Init). */
export const METRICS_HOST_SERVICE = "spire.hostservice.common.metrics.v1.Metrics";

/** A finished gRPC call's error, or `null`. */
export type CallError = grpc.ServiceError;

/** Options of {@linkcode PluginClient} calls. */
export interface CallOptions {
  /** Deadline in milliseconds from now. */
  readonly timeoutMs?: number;
  /** Request metadata (e.g. `spire-agent-broker-caller-id`), each key with its values in order. */
  readonly metadata?: Readonly<Record<string, readonly string[]>>;
}

/**
 * Typed unary and streaming calls to a plugin over one grpc-js connection (`:authority` = `unused`).
 * Used by `PluginHost` (plugin_host.ts) and by in-process server tests.
 */
export class PluginClient {
  /** The underlying grpc-js client. */
  readonly grpcClient: grpc.Client;

  /**
   * @param target A grpc-js target: `unix:/abs/path` or `127.0.0.1:<port>`.
   */
  constructor(target: string) {
    this.grpcClient = new grpc.Client(target, grpc.credentials.createInsecure(), {
      "grpc.default_authority": "unused",
      "grpc.max_receive_message_length": -1,
      "grpc.max_send_message_length": -1,
    });
  }

  /** Makes a unary call with a generated method definition. */
  unary<Req, Res>(
    method: {
      path: string;
      requestSerialize: (v: Req) => Buffer;
      responseDeserialize: (b: Buffer) => Res;
    },
    request: Req,
    options: CallOptions & { signal?: AbortSignal } = {},
  ): Promise<Res> {
    return new Promise((resolve, reject) => {
      const callOptions: grpc.CallOptions = {};
      if (options.timeoutMs !== undefined) callOptions.deadline = Date.now() + options.timeoutMs;
      const metadata = new grpc.Metadata();
      for (const [key, values] of Object.entries(options.metadata ?? {})) {
        for (const value of values) metadata.add(key, value);
      }
      const call = this.grpcClient.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
        metadata,
        callOptions,
        (err, response) => (err ? reject(err) : resolve(response as Res)),
      );
      options.signal?.addEventListener("abort", () => call.cancel(), { once: true });
    });
  }

  /** Calls any path with raw request bytes (for unknown methods). */
  raw(path: string, body: Uint8Array, options: CallOptions = {}): Promise<Buffer> {
    const identity = (b: Buffer) => b;
    return this.unary(
      { path, requestSerialize: (v: Uint8Array) => Buffer.from(v), responseDeserialize: identity },
      body,
      options,
    );
  }

  /** `Init/Init`. */
  init(hostServiceNames: string[] = [METRICS_HOST_SERVICE]): Promise<string[]> {
    return this.unary(InitService.init, { hostServiceNames }).then((r) => r.pluginServiceNames);
  }

  /** `Init/Deinit`. */
  async deinit(options: CallOptions = { timeoutMs: 10_000 }): Promise<void> {
    await this.unary(InitService.deinit, {}, options);
  }

  /** `Config/Configure`. */
  async configure(hcl: string, trustDomain: string | null = "example.org"): Promise<void> {
    await this.unary(ConfigService.configure, {
      hclConfiguration: hcl,
      coreConfiguration: trustDomain === null ? undefined : { trustDomain },
    });
  }

  /** `Config/Validate`. */
  validate(hcl: string, trustDomain: string | null = "example.org"): Promise<ValidateResponse> {
    return this.unary(ConfigService.validate, {
      hclConfiguration: hcl,
      coreConfiguration: trustDomain === null ? undefined : { trustDomain },
    });
  }

  /** `WorkloadAttestor/Attest`: the selector values. */
  attest(pid: number, options: CallOptions & { signal?: AbortSignal } = {}): Promise<string[]> {
    return this.unary(WorkloadAttestorService.attest, { pid }, options).then((r) => r.selectorValues);
  }

  /** `WorkloadAttestor/AttestReference` (a broker's SPIFFE ID goes in `spire-agent-broker-caller-id` metadata). */
  attestReference(reference: Any | undefined, options: CallOptions = {}): Promise<string[]> {
    return this.unary(WorkloadAttestorService.attestReference, { reference }, options).then((r) =>
      r.selectorValues
    );
  }

  /** `grpc.health.v1.Health/Check`. */
  health(service: string): Promise<HealthCheckResponse> {
    return this.unary(HealthService.check, { service });
  }

  /** `GRPCController/Shutdown`. */
  async shutdown(): Promise<void> {
    await this.unary(GRPCControllerService.shutdown, Empty.create());
  }

  /** Opens `GRPCBroker/StartStream` (left open). */
  openBroker(): grpc.ClientDuplexStream<ConnInfo, ConnInfo> {
    const s = GRPCBrokerService.startStream;
    return this.grpcClient.makeBidiStreamRequest(s.path, s.requestSerialize, s.responseDeserialize);
  }

  /** Opens `GRPCStdio/StreamStdio` (one empty request, left open). */
  openStdio(): grpc.ClientReadableStream<StdioData> {
    const s = GRPCStdioService.streamStdio;
    return this.grpcClient.makeServerStreamRequest(s.path, s.requestSerialize, s.responseDeserialize, {});
  }

  /** Closes the connection. */
  close(): void {
    this.grpcClient.close();
  }
}
