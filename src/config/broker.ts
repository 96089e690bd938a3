/**
 * Reads the settings of the Kubernetes API server features, with upstream's validation and problem texts
 * (`pkg/agent/plugin/workloadattestor/k8s/k8s.go`, SPIRE v1.15.3): `enable_namespace_labels`,
 * `disable_kubelet_client` (mutually exclusive with every kubelet key, and with `agent_node` brokers),
 * `experimental { api_server { cache { enabled } } }` and `experimental { broker { access_policy, brokers =
 * [{ id, pod_reference_scope }] } }`.
 *
 * @module
 */

import { ImmutableMap } from "./immutable_map.ts";
import { readLevel } from "./level.ts";
import { LevelReader } from "./level_reader.ts";
import { quoteValue } from "./problem_text.ts";
import { spiffeIdProblem } from "./spiffe_id.ts";
import type {
  ApiServerSettings,
  BrokerAccessPolicy,
  BrokerConfig,
  BrokerEntry,
  PodReferenceScope,
} from "./types.ts";

const BROKER_PATH = "experimental.broker";

/**
 * The kubelet keys that `disable_kubelet_client` excludes, in upstream's order, with when a value counts
 * as set (upstream: a port > 0, a non-empty string, a true bool).
 */
const KUBELET_KEYS: readonly (readonly [string, "port" | "string" | "bool"])[] = [
  ["kubelet_read_only_port", "port"],
  ["kubelet_secure_port", "port"],
  ["kubelet_ca_path", "string"],
  ["skip_kubelet_verification", "bool"],
  ["token_path", "string"],
  ["certificate_path", "string"],
  ["private_key_path", "string"],
  ["use_anonymous_authentication", "bool"],
  ["node_name_env", "string"],
  ["node_name", "string"],
  ["reload_interval", "string"],
];

/** Whether a top-level kubelet key is set in upstream's sense (its own reader reports a wrong type). */
function isSet(r: LevelReader, name: string, kind: "port" | "string" | "bool"): boolean {
  const node = r.level.get(name);
  if (node === undefined || node === null) return false;
  switch (node.kind) {
    case "number":
      return kind === "string" || !/^-?\d+$/.test(node.text) || BigInt(node.text) > 0n;
    case "string":
      return node.value !== "";
    case "bool":
      return node.value;
    default:
      return node.kind !== "null";
  }
}

function readAccessPolicy(r: LevelReader): BrokerAccessPolicy | undefined {
  const key = r.key("access_policy");
  const value = r.has("access_policy") ? r.string("access_policy") : "";
  if (value === undefined) return undefined;
  if (value === "permissive" || value === "enforced") return value;
  if (value === "") r.problems.push(`${key}: must be specified as one of [permissive, enforced]`);
  else {r.problems.push(
      `${key}: unsupported value ${quoteValue(value)}; must be one of [permissive, enforced]`,
    );}
  return undefined;
}

function readBrokers(r: LevelReader): Map<string, BrokerEntry> {
  const problems = r.problems;
  const brokers = new Map<string, BrokerEntry>();
  const node = r.level.get("brokers");
  const items = node?.kind === "list" ? node.items : [];
  if (node !== undefined && node !== null && node.kind !== "list") {
    r.wrongType("brokers", "a list of blocks", node);
    return brokers;
  }
  if (items.length === 0) {
    problems.push(`${BROKER_PATH}.brokers: at least one broker is required`);
    return brokers;
  }
  const itemPath = `${BROKER_PATH}.brokers`;
  items.forEach((item, i) => {
    if (item.kind !== "object") {
      problems.push(
        `${itemPath}[${i}]: expected a block, got ${item.kind === "list" ? "a list" : `a ${item.kind}`}`,
      );
      return;
    }
    const br = new LevelReader(readLevel(item, itemPath, problems), itemPath, problems);
    const id = br.string("id");
    if (id === undefined) return;
    if (id === "") {
      problems.push(`${itemPath}[${i}].id: must be specified`);
      return;
    }
    const named = `${itemPath}[${quoteValue(id).slice(1, -1)}]`;
    if (brokers.has(id)) {
      problems.push(`${named}.id: duplicate broker id`);
      return;
    }
    const idProblem = spiffeIdProblem(id);
    if (idProblem !== null) {
      problems.push(`${named}.id: ${idProblem}`);
      return;
    }
    const scopeRaw = br.string("pod_reference_scope");
    if (scopeRaw === undefined && br.has("pod_reference_scope")) return;
    let podReferenceScope: PodReferenceScope;
    if (scopeRaw === undefined || scopeRaw === "" || scopeRaw === "agent_node") {
      podReferenceScope = "agent_node";
    } else if (scopeRaw === "cluster") podReferenceScope = "cluster";
    else {
      problems.push(
        `${named}.pod_reference_scope: unsupported value ${
          quoteValue(scopeRaw)
        }; must be one of [agent_node, cluster]`,
      );
      return;
    }
    brokers.set(id, Object.freeze({ id, podReferenceScope }));
  });
  return brokers;
}

/**
 * Reads the `experimental.broker` block: every problem is recorded (access policy first, then each broker
 * in order); the settings mean something only when none was.
 *
 * @param r The block's level (path `experimental.broker`).
 * @returns The settings.
 */
function readBroker(r: LevelReader): BrokerConfig {
  const accessPolicy = readAccessPolicy(r) ?? "enforced";
  const brokers = readBrokers(r);
  return Object.freeze({ accessPolicy, brokers: new ImmutableMap([...brokers]) });
}

/** The blocks below `experimental` that this module reads, found while the blocks are walked. */
export interface ApiServerBlocks {
  /** `experimental.api_server.cache`, when present. */
  cache?: LevelReader;
  /** `experimental.broker`, when present. */
  broker?: LevelReader;
}

/**
 * Walks `experimental.api_server.cache` and `experimental.broker` (so their unknown keys are reported with
 * every other block's, before value problems).
 *
 * @param er The `experimental` level.
 * @returns The blocks found.
 */
export function findApiServerBlocks(er: LevelReader): ApiServerBlocks {
  const found: ApiServerBlocks = {};
  const problems = er.problems;
  const api = er.block("api_server");
  if (api) {
    const path = "experimental.api_server";
    const ar = new LevelReader(readLevel(api, path, problems), path, problems);
    const cache = ar.block("cache");
    if (cache) {
      found.cache = new LevelReader(readLevel(cache, `${path}.cache`, problems), `${path}.cache`, problems);
    }
  }
  const broker = er.block("broker");
  if (broker) found.broker = new LevelReader(readLevel(broker, BROKER_PATH, problems), BROKER_PATH, problems);
  return found;
}

/**
 * Reads `disable_kubelet_client`, `enable_namespace_labels` and the blocks found by
 * {@linkcode findApiServerBlocks}, then checks upstream's rules: with `disable_kubelet_client`, no kubelet
 * key may be set and every broker must have `pod_reference_scope = "cluster"`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildConfig } from "./build.ts";
 * const hcl = `disable_kubelet_client = true
 * experimental { broker { access_policy = "enforced"
 *   brokers = [{ id = "spiffe://example.org/broker", pod_reference_scope = "cluster" }] } }`;
 * const { config, problems } = buildConfig(hcl, { trustDomain: "example.org" });
 * assert.deepEqual(problems, []);
 * assert.equal(config?.broker?.brokers.get("spiffe://example.org/broker")?.podReferenceScope, "cluster");
 * const bad = buildConfig("disable_kubelet_client = true\nnode_name = \"n1\"", { trustDomain: "example.org" });
 * assert.deepEqual(bad.problems, ["disable_kubelet_client cannot be used with node_name"]);
 * ```
 *
 * @param r The top level.
 * @param blocks The blocks below `experimental`.
 * @returns The settings (meaningful only when no problem was recorded).
 */
export function readApiServerSettings(r: LevelReader, blocks: ApiServerBlocks): ApiServerSettings {
  const disableKubeletClient = r.bool("disable_kubelet_client") ?? false;
  const enableNamespaceLabels = r.bool("enable_namespace_labels") ?? false;
  const apiServerCacheEnabled = blocks.cache?.bool("enabled") ?? false;
  const broker = blocks.broker ? readBroker(blocks.broker) : null;
  if (disableKubeletClient) {
    for (const [name, kind] of KUBELET_KEYS) {
      if (isSet(r, name, kind)) r.problems.push(`disable_kubelet_client cannot be used with ${name}`);
    }
    for (const entry of broker?.brokers.values() ?? []) {
      if (entry.podReferenceScope !== "cluster") {
        r.problems.push(
          `${BROKER_PATH}.brokers[${entry.id}].pod_reference_scope must be "cluster" when disable_kubelet_client is true`,
        );
      }
    }
  }
  return { disableKubeletClient, enableNamespaceLabels, apiServerCacheEnabled, broker };
}
