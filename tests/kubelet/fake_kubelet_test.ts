/**
 * The fake kubelet itself: pods replaced at runtime, token file re-read per request, faults, counter, clean
 * stop. (Its TLS and client-certificate modes are exercised by client_test.ts.)
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { startFakeKubelet } from "../../src/testing/fake_kubelet.ts";

async function get(url: string, token?: string): Promise<[number, string]> {
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return [res.status, await res.text()];
}

describe("fake kubelet", () => {
  it("serves the pod list, replaceable at runtime, and counts requests", async () => {
    await using k = await startFakeKubelet({ pods: { items: [1] } });
    assert.deepEqual(await get(`${k.baseUrl}/pods`), [200, '{"items":[1]}']);
    k.setPods({ items: [2] });
    assert.deepEqual(await get(`${k.baseUrl}/pods`), [200, '{"items":[2]}']);
    k.setPodsBody("raw");
    assert.deepEqual(await get(`${k.baseUrl}/pods`), [200, "raw"]);
    assert.equal(k.requestCount, 3);
    assert.equal((await get(`${k.baseUrl}/other`))[0], 404);
    assert.equal(k.requestCount, 3, "only /pods is counted");
  });

  it("re-reads its token file on every request", async () => {
    const dir = await Deno.makeTempDir();
    try {
      const tokenPath = `${dir}/token`;
      await Deno.writeTextFile(tokenPath, "one\n");
      await using k = await startFakeKubelet({ auth: { kind: "token", tokenPath } });
      assert.equal((await get(`${k.baseUrl}/pods`, "one"))[0], 200);
      assert.equal((await get(`${k.baseUrl}/pods`))[0], 401);
      await Deno.writeTextFile(tokenPath, "two");
      assert.equal((await get(`${k.baseUrl}/pods`, "one"))[0], 401);
      assert.equal((await get(`${k.baseUrl}/pods`, "two"))[0], 200);
      await Deno.remove(tokenPath);
      assert.equal((await get(`${k.baseUrl}/pods`, "two"))[0], 401, "no token file: everything is refused");
      assert.deepEqual(k.requests.map((r) => r.status), [200, 401, 401, 200, 401]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  it("injects status and garbage faults until cleared", async () => {
    await using k = await startFakeKubelet({});
    k.setFault({ status: 500, body: "nope" });
    assert.deepEqual(await get(`${k.baseUrl}/pods`), [500, "nope"]);
    k.setFault({ garbage: true });
    const [status, body] = await get(`${k.baseUrl}/pods`);
    assert.equal(status, 200);
    assert.throws(() => JSON.parse(body));
    k.setFault(null);
    assert.equal((await get(`${k.baseUrl}/pods`))[0], 200);
  });

  it("stop cancels delayed answers and is idempotent", async () => {
    const k = await startFakeKubelet({});
    k.setFault({ delayMs: 60_000 });
    const pending = fetch(`${k.baseUrl}/pods`).then((r) => r.text()).catch((e) => e);
    while (k.requestCount === 0) await new Promise((r) => setTimeout(r, 5));
    await k.stop();
    await k.stop();
    assert.ok(await pending, "the pending request settled");
    await assert.rejects(fetch(`${k.baseUrl}/pods`));
  });
});
