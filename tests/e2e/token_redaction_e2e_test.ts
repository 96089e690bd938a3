/**
 * End to end on Linux (issue 9, finding 7): the plugin loaded as spire-agent loads it, a real process in a
 * real kubepods cgroup, and a fake kubelet over verified TLS that answers 401 with a body echoing the bearer
 * token it received, in every encoding, placed across the 1 KiB cut of the error text. Neither the Attest
 * error nor any line the plugin logs holds an 8-character piece of the token; with the echo gone, the same
 * process attests normally. Skipped, with the reason, where cgroups cannot be created.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { demoPodList } from "../../src/demo/pods.ts";
import type { FakeKubelet } from "../../src/testing/fake_kubelet.ts";
import type { PluginHost } from "../../src/testing/plugin_host.ts";
import { startTlsKubelet, type TlsKubelet } from "../../src/testing/tls_kubelet.ts";
import { expectedWebAppSelectors } from "../testdata/demo_pod_selectors.ts";
import { assertNoPiece, assertNoPieceInLogLine, ENCODINGS, TOKEN } from "../kubelet/_secrets.ts";
import { loadPlugin, unloadThenDispose } from "./_agent.ts";
import { cgroupSupport, startWorkload, type Workload } from "./_workload.ts";

const { hierarchies, skip } = await cgroupSupport();

const NODE = "node-e2e";
const CUT = 1024;

describe("token echoed by the kubelet end to end: real cgroup + TLS kubelet + plugin over go-plugin", {
  skip,
}, () => {
  let tls: TlsKubelet;
  let kubelet: FakeKubelet;
  let workload: Workload;
  let host: PluginHost;
  const hosts: PluginHost[] = [];

  before(async () => {
    if (skip) return;
    workload = await startWorkload(hierarchies[0]);
    // The kubelet does not check the token: its faults answer 401 with whatever token it received.
    tls = await startTlsKubelet({
      token: TOKEN,
      checkToken: false,
      pods: demoPodList({ podUid: workload.podUid, containerId: workload.containerId, nodeName: NODE }),
      prefix: "k8s-attestor-e2e-token-",
    });
    kubelet = tls.kubelet;
    host = await loadPlugin(tls.hcl(['poll_retry_interval = "10ms"', "max_poll_attempts = 2"]), hosts);
  });

  after(async () => {
    await unloadThenDispose(host, hosts);
    await workload?.stop();
    await tls?.stop();
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
