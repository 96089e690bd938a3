/**
 * Shared by the buildConfig tests: the core configuration, getenv stand-ins, the defaults written out, and
 * a Config as plain data so that `deepEqual` compares everything.
 *
 * @module
 */

import type { Config } from "../../src/config/types.ts";

/** The core configuration of the tests. */
export const TD = { trustDomain: "example.org" };
/** A getenv with no variables set. */
export const noEnv = (): string | undefined => undefined;
/** A getenv with `vars` set. */
export const env = (vars: Record<string, string>) => (name: string): string | undefined => vars[name];

/** The defaults with the trust domain above and no node name. */
export const DEFAULTS = {
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
  reloadIntervalMs: 60000,
  useNewContainerLocator: true,
  kubeletCgroupRoot: null,
  verboseContainerLocatorLogs: false,
  disableKubeletClient: false,
  enableNamespaceLabels: false,
  apiServerCacheEnabled: false,
  broker: null,
  sigstore: null,
  sigstoreCurrent: null,
};

/** A Config as plain data (the map as sorted entries) so deepEqual compares everything. */
export function plain(c: Config): Record<string, unknown> {
  const out: Record<string, unknown> = { ...c };
  if (c.sigstore) {
    out.sigstore = {
      ...c.sigstore,
      skipSignatureVerificationImageList: [...c.sigstore.skipSignatureVerificationImageList],
      allowedSubjects: [...c.sigstore.allowedSubjects.entries()].map(([k, v]) => [k, [...v]]),
    };
  }
  if (c.broker) out.broker = { ...c.broker, brokers: [...c.broker.brokers.values()].map((b) => ({ ...b })) };
  if (c.sigstoreCurrent) {
    const s = c.sigstoreCurrent;
    out.sigstoreCurrent = {
      ...s,
      allowedIdentities: [...s.allowedIdentities.entries()].map(([k, v]) => [k, [...v]]),
      skippedImages: [...s.skippedImages],
      registryCredentials: [...s.registryCredentials.entries()].map(([k, v]) => [k, {
        username: v.username,
        password: v.password,
      }]),
      ignoredCredentials: [...s.ignoredCredentials],
    };
  }
  return out;
}

/** The defaults with `over` on top, as plain data. */
export function expected(over: Partial<Config>): Record<string, unknown> {
  return plain({ ...DEFAULTS, ...over } as Config);
}
