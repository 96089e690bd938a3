/**
 * Test helper for the kubelet client tests: a throw-away PKI and temporary directory per `describe`, fake
 * kubelets stopped afterwards, and the small helpers every client test file uses.
 *
 * @module
 */

import { after, before } from "node:test";
import assert from "node:assert/strict";
import { AttestorError, type ErrorReason } from "../../src/errors.ts";
import { createHclogLogger, type Logger } from "../../src/log.ts";
import { type CertFiles, createTestPki, type TestPki } from "../../src/testing/certs.ts";
import { type FakeKubelet, type FakeKubeletAuth, startFakeKubelet } from "../../src/testing/fake_kubelet.ts";
import type { Config } from "../../src/config/types.ts";
import { testConfig } from "./_config.ts";

/** The pod list every fake kubelet serves unless told otherwise. */
export const PODS = {
  kind: "PodList",
  apiVersion: "v1",
  items: [{ metadata: { uid: "u1", name: "p", namespace: "ns" } }],
};
/** {@linkcode PODS} as the client returns it. */
export const PODS_TEXT = JSON.stringify(PODS);
/** A token of a realistic shape (a one-letter token would be redacted from every error message). */
export const BOOTSTRAP_TOKEN = "07401b.f395accd246ae52d";

/** A logger that keeps its hclog lines. */
export function captureLogger(): { lines: string[]; logger: Logger } {
  const lines: string[] = [];
  return { lines, logger: createHclogLogger({ write: (l) => lines.push(l) }) };
}

/** Awaits `p`, which must reject with an {@linkcode AttestorError} of `reason` matching `pattern`. */
export async function rejectsWith(
  p: Promise<unknown>,
  reason: ErrorReason,
  pattern: RegExp,
): Promise<AttestorError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof AttestorError, `expected AttestorError, got ${err}`);
    assert.equal(err.reason, reason, err.message);
    assert.match(err.message, pattern);
    return err;
  }
  assert.fail("expected a rejection");
}

/** The certificates issued for the client tests. */
export interface ClientTestCerts {
  /** Server certificate for `localhost`. */
  readonly localhost: CertFiles;
  /** Server certificate for `kubelet-host.test` only. */
  readonly host: CertFiles;
  /** Server certificate with only the IP SAN 127.0.0.1. */
  readonly ip: CertFiles;
  /** An expired server certificate for `localhost`. */
  readonly expired: CertFiles;
  /** A `localhost` server certificate from the rogue CA. */
  readonly rogue: CertFiles;
  /** A client certificate (CN `spire-agent`). */
  readonly client: CertFiles;
  /** A client certificate from the rogue CA. */
  readonly rogueClient: CertFiles;
}

/** What {@linkcode useClientTestEnv} gives a test file (fields are set once its `before` hook ran). */
export interface ClientTestEnv {
  /** The PKI. */
  readonly pki: TestPki;
  /** A temporary directory, removed afterwards. */
  readonly dir: string;
  /** The issued certificates. */
  readonly certs: ClientTestCerts;
  /** Starts a fake kubelet serving {@linkcode PODS} (stopped after the tests). */
  start(options: Parameters<typeof startFakeKubelet>[0]): Promise<FakeKubelet>;
  /** Starts a TLS fake kubelet for `localhost` that wants `Bearer <content of tokenPath>`. */
  startWithToken(tokenPath: string): Promise<FakeKubelet>;
  /** Starts a TLS fake kubelet for `localhost` that asks for a client certificate of the trusted CA. */
  startWithClientCa(auth: FakeKubeletAuth): Promise<FakeKubelet>;
  /** Writes `content` to a new file in {@linkcode ClientTestEnv.dir} and returns its path. */
  writeFile(content: string): Promise<string>;
  /** A secure-port configuration for kubelet `k`, trusting the test CA, with `overrides`. */
  secure(k: FakeKubelet, overrides: Partial<Config>): Config;
  /** The `certificate_path`/`private_key_path` settings for a client certificate. */
  clientCertPaths(cert: CertFiles): Pick<Config, "certificatePath" | "privateKeyPath">;
}

/**
 * Registers `before`/`after` hooks in the calling `describe` that create the directory and (unless `tls` is
 * false) the PKI and the certificates, and stop every fake kubelet and delete everything afterwards.
 *
 * @param options `tls: false` for plain-HTTP tests (no PKI; `pki` and `certs` are then unset).
 * @returns The environment, usable inside the tests.
 */
export function useClientTestEnv(options: { tls?: boolean } = {}): ClientTestEnv {
  const kubelets: FakeKubelet[] = [];
  let fileNo = 0;
  let pki!: TestPki;
  let dir!: string;
  let certs!: ClientTestCerts;

  before(async () => {
    dir = await Deno.makeTempDir({ prefix: "k8s-attestor-client-test-" });
    if (options.tls === false) return;
    pki = await createTestPki();
    certs = {
      localhost: await pki.issueServerCert("localhost", { dns: ["localhost"] }),
      host: await pki.issueServerCert("host", { dns: ["kubelet-host.test"] }),
      ip: await pki.issueServerCert("ip", { ip: ["127.0.0.1"] }),
      expired: await pki.issueServerCert("expired", { dns: ["localhost"], expired: true }),
      rogue: await pki.issueServerCert("rogue", { dns: ["localhost"], rogue: true }),
      client: await pki.issueClientCert("client"),
      rogueClient: await pki.issueClientCert("rogue-client", { rogue: true }),
    };
  });

  after(async () => {
    for (const k of kubelets) await k.stop();
    await pki?.cleanup();
    await Deno.remove(dir, { recursive: true });
  });

  const start = async (options: Parameters<typeof startFakeKubelet>[0]) => {
    const k = await startFakeKubelet({ pods: PODS, ...options });
    kubelets.push(k);
    return k;
  };

  return {
    get pki() {
      return pki;
    },
    get dir() {
      return dir;
    },
    get certs() {
      return certs;
    },
    start,
    startWithToken: (tokenPath) => start({ tls: certs.localhost, auth: { kind: "token", tokenPath } }),
    startWithClientCa: (auth) => start({ tls: { ...certs.localhost, clientCa: pki.ca.cert }, auth }),
    async writeFile(content) {
      const path = `${dir}/file-${fileNo++}`;
      await Deno.writeTextFile(path, content);
      return path;
    },
    secure: (k, overrides) =>
      testConfig({ kubeletSecurePort: k.port, kubeletCaPath: pki.ca.certPath, ...overrides }),
    clientCertPaths: (cert) => ({ certificatePath: cert.certPath, privateKeyPath: cert.keyPath }),
  };
}
