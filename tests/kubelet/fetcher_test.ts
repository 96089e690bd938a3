/**
 * The shared pod-list fetcher with fake time and a controllable request function, plus end-to-end checks
 * against the fake kubelet through the real client.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { PodListFetcher } from "../../src/kubelet/fetcher.ts";
import { createKubeletClient } from "../../src/kubelet/client.ts";
import { AttestorError } from "../../src/errors.ts";
import type { PodListSnapshot } from "../../src/core/types.ts";
import { startFakeKubelet } from "../../src/testing/fake_kubelet.ts";
import { FakeClock, flush } from "./_fake_clock.ts";
import { testConfig } from "./_config.ts";

const INTERVAL = 500;

function podList(uid: string): string {
  return JSON.stringify({ items: [{ metadata: { uid, name: uid, namespace: "ns" } }] });
}

interface Call {
  at: number;
  signal: AbortSignal;
  resolve(body: string): void;
  reject(err: unknown): void;
}

/** A request function whose calls are settled by the test. */
function controlledSource(clock: FakeClock) {
  const calls: Call[] = [];
  const fetchPods = (signal: AbortSignal) =>
    new Promise<string>((resolve, reject) => calls.push({ at: clock.now(), signal, resolve, reject }));
  return { calls, fetchPods };
}

function setup() {
  const clock = new FakeClock();
  const source = controlledSource(clock);
  const fetcher = new PodListFetcher({ fetchPods: source.fetchPods, minIntervalMs: INTERVAL, clock });
  return { clock, calls: source.calls, fetcher, t0: clock.now() };
}

function uidOf(s: PodListSnapshot): string {
  return [...s.podsByUid.keys()].join(",");
}

/** What a closed fetcher rejects every call with. */
const CLOSED = { reason: "fetcher-closed", message: "pod list fetcher is closed" };

/** The reason and message of `err`, to compare with {@linkcode CLOSED}. */
const reasonAndMessage = (err: AttestorError) => ({ reason: err.reason, message: err.message });

async function rejection(p: Promise<unknown>): Promise<AttestorError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof AttestorError, String(err));
    return err;
  }
  assert.fail("expected a rejection");
}

describe("PodListFetcher (fake time)", () => {
  it("1000 concurrent callers share exactly one request", async () => {
    const { calls, fetcher } = setup();
    const all = Array.from({ length: 1000 }, () => fetcher.fetchNext(0));
    await flush();
    assert.equal(calls.length, 1);
    calls[0].resolve(podList("a"));
    const results = await Promise.all(all);
    assert.equal(calls.length, 1);
    assert.ok(results.every((r) => r === results[0]), "every caller gets the same snapshot");
    assert.equal(results[0].version, 1);
    assert.equal(uidOf(results[0]), "a");
    await fetcher.close();
  });

  it("serves the cache within the interval, then fetches again", async () => {
    const { clock, calls, fetcher } = setup();
    const first = fetcher.fetchNext(0);
    await flush();
    calls[0].resolve(podList("a"));
    const v1 = await first;
    await clock.advance(INTERVAL - 1);
    assert.equal(await fetcher.fetchNext(0), v1, "cached while younger than the interval");
    assert.equal(calls.length, 1);
    await clock.advance(1);
    const second = fetcher.fetchNext(0);
    await flush();
    assert.equal(calls.length, 2, "cache expired at start + interval");
    calls[1].resolve(podList("b"));
    assert.equal((await second).version, 2);
    await fetcher.close();
  });

  it("spaces request starts at least the interval apart, measured from the start", async () => {
    const { clock, calls, fetcher, t0 } = setup();
    const a = fetcher.fetchNext(0);
    await flush();
    calls[0].resolve(podList("a"));
    const v1 = await a;
    const b = fetcher.fetchNext(v1.version);
    await clock.advance(INTERVAL - 1);
    assert.equal(calls.length, 1, "no second start before the interval");
    await clock.advance(1);
    assert.equal(calls.length, 2);
    assert.deepEqual(calls.map((c) => c.at - t0), [0, INTERVAL]);
    // A slow request: the next one may start as soon as it ends, since spacing counts from the start.
    await clock.advance(2_000);
    calls[1].resolve(podList("b"));
    const v2 = await b;
    assert.equal(v2.version, 2);
    const c = fetcher.fetchNext(v2.version);
    await flush();
    assert.equal(calls.length, 3);
    assert.equal(calls[2].at - t0, INTERVAL + 2_000);
    calls[2].resolve(podList("c"));
    assert.equal((await c).version, 3);
    await fetcher.close();
  });

  it("a caller that saw version v gets v+1, never the cached v", async () => {
    const { clock, calls, fetcher } = setup();
    const a = fetcher.fetchNext(0);
    await flush();
    calls[0].resolve(podList("a"));
    const v1 = await a;
    await clock.advance(100);
    let settled = false;
    const next = fetcher.fetchNext(v1.version).then((s) => {
      settled = true;
      return s;
    });
    await flush();
    assert.equal(settled, false, "the fresh cache is not served to a caller that already saw it");
    // Meanwhile a caller without a version gets the cache at once.
    assert.equal(await fetcher.fetchNext(0), v1);
    await clock.advance(INTERVAL);
    calls[1].resolve(podList("b"));
    const v2 = await next;
    assert.equal(v2.version, 2);
    assert.equal(uidOf(v2), "b");
    const err = await rejection(fetcher.fetchNext(7));
    assert.equal(err.reason, "bad-request");
    await fetcher.close();
  });

  it("waiters that arrive during a slow request get its result; never two requests at once", async () => {
    const { clock, calls, fetcher } = setup();
    const early = fetcher.fetchNext(0);
    await flush();
    await clock.advance(3 * INTERVAL);
    const late = fetcher.fetchNext(0);
    await clock.advance(3 * INTERVAL);
    assert.equal(calls.length, 1);
    calls[0].resolve(podList("a"));
    assert.equal(await early, await late);
    await fetcher.close();
  });

  it("cancelling one caller neither cancels the request nor affects the others", async () => {
    const { calls, fetcher } = setup();
    const ac = new AbortController();
    const cancelled = fetcher.fetchNext(0, ac.signal);
    const other = fetcher.fetchNext(0);
    await flush();
    ac.abort();
    const err = await rejection(cancelled);
    assert.equal(err.reason, "cancelled");
    assert.equal(calls[0].signal.aborted, false);
    calls[0].resolve(podList("a"));
    assert.equal((await other).version, 1);
    assert.equal(calls.length, 1);

    const timeoutErr = await rejection(
      fetcher.fetchNext(1, AbortSignal.abort(new DOMException("t", "TimeoutError"))),
    );
    assert.equal(timeoutErr.reason, "deadline-exceeded");
    await fetcher.close();
  });

  it("when every waiter cancels before the timer fires, nothing is fetched (no background polling)", async () => {
    const { clock, calls, fetcher } = setup();
    const a = fetcher.fetchNext(0);
    await flush();
    calls[0].resolve(podList("a"));
    await a;
    const ac = new AbortController();
    const waiting = fetcher.fetchNext(1, ac.signal);
    await flush();
    assert.equal(clock.pending, 1, "a timer is armed for the next start");
    ac.abort();
    await rejection(waiting);
    assert.equal(clock.pending, 0, "the timer is stopped when no waiter remains");
    await clock.advance(10 * INTERVAL);
    assert.equal(calls.length, 1);
    await fetcher.close();
  });

  it("errors go to every waiter, are not cached and do not use up versions", async () => {
    const { clock, calls, fetcher } = setup();
    const waiters = [fetcher.fetchNext(0), fetcher.fetchNext(0), fetcher.fetchNext(0)];
    await flush();
    const boom = new AttestorError(
      "kubelet-unreachable",
      "unable to perform request: http://127.0.0.1:1/pods: refused",
    );
    calls[0].reject(boom);
    for (const w of waiters) assert.equal(await rejection(w), boom);
    // Not cached: the next caller waits for a new request, still spaced from the failed start.
    const retry = fetcher.fetchNext(0);
    await flush();
    assert.equal(calls.length, 1);
    await clock.advance(INTERVAL);
    assert.equal(calls.length, 2);
    calls[1].resolve(podList("a"));
    assert.equal((await retry).version, 1, "the failed fetch did not consume a version");
    await fetcher.close();
  });

  it("an unparsable body is an error for all waiters and the stale cache is never served after it", async () => {
    const { clock, calls, fetcher } = setup();
    const a = fetcher.fetchNext(0);
    await flush();
    calls[0].resolve(podList("a"));
    const v1 = await a;
    await clock.advance(INTERVAL);
    const b = fetcher.fetchNext(0);
    await flush();
    calls[1].resolve("{not json");
    assert.match((await rejection(b)).message, /^unable to parse kubelet response: /);
    await clock.advance(100);
    let settled = false;
    const c = fetcher.fetchNext(0).then((s) => {
      settled = true;
      return s;
    });
    await flush();
    assert.equal(settled, false, "the expired v1 is not served after a failed refresh");
    await clock.advance(INTERVAL);
    calls[2].resolve(podList("c"));
    const v2 = await c;
    assert.equal(v2.version, v1.version + 1);
    await fetcher.close();
  });

  it("waits for configure, keeps the cache across configure and judges it with the new interval", async () => {
    const clock = new FakeClock();
    const first = controlledSource(clock);
    const fetcher = new PodListFetcher({ clock });
    const early = fetcher.fetchNext(0);
    await clock.advance(5_000);
    assert.equal(first.calls.length, 0, "nothing happens before configure");
    fetcher.configure({ fetchPods: first.fetchPods, minIntervalMs: INTERVAL });
    await flush();
    assert.equal(first.calls.length, 1);
    first.calls[0].resolve(podList("a"));
    const v1 = await early;
    await clock.advance(INTERVAL);
    const second = controlledSource(clock);
    fetcher.configure({ fetchPods: second.fetchPods, minIntervalMs: 10 * INTERVAL });
    assert.equal(await fetcher.fetchNext(0), v1, "the longer interval extends the cache's life");
    const next = fetcher.fetchNext(v1.version);
    await clock.advance(10 * INTERVAL);
    assert.equal(second.calls.length, 1);
    second.calls[0].resolve(podList("b"));
    assert.equal((await next).version, 2);
    assert.equal(first.calls.length, 1);
    assert.throws(() => fetcher.configure({ fetchPods: second.fetchPods, minIntervalMs: -1 }), RangeError);
    await fetcher.close();
  });

  it("closes a replaced source once its request has settled, the last one on close, each once", async () => {
    const clock = new FakeClock();
    const closed: string[] = [];
    const closer = (name: string) => () => void closed.push(name);
    const first = controlledSource(clock);
    const second = controlledSource(clock);
    const third = controlledSource(clock);
    const fetcher = new PodListFetcher({ clock });
    fetcher.configure({ ...first, minIntervalMs: INTERVAL, close: closer("first") });
    const a = fetcher.fetchNext(0);
    await flush();
    fetcher.configure({ ...second, minIntervalMs: INTERVAL, close: closer("second") });
    assert.deepEqual(closed, [], "the first source still has a request in flight");
    first.calls[0].resolve(podList("a"));
    await a;
    assert.deepEqual(closed, ["first"]);
    fetcher.configure({ ...third, minIntervalMs: INTERVAL, close: closer("third") });
    assert.deepEqual(closed, ["first", "second"], "an idle source is closed at once");
    const b = fetcher.fetchNext(1);
    await clock.advance(INTERVAL);
    const closing = fetcher.close();
    assert.deepEqual(closed, ["first", "second"], "not while its request is in flight");
    third.calls[0].reject(new Error("aborted"));
    await closing;
    await assert.rejects(b);
    assert.deepEqual(closed, ["first", "second", "third"]);
    await fetcher.close();
    assert.deepEqual(closed, ["first", "second", "third"]);
  });

  it("close rejects pending and future calls and aborts the request", async () => {
    const { clock, calls, fetcher } = setup();
    const pending = fetcher.fetchNext(0);
    await flush();
    const closing = fetcher.close();
    assert.equal(calls[0].signal.aborted, true);
    assert.deepEqual(reasonAndMessage(await rejection(pending)), CLOSED);
    calls[0].reject(new Error("aborted"));
    await closing;
    assert.deepEqual(reasonAndMessage(await rejection(fetcher.fetchNext(0))), CLOSED);
    assert.throws(
      () => fetcher.configure({ fetchPods: () => Promise.resolve(""), minIntervalMs: 1 }),
      CLOSED,
    );
    await fetcher.close();
    assert.equal(clock.pending, 0);
  });

  it("close stops an armed timer", async () => {
    const { clock, calls, fetcher } = setup();
    const a = fetcher.fetchNext(0);
    await flush();
    calls[0].resolve(podList("a"));
    await a;
    const waiting = fetcher.fetchNext(1);
    await flush();
    assert.equal(clock.pending, 1);
    await fetcher.close();
    assert.equal(clock.pending, 0);
    assert.deepEqual(reasonAndMessage(await rejection(waiting)), CLOSED);
    await clock.advance(INTERVAL);
    assert.equal(calls.length, 1);
  });
});

describe("PodListFetcher with the real client and the fake kubelet", () => {
  it("1000 concurrent callers cause one kubelet request", async () => {
    await using kubelet = await startFakeKubelet({ pods: JSON.parse(podList("real")) });
    const client = await createKubeletClient({ config: testConfig({ kubeletReadOnlyPort: kubelet.port }) });
    const fetcher = new PodListFetcher({ fetchPods: client.fetchPods, minIntervalMs: 60_000 });
    const results = await Promise.all(Array.from({ length: 1000 }, () => fetcher.fetchNext(0)));
    assert.equal(kubelet.requestCount, 1);
    assert.ok(results.every((r) => r === results[0] && uidOf(r) === "real"));
    await fetcher.close();
  });

  it("recovers after the kubelet fails and comes back", async () => {
    await using kubelet = await startFakeKubelet({ pods: JSON.parse(podList("x")) });
    const client = await createKubeletClient({ config: testConfig({ kubeletReadOnlyPort: kubelet.port }) });
    const fetcher = new PodListFetcher({ fetchPods: client.fetchPods, minIntervalMs: 1 });
    kubelet.setFault({ status: 503, body: "down" });
    const errs = await Promise.allSettled([fetcher.fetchNext(0), fetcher.fetchNext(0)]);
    assert.ok(errs.every((r) => r.status === "rejected" && /503 down/.test(String(r.reason.message))));
    kubelet.setFault(null);
    const ok = await fetcher.fetchNext(0);
    assert.equal(ok.version, 1);
    assert.equal(uidOf(ok), "x");
    await fetcher.close();
  });

  it("recovers after the kubelet restarts on the same port", async () => {
    const first = await startFakeKubelet({ pods: JSON.parse(podList("y")) });
    const port = first.port;
    await first.stop();
    const client = await createKubeletClient({ config: testConfig({ kubeletReadOnlyPort: port }) });
    const fetcher = new PodListFetcher({ fetchPods: client.fetchPods, minIntervalMs: 1 });
    assert.match(
      (await rejection(fetcher.fetchNext(0))).message,
      /^unable to perform request: http:\/\/127\.0\.0\.1:/,
    );
    await using back = await startFakeKubelet({ pods: JSON.parse(podList("y")), port });
    const ok = await fetcher.fetchNext(0);
    assert.equal(uidOf(ok), "y");
    assert.equal(back.requestCount, 1);
    await fetcher.close();
  });
});
