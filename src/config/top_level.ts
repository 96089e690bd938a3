/**
 * Reads the top-level keys of `plugin_data` (everything but the `experimental` and `sigstore` blocks) with their
 * defaults, then checks the rules between keys (the two ports, the client certificate and key, anonymous
 * authentication) and resolves the node name. Problems come in a fixed order: each key's own problems in
 * key order, then the poll-attempt bounds, then the rules between keys, then the node name.
 *
 * @module
 */

import type { ApiServerSettings, Config } from "./types.ts";
import { type LevelReader, readDuration, readPort } from "./level_reader.ts";
import { quoteValue } from "./problem_text.ts";
import { resolveNodeName } from "./node_name.ts";
import { parseCgroupRoot } from "../platform/unix/anchor.ts";

const DEFAULT_SECURE_PORT = 10250;
const DEFAULT_CA_PATH = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";
const DEFAULT_TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount/token";
const DEFAULT_MAX_POLL_ATTEMPTS = 60;
const DEFAULT_POLL_RETRY_MS = 500;
const DEFAULT_RELOAD_MS = 60_000;

/**
 * The settings the top level gives: the whole {@linkcode Config} but the trust domain, the sigstore blocks
 * and the API server settings (`broker.ts`).
 */
export type TopLevelSettings = Omit<
  Config,
  "trustDomain" | "sigstore" | "sigstoreCurrent" | keyof ApiServerSettings
>;

/** Reads `kubelet_cgroup_root`: an absolute cgroupfs path, or null for the defaults. */
function readCgroupRoot(r: LevelReader): string | null {
  const kubeletCgroupRootRaw = r.string("kubelet_cgroup_root");
  let kubeletCgroupRoot: string | null = null;
  if (kubeletCgroupRootRaw !== undefined && kubeletCgroupRootRaw !== "") {
    try {
      parseCgroupRoot(kubeletCgroupRootRaw);
      kubeletCgroupRoot = kubeletCgroupRootRaw;
    } catch (err) {
      r.problems.push(`kubelet_cgroup_root: ${quoteValue(kubeletCgroupRootRaw)} ${(err as Error).message}`);
    }
  }
  return kubeletCgroupRoot;
}

/** Bounds `max_poll_attempts` (> 0, a safe integer); the default when it is unset or unusable. */
function checkMaxPollAttempts(maxPollRaw: bigint | undefined, problems: string[]): number {
  let maxPollAttempts = DEFAULT_MAX_POLL_ATTEMPTS;
  if (maxPollRaw !== undefined) {
    if (maxPollRaw <= 0n) problems.push(`max_poll_attempts must be greater than zero, got ${maxPollRaw}`);
    else if (maxPollRaw > BigInt(Number.MAX_SAFE_INTEGER)) {
      problems.push(`max_poll_attempts is too large, got ${maxPollRaw}`);
    } else maxPollAttempts = Number(maxPollRaw);
  }
  return maxPollAttempts;
}

/** The kubelet keys that rules between keys look at (undefined: absent or unusable). */
interface KubeletAccess {
  readonly readOnlyPort: number | undefined;
  readonly securePort: number | undefined;
  readonly tokenPath: string | undefined;
  readonly certificatePath: string | undefined;
  readonly privateKeyPath: string | undefined;
  readonly useAnonymousAuthentication: boolean;
}

/** The rules between the kubelet keys: one port, certificate and key together, anonymous means no credentials. */
function checkKubeletAccess(r: LevelReader, access: KubeletAccess): void {
  const { readOnlyPort, securePort, tokenPath, certificatePath, privateKeyPath } = access;
  const problems = r.problems;
  if (readOnlyPort !== undefined && securePort !== undefined) {
    problems.push(
      "cannot use both the read-only and secure port (kubelet_read_only_port and kubelet_secure_port are both set)",
    );
  }
  const certSet = certificatePath !== undefined && certificatePath !== "";
  const keySet = privateKeyPath !== undefined && privateKeyPath !== "";
  if (certSet && !keySet && !(r.has("private_key_path") && privateKeyPath === undefined)) {
    problems.push("the private key path is required with the certificate path (set private_key_path)");
  }
  if (keySet && !certSet && !(r.has("certificate_path") && certificatePath === undefined)) {
    problems.push("the certificate path is required with the private key path (set certificate_path)");
  }
  if (access.useAnonymousAuthentication) {
    if (tokenPath !== undefined && tokenPath !== "") {
      problems.push("use_anonymous_authentication cannot be used with token_path");
    }
    if (certSet) problems.push("use_anonymous_authentication cannot be used with certificate_path");
    if (keySet) problems.push("use_anonymous_authentication cannot be used with private_key_path");
  }
}

/**
 * Reads every top-level key but `experimental` and `sigstore`, records every problem (see the module text for the order)
 * and returns the settings with the defaults applied. The settings mean something only when no problem
 * was recorded.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LevelReader } from "./level_reader.ts";
 * import { readTopLevel } from "./top_level.ts";
 * const level = new Map([["kubelet_read_only_port", { kind: "number", text: "10255" } as const]]);
 * const r = new LevelReader(level, "", []);
 * const settings = readTopLevel(r, () => undefined);
 * assert.deepEqual(r.problems, []);
 * assert.equal(settings.kubeletReadOnlyPort, 10255);
 * assert.equal(settings.kubeletSecurePort, 0);
 * assert.equal(settings.maxPollAttempts, 60);
 * ```
 *
 * @param r The top level; its problems list receives the problems.
 * @param getenv Reads the node-name variable.
 * @returns The settings, in {@linkcode Config} order.
 */
export function readTopLevel(r: LevelReader, getenv: (name: string) => string | undefined): TopLevelSettings {
  const disableContainerSelectors = r.bool("disable_container_selectors") ?? false;
  const readOnlyPort = readPort(r, "kubelet_read_only_port");
  const securePort = readPort(r, "kubelet_secure_port");
  const kubeletCaPath = r.path_("kubelet_ca_path");
  const skipKubeletVerification = r.bool("skip_kubelet_verification") ?? false;
  const tokenPath = r.path_("token_path");
  const certificatePath = r.path_("certificate_path");
  const privateKeyPath = r.path_("private_key_path");
  const useAnonymousAuthentication = r.bool("use_anonymous_authentication") ?? false;
  const nodeNameEnvRaw = r.string("node_name_env");
  const nodeNameRaw = r.string("node_name");
  const maxPollRaw = r.int("max_poll_attempts");
  const pollRetryIntervalMs = readDuration(
    r,
    "poll_retry_interval",
    "poll retry interval",
    DEFAULT_POLL_RETRY_MS,
  );
  const reloadIntervalMs = readDuration(r, "reload_interval", "reload interval", DEFAULT_RELOAD_MS);
  const useNewContainerLocator = r.bool("use_new_container_locator") ?? true;
  const verboseContainerLocatorLogs = r.bool("verbose_container_locator_logs") ?? false;
  const kubeletCgroupRoot = readCgroupRoot(r);

  const maxPollAttempts = checkMaxPollAttempts(maxPollRaw, r.problems);
  checkKubeletAccess(r, {
    readOnlyPort,
    securePort,
    tokenPath,
    certificatePath,
    privateKeyPath,
    useAnonymousAuthentication,
  });
  const { nodeNameEnv, nodeName } = resolveNodeName(r, nodeNameEnvRaw, nodeNameRaw, getenv);

  return {
    disableContainerSelectors,
    kubeletReadOnlyPort: readOnlyPort ?? 0,
    kubeletSecurePort: readOnlyPort !== undefined ? 0 : securePort ?? DEFAULT_SECURE_PORT,
    kubeletCaPath: kubeletCaPath || DEFAULT_CA_PATH,
    skipKubeletVerification,
    tokenPath: tokenPath || DEFAULT_TOKEN_PATH,
    certificatePath: certificatePath ?? "",
    privateKeyPath: privateKeyPath ?? "",
    useAnonymousAuthentication,
    nodeNameEnv,
    nodeName,
    maxPollAttempts,
    pollRetryIntervalMs: pollRetryIntervalMs!,
    reloadIntervalMs: reloadIntervalMs!,
    useNewContainerLocator,
    kubeletCgroupRoot,
    verboseContainerLocatorLogs,
  };
}
