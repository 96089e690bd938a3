/**
 * The end-to-end set-up of the broker tests: the real plugin (config builder, runtime, kubelet client,
 * fetcher, core, API server client) behind the real gRPC server on a unix socket, a real gRPC client, a
 * fake kubelet (read-only port) listing the demo pods, and a fake API server over TLS with token auth.
 * Only the container locator is scripted: every PID is in the demo `web` pod's `app` container.
 */
import type { ServiceError } from "@grpc/grpc-js";
import assert from "node:assert/strict";
import { demoPodList, randomContainerId } from "../../src/demo/pods.ts";
import { KubernetesObjectReference, WorkloadPIDReference } from "../../src/gen/spiffe/broker/api.ts";
import type { Any } from "../../src/gen/google/protobuf/any.ts";
import type { ApiServerAccessOptions } from "../../src/apiserver/lazy.ts";
import { nullLogger } from "../../src/log.ts";
import type { ContainerLocation, Platform } from "../../src/platform/types.ts";
import { listen, type PluginListener } from "../../src/plugin/listener.ts";
import { createAttestorPlugin } from "../../src/plugin/plugin.ts";
import { createPluginServer, type PluginServer } from "../../src/plugin/server.ts";
import { createRuntime } from "../../src/runtime.ts";
import { type FakeKubelet, startFakeKubelet } from "../../src/testing/fake_kubelet.ts";
import { PluginClient } from "../../src/testing/plugin_client.ts";
import { type ApiEnv, startApiEnv } from "../apiserver/_env.ts";

export const POD_UID = crypto.randomUUID();
export const CONTAINER_ID = randomContainerId();
export const WEB_POD = "web-7c9d8f6b5-x2x4k";
export const REMOTE_UID = crypto.randomUUID();
export const DEPLOY_UID = crypto.randomUUID();
export const WIDGET_UID = crypto.randomUUID();
export const BROKER = "spiffe://example.org/broker";
export const CLUSTER_BROKER = "spiffe://example.org/cluster-broker";
export const CALLER_KEY = "spire-agent-broker-caller-id";

/** A pod on another node, as the API server serves it. */
export const REMOTE_POD = {
  metadata: {
    name: "api-0",
    namespace: "remote",
    uid: REMOTE_UID,
    labels: { app: "api" },
    ownerReferences: [{
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      name: "api",
      uid: "ss-1",
      controller: true,
    }],
  },
  spec: { serviceAccountName: "api-sa", nodeName: "node-2" },
  status: {
    containerStatuses: [{
      name: "api",
      containerID: "containerd://0123",
      image: "registry.example.com/api:2",
      imageID: "registry.example.com/api@sha256:" + "a".repeat(64),
    }],
  },
};

/** Everything of one test plugin. */
export interface BrokerFixture extends AsyncDisposable {
  readonly apiEnv: ApiEnv;
  readonly kubelet: FakeKubelet;
  readonly client: PluginClient;
  /** `kubelet_read_only_port = <fake kubelet>` plus `extra`. */
  configure(extra: string): Promise<void>;
}

/** The platform: every PID is in the web pod's app container. */
function scriptedPlatform(): Platform {
  const location: ContainerLocation = { podUid: POD_UID, containerId: CONTAINER_ID, startTime: "4242" };
  return {
    name: "unix",
    transport: "unix",
    createLocator: () => ({ locate: () => Promise.resolve(location) }),
    resolveConfigPath: (p) => p,
  };
}

/** Fills the fake API server: namespaces with labels, the remote pod, a Deployment, a cluster-scoped CR. */
export function seedApiServer(apiEnv: ApiEnv): void {
  const api = apiEnv.api;
  api.put("", "namespaces", {
    metadata: { name: "demo", uid: "ns-demo", labels: { team: "web", tier: "gold" } },
  });
  api.put("", "namespaces", { metadata: { name: "remote", uid: "ns-remote", labels: { team: "api" } } });
  api.put("", "pods", REMOTE_POD);
  api.put("apps", "deployments", {
    metadata: {
      name: "web",
      namespace: "demo",
      uid: DEPLOY_UID,
      labels: { app: "web" },
      annotations: { secret: "never a selector" },
      ownerReferences: [
        { apiVersion: "example.com/v1alpha1", kind: "App", name: "web-app", uid: "app-1", controller: true },
        { apiVersion: "v1", kind: "ConfigMap", name: "cm", uid: "cm-1" },
      ],
    },
    spec: { replicas: 2 },
  });
  api.put("example.com", "widgets", { metadata: { name: "w1", uid: WIDGET_UID, labels: { size: "l" } } });
}

/** Starts the fixture; `apiServer` overrides where the plugin finds the API server (default: the fake). */
export async function startBrokerFixture(
  options: { apiServer?: (env: ApiEnv) => ApiServerAccessOptions } = {},
): Promise<BrokerFixture> {
  const apiEnv = await startApiEnv({
    resources: [
      { group: "apps", version: "v1", plural: "deployments", kind: "Deployment", namespaced: true },
      { group: "example.com", version: "v1alpha1", plural: "widgets", kind: "Widget", namespaced: false },
    ],
  });
  seedApiServer(apiEnv);
  const kubelet = await startFakeKubelet({
    pods: demoPodList({ podUid: POD_UID, containerId: CONTAINER_ID, nodeName: "node-1" }),
  });
  const apiServer = options.apiServer?.(apiEnv) ??
    { getenv: apiEnv.getenv, serviceAccountDir: apiEnv.saDir, timeoutMs: 2000 };
  const runtime = createRuntime({ platform: scriptedPlatform(), logger: nullLogger, apiServer });
  const plugin = createAttestorPlugin({ runtime, logger: nullLogger, getenv: () => undefined });
  const server: PluginServer = createPluginServer({ plugin, logger: nullLogger });
  const listener: PluginListener = await listen({
    transport: "unix",
    getenv: () => undefined,
    logger: nullLogger,
    onConnection: (s) => server.injectConnection(s),
  });
  const client = new PluginClient(`unix:${listener.address}`);
  const stop = async () => {
    client.close();
    await plugin.deinit();
    server.close();
    await listener.close();
    await kubelet.stop();
    await apiEnv[Symbol.asyncDispose]();
  };
  return {
    apiEnv,
    kubelet,
    client,
    configure: (extra) => client.configure(`kubelet_read_only_port = ${kubelet.port}\n${extra}`),
    [Symbol.asyncDispose]: stop,
  };
}

/** A `WorkloadPIDReference` in an `Any`. */
export function pidRef(pid: number): Any {
  return {
    typeUrl: "type.googleapis.com/spiffe.broker.WorkloadPIDReference",
    value: Buffer.from(WorkloadPIDReference.encode({ pid }).finish()),
  };
}

/** A `KubernetesObjectReference` in an `Any`. */
export function objRef(
  ref: { plural: string; group: string; namespace?: string; name?: string; uid?: string },
): Any {
  const key = ref.name !== undefined || ref.namespace !== undefined
    ? { namespace: ref.namespace ?? "", name: ref.name ?? "" }
    : undefined;
  return {
    typeUrl: "type.googleapis.com/spiffe.broker.KubernetesObjectReference",
    value: Buffer.from(
      KubernetesObjectReference.encode({
        type: { plural: ref.plural, group: ref.group },
        key,
        uid: ref.uid ?? "",
      })
        .finish(),
    ),
  };
}

/** Call options with the broker caller ID(s). */
export const as = (...ids: string[]) => ({ metadata: { [CALLER_KEY]: ids } });

/** Asserts a gRPC status code and (exactly or by pattern) its details. */
export const isStatus = (code: number, details?: string | RegExp) => (e: unknown) => {
  const err = e as ServiceError;
  assert.equal(err.code, code, `code (details: ${err.details})`);
  if (typeof details === "string") assert.equal(err.details, details);
  else if (details) assert.match(err.details, details);
  return true;
};

/** The broker block: `enforced` with the agent_node broker and the cluster broker. */
export const BROKERS = (policy = "enforced") =>
  `experimental { broker {
  access_policy = "${policy}"
  brokers = [
    { id = "${BROKER}" },
    { id = "${CLUSTER_BROKER}", pod_reference_scope = "cluster" },
  ]
} }`;
