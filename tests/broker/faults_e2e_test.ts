/**
 * API server faults seen through the plugin (issue 15): down, 403, slow, oversized, wrong CA, no in-cluster
 * configuration. Each is INTERNAL (upstream's code for every Kubernetes API failure), names the request,
 * never carries the token, and the plugin keeps serving. Also namespace labels: cached, refreshed, failing.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { expectedWebAppSelectors } from "../testdata/demo_pod_selectors.ts";
import { sortSelectors } from "../../src/core/selectors.ts";
import { TOKEN } from "../apiserver/_env.ts";
import { as, BROKERS, CLUSTER_BROKER, isStatus, objRef, POD_UID, startBrokerFixture } from "./_fixture.ts";

const REMOTE_POD_REF = objRef({ plural: "pods", group: "core", namespace: "remote", name: "api-0" });
const noToken = (e: unknown) => {
  assert.ok(!String((e as { details?: string }).details).includes(TOKEN), "the token never appears");
  return true;
};

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe("API server faults through AttestReference", () => {
  it("API server down: INTERNAL naming the request; the plugin keeps serving", async () => {
    const port = await closedPort();
    const env: Record<string, string> = {
      KUBERNETES_SERVICE_HOST: "127.0.0.1",
      KUBERNETES_SERVICE_PORT: String(port),
    };
    await using f = await startBrokerFixture({
      apiServer: (e) => ({ getenv: (n) => env[n], serviceAccountDir: e.saDir }),
    });
    await f.configure(BROKERS("permissive"));
    await assert.rejects(
      f.client.attestReference(REMOTE_POD_REF, as(CLUSTER_BROKER)),
      isStatus(
        13,
        /^unable to get pod from Kubernetes API: GET \/api\/v1\/namespaces\/remote\/pods\/api-0: .*ECONNREFUSED/,
      ),
    );
    // The plugin keeps serving: the kubelet path still answers.
    assert.ok((await f.client.attest(4242)).includes("container-name:app"));
  });

  it("no in-cluster configuration: INTERNAL 'unable to set up Kubernetes client'", async () => {
    await using f = await startBrokerFixture({
      apiServer: (e) => ({ getenv: () => undefined, serviceAccountDir: e.saDir }),
    });
    await f.configure(BROKERS("permissive"));
    await assert.rejects(
      f.client.attestReference(REMOTE_POD_REF, as(CLUSTER_BROKER)),
      isStatus(
        13,
        "unable to set up Kubernetes client: unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined",
      ),
    );
  });

  it("403 from the API server: INTERNAL with its message", async () => {
    await using f = await startBrokerFixture();
    await f.configure(BROKERS("permissive"));
    f.apiEnv.api.setFault({
      status: 403,
      message: 'pods "api-0" is forbidden: User "system:serviceaccount:spire:spire-agent" cannot get',
    });
    await assert.rejects(
      f.client.attestReference(REMOTE_POD_REF, as(CLUSTER_BROKER)),
      (e) =>
        isStatus(
          13,
          'unable to get pod from Kubernetes API: GET /api/v1/namespaces/remote/pods/api-0: the API server answered 403: pods "api-0" is forbidden: User "system:serviceaccount:spire:spire-agent" cannot get',
        )(e) && noToken(e),
    );
    await assert.rejects(
      f.client.attestReference(
        objRef({ plural: "deployments", group: "apps", namespace: "demo", name: "web" }),
        as(CLUSTER_BROKER),
      ),
      isStatus(13, /^unable to discover deployments\.apps: GET \/apis\/apps: the API server answered 403: /),
    );
  });

  it("a slow API server: INTERNAL timed out, within the client's bound", async () => {
    await using f = await startBrokerFixture({
      apiServer: (e) => ({ getenv: e.getenv, serviceAccountDir: e.saDir, timeoutMs: 300 }),
    });
    await f.configure(BROKERS("permissive"));
    f.apiEnv.api.setFault({ delayMs: 5000 });
    const started = performance.now();
    await assert.rejects(
      f.client.attestReference(REMOTE_POD_REF, as(CLUSTER_BROKER)),
      isStatus(13, /: timed out after 300 ms$/),
    );
    assert.ok(performance.now() - started < 4000, "bounded by the request timeout, not the API server");
  });

  it("the call's own deadline ends a slow API request (DEADLINE_EXCEEDED)", async () => {
    await using f = await startBrokerFixture();
    await f.configure(BROKERS("permissive"));
    f.apiEnv.api.setFault({ delayMs: 5000 });
    await assert.rejects(
      f.client.attestReference(REMOTE_POD_REF, { ...as(CLUSTER_BROKER), timeoutMs: 300 }),
      isStatus(4),
    );
  });

  it("an oversized answer: INTERNAL over the limit", async () => {
    await using f = await startBrokerFixture({
      apiServer: (e) => ({ getenv: e.getenv, serviceAccountDir: e.saDir, maxBodyBytes: 64 * 1024 }),
    });
    await f.configure(BROKERS("permissive"));
    f.apiEnv.api.setFault({ oversizeBytes: 300_000 });
    await assert.rejects(
      f.client.attestReference(REMOTE_POD_REF, as(CLUSTER_BROKER)),
      isStatus(13, /answer .*exceeds the limit of 65536 bytes$/),
    );
  });

  it("a CA that did not issue the API server's certificate: INTERNAL, nothing sent", async () => {
    await using f = await startBrokerFixture({
      apiServer: (e) => {
        const dir = `${e.pki.dir}/rogue-sa`;
        Deno.mkdirSync(dir);
        Deno.writeTextFileSync(`${dir}/token`, TOKEN);
        Deno.writeTextFileSync(`${dir}/ca.crt`, e.pki.rogueCa.cert);
        return { getenv: e.getenv, serviceAccountDir: dir };
      },
    });
    await f.configure(BROKERS("permissive"));
    await assert.rejects(
      f.client.attestReference(REMOTE_POD_REF, as(CLUSTER_BROKER)),
      (e) => isStatus(13, /^unable to get pod from Kubernetes API: GET .*certificate/)(e) && noToken(e),
    );
    assert.equal(f.apiEnv.api.requests.length, 0);
  });
});

describe("enable_namespace_labels through Attest", () => {
  it("adds ns-label selectors, reads each namespace once per TTL, and sees a change after it", async () => {
    await using f = await startBrokerFixture({
      apiServer: (e) => ({ getenv: e.getenv, serviceAccountDir: e.saDir, namespaceLabelsTtlMs: 300 }),
    });
    await f.configure("enable_namespace_labels = true");
    const base = expectedWebAppSelectors(POD_UID, "node-1");
    assert.deepEqual(
      await f.client.attest(4242),
      sortSelectors([...base, "ns-label:team:web", "ns-label:tier:gold"]),
    );
    await Promise.all([f.client.attest(4242), f.client.attest(4242)]);
    const nsReads = () => f.apiEnv.api.requests.filter((r) => r.path === "/api/v1/namespaces/demo").length;
    assert.equal(nsReads(), 1, "cached within the TTL");
    f.apiEnv.api.put("", "namespaces", { metadata: { name: "demo", labels: { team: "payments" } } });
    await new Promise((r) => setTimeout(r, 350));
    assert.deepEqual(await f.client.attest(4242), sortSelectors([...base, "ns-label:team:payments"]));
    assert.equal(nsReads(), 2);
  });

  it("a namespace the API server refuses or does not know fails the attestation (INTERNAL), uncached", async () => {
    await using f = await startBrokerFixture({
      apiServer: (e) => ({ getenv: e.getenv, serviceAccountDir: e.saDir, namespaceLabelsTtlMs: 50 }),
    });
    await f.configure("enable_namespace_labels = true");
    f.apiEnv.api.setFault({ status: 403, message: "namespaces is forbidden" });
    await assert.rejects(
      f.client.attest(4242),
      isStatus(
        13,
        'unable to get namespace labels for "demo": GET /api/v1/namespaces/demo: the API server answered 403: namespaces is forbidden',
      ),
    );
    f.apiEnv.api.setFault(null);
    assert.ok((await f.client.attest(4242)).includes("ns-label:team:web"), "the error was not cached");
    f.apiEnv.api.clear();
    await new Promise((r) => setTimeout(r, 100));
    await assert.rejects(
      f.client.attest(4242),
      isStatus(13, 'unable to get namespace labels for "demo": namespaces "demo" not found'),
    );
  });

  it("without enable_namespace_labels the API server is never contacted", async () => {
    await using f = await startBrokerFixture();
    await f.configure("");
    const values = await f.client.attest(4242);
    assert.ok(!values.some((v) => v.startsWith("ns-label:")));
    assert.equal(f.apiEnv.api.requests.length, 0);
  });
});
