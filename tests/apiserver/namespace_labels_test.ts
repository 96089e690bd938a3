import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createApiServerClient } from "../../src/apiserver/client.ts";
import { NamespaceLabelCache } from "../../src/apiserver/namespace_labels.ts";
import { type ApiEnv, startApiEnv } from "./_env.ts";

describe("NamespaceLabelCache against the fake API server", () => {
  let e: ApiEnv;
  const reads = (ns: string) => e.api.requests.filter((r) => r.path === `/api/v1/namespaces/${ns}`).length;
  before(async () => {
    e = await startApiEnv();
    for (const ns of ["a", "b", "c"]) {
      e.api.put("", "namespaces", { metadata: { name: ns, labels: { n: ns } } });
    }
  });
  after(() => e[Symbol.asyncDispose]());

  it("concurrent look-ups of one namespace share one request; metadata-only Accept", async () => {
    const cache = new NamespaceLabelCache(createApiServerClient({ location: e.location }));
    const results = await Promise.all(Array.from({ length: 10 }, () => cache.labels("a")));
    assert.ok(results.every((r) => JSON.stringify(r) === '[["n","a"]]'));
    assert.equal(reads("a"), 1);
    assert.match(
      e.api.requests.at(-1)!.accept ?? "",
      /^application\/json;as=PartialObjectMetadata;g=meta\.k8s\.io;v=v1/,
    );
  });

  it("keeps at most maxEntries namespaces, the oldest evicted first", async () => {
    const before = { a: reads("a"), b: reads("b"), c: reads("c") };
    const cache = new NamespaceLabelCache(createApiServerClient({ location: e.location }), { maxEntries: 2 });
    await cache.labels("a");
    await cache.labels("b");
    await cache.labels("c"); // evicts a
    await cache.labels("b"); // cached
    await cache.labels("a"); // read again
    assert.deepEqual([reads("a") - before.a, reads("b") - before.b, reads("c") - before.c], [2, 1, 1]);
  });

  it("an error is not cached; a caller's abort leaves the shared request to the others", async () => {
    const cache = new NamespaceLabelCache(createApiServerClient({ location: e.location }));
    e.api.setFault({ status: 500, message: "etcd down" });
    await assert.rejects(cache.labels("b"), {
      reason: "apiserver-failed",
      message:
        'unable to get namespace labels for "b": GET /api/v1/namespaces/b: the API server answered 500: etcd down',
    });
    e.api.setFault({ delayMs: 200 });
    const ac = new AbortController();
    const first = cache.labels("b", ac.signal);
    const second = cache.labels("b");
    ac.abort();
    await assert.rejects(first, { reason: "cancelled" });
    e.api.setFault(null);
    assert.deepEqual(await second, [["n", "b"]]);
  });

  it("labels are used at most the TTL after the request that read them was sent, however slow the answer", async () => {
    // The grant window of a removed label is the TTL: counted from when the request was sent (what the
    // answer can reflect at the earliest), not from when a slow answer arrived; and a caller never joins a
    // request sent longer than the TTL ago.
    let clock = 0;
    const cache = new NamespaceLabelCache(createApiServerClient({ location: e.location }), {
      ttlMs: 5000,
      now: () => clock,
    });
    e.api.put("", "namespaces", { metadata: { name: "slow", labels: { grant: "yes" } } });
    e.api.setFault({ pathPrefix: "/api/v1/namespaces/slow", delayMs: 300 });
    try {
      const before = reads("slow");
      const first = cache.labels("slow"); // sent at 0 s
      clock = 4000; // the answer arrives at 4 s
      assert.deepEqual(await first, [["grant", "yes"]]);
      e.api.put("", "namespaces", { metadata: { name: "slow", labels: {} } }); // the label is removed
      clock = 5500; // 5.5 s after the request was sent: read again
      assert.deepEqual(await cache.labels("slow"), []);
      assert.equal(reads("slow") - before, 2);

      clock = 20_000;
      const sentAt10 = cache.labels("slow");
      clock = 25_500; // that request is still on its way, sent 5.5 s ago: not joined
      const later = cache.labels("slow");
      await Promise.all([sentAt10, later]);
      assert.equal(reads("slow") - before, 4);
    } finally {
      e.api.setFault(null);
    }
  });
});
