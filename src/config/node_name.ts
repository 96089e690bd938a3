/**
 * The effective node name: `node_name`, else the value of the environment variable that `node_name_env`
 * names (`MY_NODE_NAME` by default). The node name becomes the kubelet URL's host in secure mode, so it
 * must be a DNS name or an IP literal.
 *
 * @module
 */

import type { LevelReader } from "./level_reader.ts";
import { quoteValue } from "./problem_text.ts";

const DEFAULT_NODE_NAME_ENV = "MY_NODE_NAME";
const DNS_NAME_RE =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * True for a DNS name or an IP literal that can safely go into a URL's host part.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isValidHost } from "./node_name.ts";
 * assert.ok(isValidHost("node-a.example") && isValidHost("fd00::7") && isValidHost("10.0.0.7"));
 * assert.ok(!isValidHost("evil.example/x?") && !isValidHost("node-1\n"));
 * ```
 *
 * @param name The candidate host.
 * @returns True when it is a host name.
 */
export function isValidHost(name: string): boolean {
  if (DNS_NAME_RE.test(name)) return true;
  if (/^[0-9A-Fa-f:.]+$/.test(name) && name.includes(":")) {
    try {
      return new URL(`https://[${name}]/`).hostname !== "";
    } catch {
      return false;
    }
  }
  return false;
}

/** What {@linkcode resolveNodeName} finds. */
export interface NodeName {
  /** `node_name_env`, `MY_NODE_NAME` by default. */
  readonly nodeNameEnv: string;
  /** The effective node name, or "" (none, or after a problem). */
  readonly nodeName: string;
}

/**
 * Resolves the node name from the two keys (already read, at their place in the key order) and the
 * environment, recording a problem for a variable name that cannot name one and for a node name that is
 * not a host name. The environment is read only when `node_name` is unset.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LevelReader } from "./level_reader.ts";
 * import { resolveNodeName } from "./node_name.ts";
 * const r = new LevelReader(new Map(), "", []);
 * const getenv = (name: string) => (name === "MY_NODE_NAME" ? "worker-1" : undefined);
 * assert.deepEqual(resolveNodeName(r, undefined, undefined, getenv), { nodeNameEnv: "MY_NODE_NAME", nodeName: "worker-1" });
 * assert.deepEqual(r.problems, []);
 * ```
 *
 * @param r The top level (its `has` and its problems list).
 * @param nodeNameEnvRaw The value of `node_name_env`, undefined when absent or unusable.
 * @param nodeNameRaw The value of `node_name`, undefined when absent or unusable.
 * @param getenv Reads an environment variable; one that throws counts as unset.
 * @returns The variable name and the node name.
 */
export function resolveNodeName(
  r: LevelReader,
  nodeNameEnvRaw: string | undefined,
  nodeNameRaw: string | undefined,
  getenv: (name: string) => string | undefined,
): NodeName {
  const problems = r.problems;
  // Node name: node_name, else the variable named by node_name_env.
  const nodeNameEnv = nodeNameEnvRaw === undefined || nodeNameEnvRaw === ""
    ? DEFAULT_NODE_NAME_ENV
    : nodeNameEnvRaw;
  let nodeName = "";
  if (/[=\0]/.test(nodeNameEnv)) {
    problems.push(`node_name_env: ${quoteValue(nodeNameEnv)} is not a valid environment variable name`);
  } else if (nodeNameRaw !== undefined && nodeNameRaw !== "") {
    nodeName = nodeNameRaw;
  } else if (!(r.has("node_name") && nodeNameRaw === undefined)) {
    let fromEnv: string | undefined;
    try {
      fromEnv = getenv(nodeNameEnv);
    } catch {
      fromEnv = undefined;
    }
    nodeName = typeof fromEnv === "string" ? fromEnv : "";
  }
  // The node name becomes the kubelet URL's host in secure mode: refuse anything that is not a host. It is
  // checked in read-only mode too, where it is not used: a node name is always a host name, and one that is
  // not (megabytes of text, say) is a mistake to report, not a value to carry around and log.
  if (nodeName !== "" && !isValidHost(nodeName)) {
    const source = nodeNameRaw ? "node_name" : `node name from environment variable ${nodeNameEnv}`;
    problems.push(`${source}: ${quoteValue(nodeName)} is not a valid host name`);
  }
  return { nodeNameEnv, nodeName };
}
