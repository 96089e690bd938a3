/** Parsing cosign `.sig` manifests and fetching their payloads (in-memory registry). */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  attestationTag,
  DSSE_MEDIA_TYPE,
  fetchCosignSignatures,
  MAX_SIGNATURE_LAYERS,
  parseSignatureManifest,
  signatureTag,
} from "../../src/sigstore/cosign_layers.ts";
import { assertAttestorError } from "../../src/testing/assert_error.ts";
import { MemoryRegistry, OCI_MANIFEST, pushSignedImage, sha256, SIMPLE_SIGNING } from "./_fakes.ts";

const DOCKER = "application/vnd.docker.distribution.manifest.v2+json";
const D = `sha256:${"a".repeat(64)}`;
const layer = (extra: Record<string, unknown> = {}) => ({
  mediaType: SIMPLE_SIGNING,
  digest: D,
  size: 5,
  annotations: { "dev.cosignproject.cosign/signature": "MEUC" },
  ...extra,
});

function manifest(body: unknown, mediaType = OCI_MANIFEST) {
  const bytes = new TextEncoder().encode(typeof body === "string" ? body : JSON.stringify(body));
  return { bytes, mediaType, digest: sha256(bytes) };
}

describe("parseSignatureManifest", () => {
  it("reads OCI and Docker v2 manifests, keeping string annotations", () => {
    for (const type of [OCI_MANIFEST, DOCKER]) {
      const layers = parseSignatureManifest(
        manifest(
          { schemaVersion: 2, mediaType: type, layers: [layer({ annotations: { a: "b", n: 1 } })] },
          type,
        ),
        "x",
      );
      assert.deepEqual(layers.map((l) => [l.digest, l.size, l.mediaType, [...l.annotations]]), [
        [D, 5, SIMPLE_SIGNING, [["a", "b"]]],
      ]);
    }
    // OCI without a mediaType field, served with the OCI type.
    assert.equal(parseSignatureManifest(manifest({ schemaVersion: 2, layers: [] }), "x").length, 0);
  });

  const refusals: [string, unknown, string, RegExp][] = [
    ["not JSON", "{", OCI_MANIFEST, /not UTF-8 JSON/],
    ["not an object", "[1]", OCI_MANIFEST, /not a JSON object/],
    [
      "an OCI index",
      { schemaVersion: 2, manifests: [] },
      "application/vnd.oci.image.index.v1+json",
      /image index/,
    ],
    [
      "a Docker list declared in the body",
      {
        schemaVersion: 2,
        mediaType: "application/vnd.docker.distribution.manifest.list.v2+json",
        layers: [],
      },
      OCI_MANIFEST,
      /image index or manifest list/,
    ],
    ["a body with manifests", { schemaVersion: 2, manifests: [], layers: [] }, OCI_MANIFEST, /image index/],
    [
      "an unknown body media type",
      { schemaVersion: 2, mediaType: "text/x", layers: [] },
      OCI_MANIFEST,
      /unsupported media type "text\/x"/,
    ],
    [
      "served and declared types differ",
      { schemaVersion: 2, mediaType: DOCKER, layers: [] },
      OCI_MANIFEST,
      /served as .* but declares/,
    ],
    [
      "no type at all",
      { schemaVersion: 2, layers: [] },
      "application/json",
      /unsupported media type "application\/json"/,
    ],
    ["schema 1", { schemaVersion: 1, layers: [] }, OCI_MANIFEST, /schemaVersion is not 2/],
    ["layers not a list", { schemaVersion: 2, layers: {} }, OCI_MANIFEST, /layers is not a list/],
    [
      "too many layers",
      { schemaVersion: 2, layers: Array.from({ length: MAX_SIGNATURE_LAYERS + 1 }, () => layer()) },
      OCI_MANIFEST,
      /1001 layers, more than the 1000 allowed/,
    ],
    ["a layer not an object", { schemaVersion: 2, layers: [1] }, OCI_MANIFEST, /layer 0 is not an object/],
    [
      "a bad digest",
      { schemaVersion: 2, layers: [layer({ digest: "sha256:xyz" })] },
      OCI_MANIFEST,
      /layer 0 has no valid sha256 digest/,
    ],
    [
      "a negative size",
      { schemaVersion: 2, layers: [layer({ size: -1 })] },
      OCI_MANIFEST,
      /has no valid size/,
    ],
    [
      "a fractional size",
      { schemaVersion: 2, layers: [layer({ size: 1.5 })] },
      OCI_MANIFEST,
      /has no valid size/,
    ],
    [
      "annotations a list",
      { schemaVersion: 2, layers: [layer({ annotations: [] })] },
      OCI_MANIFEST,
      /annotations that are not an object/,
    ],
  ];
  for (const [name, body, type, pattern] of refusals) {
    it(`refuses ${name}`, () => {
      assert.throws(() => parseSignatureManifest(manifest(body, type), "reg/x:sha256-1.sig"), (err) => {
        assertAttestorError(err, "signature-unverified", pattern);
        assert.match((err as Error).message, /^malformed cosign signature manifest reg\/x:sha256-1\.sig: /);
        return true;
      });
    });
  }
  it("accepts exactly the limit of layers", () => {
    const body = { schemaVersion: 2, layers: Array.from({ length: MAX_SIGNATURE_LAYERS }, () => layer()) };
    assert.equal(parseSignatureManifest(manifest(body), "x").length, MAX_SIGNATURE_LAYERS);
  });
});

describe("fetchCosignSignatures", () => {
  it("builds signatures from the payloads and annotations", async () => {
    const reg = new MemoryRegistry();
    const digest = pushSignedImage(reg, "r.io", "a/b", [
      { payload: "p1", signature: "S1", certificate: "CERT", chain: "CHAIN", bundle: "{}" },
      { payload: "p2", signature: "S2" },
    ]);
    const set = await fetchCosignSignatures(reg, "r.io", "a/b", digest);
    assert.ok(set);
    assert.deepEqual(set.problems, []);
    assert.deepEqual(
      set.signatures.map((
        s,
      ) => [
        new TextDecoder().decode(s.payload),
        s.signatureB64,
        s.certificatePem,
        s.chainPem,
        s.bundleJson,
        s.layerDigest,
      ]),
      [
        ["p1", "S1", "CERT", "CHAIN", "{}", sha256("p1")],
        ["p2", "S2", null, null, null, sha256("p2")],
      ],
    );
    assert.equal(reg.requests[0].reference, signatureTag(digest));
  });

  it("null for a missing .sig manifest", async () => {
    const reg = new MemoryRegistry();
    const digest = pushSignedImage(reg, "r.io", "a/b", null);
    assert.equal(await fetchCosignSignatures(reg, "r.io", "a/b", digest), null);
  });

  it("layers that are not signatures are problems, never fetched", async () => {
    const reg = new MemoryRegistry();
    const digest = pushSignedImage(reg, "r.io", "a/b", [
      { payload: "p1", mediaType: "application/vnd.dsse.envelope.v1+json", signature: "S" },
      { payload: "p2" },
      { payload: "x".repeat(50), signature: "S3" },
      { payload: "p4", signature: "S4" },
    ]);
    const set = await fetchCosignSignatures(reg, "r.io", "a/b", digest, { maxPayloadBytes: 10 });
    assert.ok(set);
    assert.deepEqual(set.signatures.map((s) => s.signatureB64), ["S4"]);
    assert.deepEqual(set.problems.map((p) => p.reason), [
      `media type "application/vnd.dsse.envelope.v1+json" is not ${SIMPLE_SIGNING}`,
      "no dev.cosignproject.cosign/signature annotation",
      "payload of 50 bytes is over the 10-byte limit",
    ]);
    assert.deepEqual(reg.requests.filter((r) => r.kind === "blob").map((r) => r.reference), [sha256("p4")]);
  });

  /** Pushes `layers` as the `.att` manifest of a fresh image (and no `.sig`). */
  function pushAttested(reg: MemoryRegistry, layers: Parameters<typeof pushSignedImage>[3]): string {
    const digest = pushSignedImage(reg, "r.io", "a/b", layers);
    const sig = `r.io/a/b:${signatureTag(digest)}`;
    reg.manifests.set(`r.io/a/b:${attestationTag(digest)}`, reg.manifests.get(sig)!);
    reg.manifests.delete(sig);
    return digest;
  }

  it("attestations: the .att tag, DSSE layers, the signature annotation may be empty or absent", async () => {
    const reg = new MemoryRegistry();
    const digest = pushAttested(reg, [
      { payload: '{"payloadType":"a"}', mediaType: DSSE_MEDIA_TYPE, bundle: "{}" },
      { payload: '{"payloadType":"b"}', mediaType: DSSE_MEDIA_TYPE, signature: "" },
      { payload: "p3", signature: "S3" },
    ]);
    assert.equal(await fetchCosignSignatures(reg, "r.io", "a/b", digest), null, "no .sig");
    const set = await fetchCosignSignatures(reg, "r.io", "a/b", digest, { kind: "attestation" });
    assert.ok(set);
    assert.equal(attestationTag(digest), `sha256-${digest.slice(7)}.att`);
    assert.deepEqual(reg.requests.filter((r) => r.kind === "manifest").map((r) => r.reference), [
      signatureTag(digest),
      attestationTag(digest),
    ]);
    assert.deepEqual(
      set.signatures.map((s) => [new TextDecoder().decode(s.payload), s.signatureB64, s.bundleJson]),
      [['{"payloadType":"a"}', "", "{}"], ['{"payloadType":"b"}', "", null]],
    );
    assert.deepEqual(set.problems.map((p) => p.reason), [
      `media type "${SIMPLE_SIGNING}" is not ${DSSE_MEDIA_TYPE}`,
    ]);
  });

  it("attestations: null for a missing .att manifest", async () => {
    const reg = new MemoryRegistry();
    const digest = pushSignedImage(reg, "r.io", "a/b", [{ payload: "p", signature: "S" }]);
    assert.equal(await fetchCosignSignatures(reg, "r.io", "a/b", digest, { kind: "attestation" }), null);
  });

  it("a manifest whose payloads total more than 16 MiB is refused before any blob is fetched", async () => {
    const reg = new MemoryRegistry();
    const layers = Array.from(
      { length: 17 },
      (_, i) => layer({ digest: `sha256:${String(i % 10).repeat(64)}`, size: 1024 * 1024 }),
    );
    const digest = `sha256:${"c".repeat(64)}`;
    reg.putManifest("r.io", "a/b", signatureTag(digest), {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      layers,
    });
    await assert.rejects(fetchCosignSignatures(reg, "r.io", "a/b", digest), /over the 16777216-byte limit/);
    assert.equal(reg.requests.filter((r) => r.kind === "blob").length, 0);
  });
});
