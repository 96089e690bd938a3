/**
 * Shared set-up of the API server tests: a throw-away PKI, a service-account directory (token and CA) and
 * a fake API server serving a certificate for 127.0.0.1, plus the in-cluster environment pointing at it.
 */
import { createTestPki, type TestPki } from "../../src/testing/certs.ts";
import {
  type FakeApiServer,
  type FakeResource,
  startFakeApiServer,
} from "../../src/testing/fake_apiserver.ts";
import { type InClusterLocation, inClusterLocation } from "../../src/apiserver/in_cluster.ts";

/** The token the fake accepts at first. */
export const TOKEN = "apiserver-test-token-0123456789";

/** A running fake with its credentials. */
export interface ApiEnv extends AsyncDisposable {
  readonly pki: TestPki;
  readonly api: FakeApiServer;
  /** The service-account directory (token, ca.crt). */
  readonly saDir: string;
  /** `KUBERNETES_SERVICE_HOST/PORT` for the fake. */
  readonly env: Record<string, string>;
  readonly getenv: (name: string) => string | undefined;
  readonly location: InClusterLocation;
  /** Writes a new token into the directory and makes the fake accept only it. */
  rotateToken(token: string): Promise<void>;
}

/** Starts the PKI, the service-account directory and the fake API server. */
export async function startApiEnv(
  options: { resources?: FakeResource[]; dns?: string[] } = {},
): Promise<ApiEnv> {
  const pki = await createTestPki();
  const cert = await pki.issueServerCert("apiserver", { ip: ["127.0.0.1"], dns: options.dns ?? [] });
  const saDir = await Deno.makeTempDir({ prefix: "k8s-attestor-sa-" });
  const serverTokenPath = `${pki.dir}/server-token`;
  await Deno.writeTextFile(`${saDir}/token`, TOKEN + "\n");
  await Deno.writeTextFile(serverTokenPath, TOKEN);
  await Deno.writeTextFile(`${saDir}/ca.crt`, pki.ca.cert);
  const api = await startFakeApiServer({
    tls: { cert: cert.cert, key: cert.key },
    tokenPath: serverTokenPath,
    resources: options.resources,
  });
  const env = { KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT: String(api.port) };
  const getenv = (name: string) => (env as Record<string, string>)[name];
  const stop = async () => {
    await api.stop();
    await Deno.remove(saDir, { recursive: true }).catch(() => {});
    await pki.cleanup();
  };
  return {
    pki,
    api,
    saDir,
    env,
    getenv,
    location: inClusterLocation({ getenv, serviceAccountDir: saDir }),
    async rotateToken(token) {
      await Deno.writeTextFile(`${saDir}/token`, token);
      await Deno.writeTextFile(serverTokenPath, token);
    },
    [Symbol.asyncDispose]: stop,
  };
}
