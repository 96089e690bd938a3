/**
 * End to end on Linux (issue 9, finding 7): the plugin loaded as spire-agent loads it, a real process in a
 * real kubepods cgroup, and a fake kubelet over verified TLS that answers 401 with a body echoing the bearer
 * token it received, in every encoding, placed across the 1 KiB cut of the error text. Neither the Attest
 * error nor any line the plugin logs holds an 8-character piece of the token; with the echo gone, the same
 * process attests normally. Skipped, with the reason, where cgroups cannot be created.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { hostname } from "node:os";
import { join } from "node:path";
import { demoPodList } from "../../src/demo/pods.ts";
import { createTestPki, type TestPki } from "../../src/testing/certs.ts";
import { detectCgroupSupport } from "../../src/testing/cgroups.ts";
import { type FakeKubelet, startFakeKubelet } from "../../src/testing/fake_kubelet.ts";
import { PluginHost } from "../../src/testing/plugin_host.ts";
import { expectedWebAppSelectors } from "../testdata/demo_pod_selectors.ts";
import { assertNoPiece, assertNoPieceInLogLine, ENCODINGS, TOKEN } from "../kubelet/_secrets.ts";
import { startWorkload, type Workload } from "./_workload.ts";

const support = await detectCgroupSupport();
const skip = typeof support === "string" ? `SKIPPED (real cgroups unavailable): ${support}` : false;
if (skip) console.error(`\n*** ${skip} ***\n`);

const NODE = "node-e2e";
const CUT = 1024;

describe("token echoed by the kubelet end to end: real cgroup + TLS kubelet + plugin over go-plugin", {
  skip,
}, () => {
  let pki: TestPki;
  let kubelet: FakeKubelet;
  let work: string;
  let workload: Workload;
  let host: PluginHost;

  before(async () => {
    if (typeof support === "string") return;
    work = await Deno.makeTempDir({ prefix: "k8s-attestor-e2e-token-" });
    pki = await createTestPki();
    const cert = await pki.issueServerCert("kubelet", { dns: [hostname()], ip: ["127.0.0.1"] });
    const tokenPath = join(work, "token");
    await Deno.writeTextFile(tokenPath, `${TOKEN}\n`);
    workload = await startWorkload(support[0]);
    kubelet = await startFakeKubelet({
      tls: { cert: cert.cert, key: cert.key },
      pods: demoPodList({ podUid: workload.podUid, containerId: workload.containerId, nodeName: NODE }),
    });
    host = await PluginHost.start({ env: { MY_NODE_NAME: undefined } });
    await host.load({
      hcl: [
        `kubelet_secure_port = ${kubelet.port}`,
        `kubelet_ca_path = "${pki.ca.certPath}"`,
        `token_path = "${tokenPath}"`,
        'poll_retry_interval = "10ms"',
        "max_poll_attempts = 2",
      ].join("\n") + "\n",
      trustDomain: "example.org",
    });
  });

  after(async () => {
    if (host) {
      const exit = await host.unload();
      assert.equal(exit.code, 0);
      assert.deepEqual(host.logProblems(), []);
      await host.dispose();
    }
    await workload?.stop();
    await kubelet?.stop();
    await pki?.cleanup();
    if (work) await Deno.remove(work, { recursive: true });
  });

  for (const [name, encode] of Object.entries(ENCODINGS)) {
    it(`${name}: the Attest error and every log line are free of the token`, async () => {
      const encoded = encode(TOKEN);
      for (const start of [CUT - encoded.length + 5, CUT - Math.floor(encoded.length / 2), CUT - 8]) {
        kubelet.setFault({
          status: 401,
          body: (authorization) =>
            `${"-".repeat(start)}${encode((authorization ?? "").replace(/^Bearer /, ""))} rejected\n`,
        });
        await assert.rejects(host.client.attest(workload.pid), (err: { code: number; details: string }) => {
          assert.equal(err.code, 14, "UNAVAILABLE");
          assert.match(err.details, /^unexpected status code on pods response: 401 -+\[redacted\]/);
          assertNoPiece(err.details, TOKEN, encoded);
          return true;
        });
      }
      assert.equal(
        kubelet.requests.at(-1)?.authorization,
        `Bearer ${TOKEN}`,
        "the kubelet did receive the token",
      );
      assert.ok(host.stderrLines.some((l) => l.includes("unexpected status code on pods response: 401")));
      for (const line of host.stderrLines) assertNoPieceInLogLine(line, TOKEN, encoded);
    });
  }

  it("without the fault the same process gets exactly its selectors", async () => {
    kubelet.setFault(null);
    await new Promise((r) => setTimeout(r, 20)); // past poll_retry_interval
    assert.deepEqual(await host.client.attest(workload.pid), expectedWebAppSelectors(workload.podUid, NODE));
  });
});
