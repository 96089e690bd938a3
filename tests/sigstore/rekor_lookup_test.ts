/**
 * The online Rekor lookup (src/sigstore/rekor_lookup.ts): the URL rule, the happy path against a fake Rekor on
 * 127.0.0.1, and its bounds (status, size, UUID count, timeout, abort), with faults injected through `fetch`.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  lookupRekorEntry,
  MAX_ENTRY_BYTES,
  MAX_LOOKUP_UUIDS,
  rekorBaseUrl,
  type RekorLookupInput,
} from "../../src/sigstore/rekor_lookup.ts";
import { SignatureRejected, type SignatureRejection } from "../../src/sigstore/types.ts";
import { AttestorError } from "../../src/errors.ts";
import {
  createSigstoreFixture,
  FIXTURE_INTEGRATED_TIME,
  type SignedImage,
  type SigstoreFixture,
  startFakeRekor,
} from "../../src/testing/sigstore_fixtures.ts";
import { pemBlockDer } from "./helpers.ts";

let fx: SigstoreFixture;
let signed: SignedImage;
let payloadSha256: string;
before(async () => {
  fx = await createSigstoreFixture();
  signed = await fx.signImage({ digest: `sha256:${"d".repeat(64)}`, bundle: false });
  payloadSha256 = createHash("sha256").update(signed.payload).digest("hex");
});

function input(overrides: Partial<RekorLookupInput> = {}): RekorLookupInput {
  return {
    rekorUrl: "http://127.0.0.1:9/",
    payload: signed.payload,
    signatureB64: signed.signature.signatureB64,
    leafDer: pemBlockDer(signed.leafPem),
    rekorKeys: fx.trust.rekorKeys,
    ...overrides,
  };
}

/** A `fetch` answering the index with `uuids` and each entry with `entry(uuid)`. */
function fakeFetch(uuids: unknown, entry: (uuid: string) => Response): typeof fetch {
  return ((url: URL) => {
    if (url.pathname.endsWith("/api/v1/index/retrieve")) return Promise.resolve(Response.json(uuids));
    return Promise.resolve(entry(url.pathname.split("/").pop()!));
  }) as unknown as typeof fetch;
}

async function rejected(p: Promise<unknown>, rejection: SignatureRejection, message: RegExp) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof SignatureRejected, String(err));
    assert.equal(err.rejection, rejection, err.message);
    assert.match(err.message, message);
    return true;
  });
}

describe("rekorBaseUrl", () => {
  it("reads an empty path as / (upstream fails `rekor URL path is empty`) and keeps a prefix", () => {
    assert.equal(rekorBaseUrl("https://rekor.sigstore.dev").href, "https://rekor.sigstore.dev/");
    assert.equal(rekorBaseUrl("https://rekor.sigstore.dev/").href, "https://rekor.sigstore.dev/");
    assert.equal(rekorBaseUrl("https://h.example/rekor?x=1#y").href, "https://h.example/rekor/");
    assert.equal(rekorBaseUrl("http://127.0.0.1:8080").href, "http://127.0.0.1:8080/");
  });

  it("refuses plain http to a non-loopback host, credentials, and garbage", () => {
    assert.throws(() => rekorBaseUrl("http://rekor.example/"), /not https/);
    assert.throws(() => rekorBaseUrl("https://u:p@rekor.example/"), /credentials/);
    assert.throws(() => rekorBaseUrl("::"), /does not parse/);
  });
});

describe("lookupRekorEntry", () => {
  it("finds and verifies the entry at a fake Rekor (path prefix kept)", async () => {
    await using rekor = startFakeRekor([{ payloadSha256, entry: signed.rekorEntry }]);
    const entry = await lookupRekorEntry(input({ rekorUrl: rekor.url }));
    assert.equal(entry.integratedTime, FIXTURE_INTEGRATED_TIME);
    assert.equal(entry.logId, fx.rekor.logId);
    assert.equal(entry.content, signed.signature.signatureB64);
    assert.deepEqual(rekor.requests, [
      "POST /api/v1/index/retrieve",
      `GET /api/v1/log/entries/${signed.rekorEntry.uuid}`,
    ]);
  });

  it("sends the payload hash to the index", async () => {
    let body = "";
    const fetcher = ((url: URL, init: RequestInit) => {
      if (url.pathname.endsWith("/index/retrieve")) body = String(init.body);
      return Promise.resolve(Response.json([]));
    }) as unknown as typeof fetch;
    await rejected(lookupRekorEntry(input({ fetch: fetcher })), "no-bundle", /has no entry/);
    assert.deepEqual(JSON.parse(body), { hash: `sha256:${payloadSha256}` });
  });

  it("rejects an entry whose body does not match its UUID", async () => {
    const uuid = "0".repeat(80);
    const fetcher = fakeFetch([uuid], () => Response.json({ [uuid]: signed.rekorEntry.entry }));
    await rejected(lookupRekorEntry(input({ fetch: fetcher })), "tlog", /does not match its UUID/);
  });

  it("rejects an answer for another UUID", async () => {
    const fetcher = fakeFetch(
      [signed.rekorEntry.uuid],
      () => Response.json({ ["1".repeat(80)]: signed.rekorEntry.entry }),
    );
    await rejected(lookupRekorEntry(input({ fetch: fetcher })), "tlog", /not the requested entry/);
  });

  it("names the HTTP status and never echoes the answer body", async () => {
    const secret = "SECRET-BODY-TEXT";
    const fetcher = (() => Promise.resolve(new Response(secret, { status: 500 }))) as unknown as typeof fetch;
    await assert.rejects(lookupRekorEntry(input({ fetch: fetcher })), (err: Error) => {
      assert.ok(err instanceof SignatureRejected);
      assert.match(err.message, /answered HTTP 500/);
      assert.ok(!err.message.includes(secret));
      return true;
    });
  });

  it("refuses an index answer that is not a UUID list", async () => {
    const fetcher = fakeFetch(["../../etc/passwd"], () => new Response("x"));
    await rejected(lookupRekorEntry(input({ fetch: fetcher })), "no-bundle", /not a list of entry UUIDs/);
  });

  it("stops reading an oversized entry answer", async () => {
    const big = "x".repeat(MAX_ENTRY_BYTES + 10);
    const fetcher = fakeFetch([signed.rekorEntry.uuid], () => new Response(big));
    await rejected(lookupRekorEntry(input({ fetch: fetcher })), "no-bundle", /over 524288 bytes/);
  });

  it("fetches at most MAX_LOOKUP_UUIDS entries", async () => {
    const uuids = Array.from({ length: 40 }, (_, i) => i.toString(16).padStart(80, "0"));
    let fetched = 0;
    const fetcher = fakeFetch(uuids, () => {
      fetched++;
      return Response.json({});
    });
    await rejected(lookupRekorEntry(input({ fetch: fetcher })), "tlog", /checked 16 of 40/);
    assert.equal(fetched, MAX_LOOKUP_UUIDS);
  });

  it("times out", async () => {
    const fetcher = ((_url: URL, init: RequestInit) =>
      new Promise((_resolve, reject) => {
        init.signal!.addEventListener("abort", () => reject(init.signal!.reason));
      })) as unknown as typeof fetch;
    await rejected(
      lookupRekorEntry(input({ fetch: fetcher, timeoutMs: 50 })),
      "no-bundle",
      /timed out after 50 ms/,
    );
  });

  it("passes the caller's abort on as an AttestorError", async () => {
    const controller = new AbortController();
    const fetcher = ((_url: URL, init: RequestInit) =>
      new Promise((_resolve, reject) => {
        init.signal!.addEventListener("abort", () => reject(init.signal!.reason));
        controller.abort();
      })) as unknown as typeof fetch;
    await assert.rejects(
      lookupRekorEntry(input({ fetch: fetcher, signal: controller.signal })),
      (err: unknown) => err instanceof AttestorError && err.reason === "cancelled",
    );
  });
});
