/**
 * A fake kubelet as a real node serves it: over TLS with a certificate from a fresh test CA (valid for this
 * host's name and 127.0.0.1), and a bearer token in a file, as the plugin's `token_path` reads it. Gives the
 * plugin configuration that points at it.
 *
 * @module
 */

import { hostname } from "node:os";
import { join } from "node:path";
import { createTestPki, type TestPki } from "./certs.ts";
import { type FakeKubelet, startFakeKubelet } from "./fake_kubelet.ts";

/** Options of {@linkcode startTlsKubelet}. */
export interface TlsKubeletOptions {
  /** The bearer token, written (with a newline) to the token file. */
  readonly token: string;
  /** Whether the kubelet rejects requests without that token; otherwise it accepts any. @default {true} */
  readonly checkToken?: boolean;
  /** The pod list served at first. */
  readonly pods?: unknown;
  /** Prefix of the temporary directory that holds the token file. @default {"k8s-attestor-tls-kubelet-"} */
  readonly prefix?: string;
}

/** A running TLS kubelet, its CA and token file. */
export interface TlsKubelet {
  /** The kubelet. */
  readonly kubelet: FakeKubelet;
  /** The CA that issued its certificate (`pki.ca.certPath` is the plugin's `kubelet_ca_path`). */
  readonly pki: TestPki;
  /** A temporary directory of its own (holds the token file; tests may put more files there). */
  readonly dir: string;
  /** The token file. */
  readonly tokenPath: string;
  /**
   * The plugin configuration for this kubelet: `kubelet_secure_port`, `kubelet_ca_path` and `token_path`,
   * then `extra`, one per line.
   */
  hcl(extra?: readonly string[]): string;
  /** Stops the kubelet and removes the CA and the directory. */
  stop(): Promise<void>;
}

/**
 * Starts a fake kubelet over verified TLS with a bearer token.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { startTlsKubelet } from "./tls_kubelet.ts";
 * const tls = await startTlsKubelet({ token: "t0ken" });
 * try {
 *   assert.equal(await Deno.readTextFile(tls.tokenPath), "t0ken\n");
 *   assert.match(tls.hcl(["max_poll_attempts = 2"]), /^kubelet_secure_port = \d+\n.*\nmax_poll_attempts = 2\n$/s);
 * } finally {
 *   await tls.stop();
 * }
 * ```
 *
 * @param options Token, whether it is checked, and the first pod list.
 * @returns The running kubelet; call `stop()` when done.
 */
export async function startTlsKubelet(options: TlsKubeletOptions): Promise<TlsKubelet> {
  const dir = await Deno.makeTempDir({ prefix: options.prefix ?? "k8s-attestor-tls-kubelet-" });
  let pki: TestPki | undefined;
  try {
    pki = await createTestPki();
    const cert = await pki.issueServerCert("kubelet", { dns: [hostname()], ip: ["127.0.0.1"] });
    const tokenPath = join(dir, "token");
    await Deno.writeTextFile(tokenPath, `${options.token}\n`);
    const kubelet = await startFakeKubelet({
      tls: { cert: cert.cert, key: cert.key },
      auth: options.checkToken === false ? undefined : { kind: "token", tokenPath },
      pods: options.pods,
    });
    const ca = pki;
    return {
      kubelet,
      pki: ca,
      dir,
      tokenPath,
      hcl: (extra = []) =>
        [
          `kubelet_secure_port = ${kubelet.port}`,
          `kubelet_ca_path = "${ca.ca.certPath}"`,
          `token_path = "${tokenPath}"`,
          ...extra,
        ].join("\n") + "\n",
      async stop() {
        await kubelet.stop();
        await ca.cleanup();
        await Deno.remove(dir, { recursive: true });
      },
    };
  } catch (err) {
    await pki?.cleanup();
    await Deno.remove(dir, { recursive: true });
    throw err;
  }
}
