/**
 * Test helper: a complete {@linkcode Config} with upstream defaults, overridable per test.
 *
 * @module
 */

import type { Config } from "../../src/config/types.ts";

/**
 * Returns a configuration with every default applied and `overrides` on top.
 *
 * @param overrides Fields to change.
 * @returns The configuration.
 */
export function testConfig(overrides: Partial<Config> = {}): Config {
  return {
    trustDomain: "example.org",
    disableContainerSelectors: false,
    kubeletReadOnlyPort: 0,
    kubeletSecurePort: 10250,
    kubeletCaPath: "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
    skipKubeletVerification: false,
    tokenPath: "/var/run/secrets/kubernetes.io/serviceaccount/token",
    certificatePath: "",
    privateKeyPath: "",
    useAnonymousAuthentication: false,
    nodeNameEnv: "MY_NODE_NAME",
    nodeName: "",
    maxPollAttempts: 60,
    pollRetryIntervalMs: 500,
    reloadIntervalMs: 60_000,
    useNewContainerLocator: true,
    verboseContainerLocatorLogs: false,
    sigstore: null,
    ...overrides,
  };
}
