/**
 * The sigstore verifier's logic with an in-memory registry and a scripted signature check: skip list,
 * digests, missing and rejected signatures, selectors, cache (hit, TTL, LRU, failures not cached),
 * sharing of concurrent verifications, and aborts.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  createSigstoreVerifier,
  SIGNATURE_VERIFIED_SELECTOR,
  type SigstoreVerifierOptions,
} from "../../src/sigstore/verifier.ts";
import { assertAttestorError } from "../../src/testing/assert_error.ts";
import { type RecordedLine, recordingLogger } from "../../src/testing/recording_logger.ts";
import { MemoryRegistry, pushSignedImage, scriptedCheck, TRUST } from "./_fakes.ts";
import type { SignatureCheck } from "../../src/sigstore/types.ts";

const REG = "registry.example";
const REPO = "team/app";
const CID = "containerd://9bca0123";

function setup(overrides: Partial<SigstoreVerifierOptions> = {}, skip: string[] = []) {
  const registry = new MemoryRegistry();
  const check = scriptedCheck();
  const lines: RecordedLine[] = [];
  let clock = 0;
  const options: SigstoreVerifierOptions = {
    settings: {
      skipSignatureVerificationImageList: skip,
      allowedSubjects: new Map([["https://issuer.example", ["alice@example.com"]]]),
      rekorUrl: "https://rekor.example/",
      enforceSct: false,
    },
    trust: TRUST,
    registry,
    checkSignature: check,
    logger: recordingLogger(lines),
    now: () => clock,
    ...overrides,
  };
  const verifier = createSigstoreVerifier(options);
  return {
    registry,
    check,
    lines,
    verifier,
    advance: (ms: number) => void (clock += ms),
  };
}

function selectorsOf(cid: string, subject: string, content: string) {
  return [
    `${cid}:image-signature-subject:${subject}`,
    `${cid}:image-signature-content:${content}`,
    `${cid}:image-signature-logid:c0d23d6a`,
    `${cid}:image-signature-integrated-time:1700000000`,
  ];
}

describe("sigstore verifier: skip list and image IDs", () => {
  it("an empty image ID fails", async () => {
    const { verifier } = setup();
    await assert.rejects(verifier.selectorsFor({ imageId: "", containerId: CID }), (err) => {
      assertAttestorError(err, "signature-unverified", `container "${CID}": image ID is empty`);
      return true;
    });
  });

  it("the full image ID in the skip list: only sigstore-validation:passed, no registry request", async () => {
    const imageId = `${REG}/${REPO}@sha256:${"1".repeat(64)}`;
    const { verifier, registry, check } = setup({}, [imageId]);
    assert.deepEqual(await verifier.selectorsFor({ imageId, containerId: CID }), [
      SIGNATURE_VERIFIED_SELECTOR,
    ]);
    assert.deepEqual(registry.requests, []);
    assert.equal(check.calls.length, 0);
  });

  it("the bare digest in the skip list matches the image ID's digest (also docker-pullable://)", async () => {
    const digest = `sha256:${"2".repeat(64)}`;
    const { verifier, registry } = setup({}, [digest]);
    for (
      const imageId of [`${REG}/${REPO}@${digest}`, `docker-pullable://${REG}/${REPO}@${digest}`, digest]
    ) {
      assert.deepEqual(await verifier.selectorsFor({ imageId, containerId: CID }), [
        SIGNATURE_VERIFIED_SELECTOR,
      ]);
    }
    assert.deepEqual(registry.requests, []);
  });

  it("a skip-list entry for another digest does not match", async () => {
    const { verifier, registry } = setup({}, [`sha256:${"3".repeat(64)}`]);
    const digest = pushSignedImage(registry, REG, REPO, null);
    await assert.rejects(
      verifier.selectorsFor({ imageId: `${REG}/${REPO}@${digest}`, containerId: CID }),
      /no signatures found/,
    );
  });

  it("a tag-only image ID fails the attestation without a registry request", async () => {
    const { verifier, registry } = setup();
    await assert.rejects(verifier.selectorsFor({ imageId: `${REG}/${REPO}:v1`, containerId: CID }), (err) => {
      assertAttestorError(
        err,
        "signature-unverified",
        /carries no digest \(a tag-only image cannot be verified/,
      );
      return true;
    });
    assert.deepEqual(registry.requests, []);
  });

  it("a bare digest not in the skip list fails with a clear error", async () => {
    const { verifier, registry } = setup();
    await assert.rejects(
      verifier.selectorsFor({ imageId: `sha256:${"4".repeat(64)}`, containerId: CID }),
      (err) => {
        assertAttestorError(err, "signature-unverified", /a bare image digest names no repository/);
        return true;
      },
    );
    assert.deepEqual(registry.requests, []);
  });
});

describe("sigstore verifier: signatures", () => {
  it("one verified signature: its four selectors prefixed with the raw container ID, then passed", async () => {
    const { verifier, registry, check } = setup();
    const digest = pushSignedImage(registry, REG, REPO, [{
      payload: "ok:alice@example.com",
      signature: "MEUCsig1",
    }]);
    const selectors = await verifier.selectorsFor({ imageId: `${REG}/${REPO}@${digest}`, containerId: CID });
    assert.deepEqual(selectors, [
      ...selectorsOf(CID, "alice@example.com", "MEUCsig1"),
      SIGNATURE_VERIFIED_SELECTOR,
    ]);
    assert.equal(check.calls.length, 1);
    const { signature, context } = check.calls[0];
    assert.equal(context.imageDigest, digest);
    assert.equal(context.rekorUrl, "https://rekor.example/");
    assert.equal(context.trust, TRUST);
    assert.equal(context.policy.enforceSct, false);
    assert.deepEqual([...context.policy.allowedSubjects], [["https://issuer.example", [
      "alice@example.com",
    ]]]);
    assert.equal(signature.signatureB64, "MEUCsig1");
    assert.deepEqual(
      registry.requests.map((r) => `${r.kind} ${r.reference}`),
      [`manifest ${digest}`, `manifest sha256-${digest.slice(7)}.sig`, `blob ${signature.layerDigest}`],
    );
  });

  it("docker-pullable:// image IDs are verified like plain ones", async () => {
    const { verifier, registry } = setup();
    const digest = pushSignedImage(registry, REG, REPO, [{
      payload: "ok:alice@example.com",
      signature: "S",
    }]);
    const selectors = await verifier.selectorsFor({
      imageId: `docker-pullable://${REG}/${REPO}@${digest}`,
      containerId: "docker://abc",
    });
    assert.ok(selectors.includes("docker://abc:image-signature-subject:alice@example.com"));
  });

  it("no .sig manifest (404): no signatures found for image …", async () => {
    const { verifier, registry } = setup();
    const digest = pushSignedImage(registry, REG, REPO, null);
    await assert.rejects(
      verifier.selectorsFor({ imageId: `${REG}/${REPO}@${digest}`, containerId: CID }),
      (err) => {
        assertAttestorError(
          err,
          "signature-unverified",
          `no signatures found for image ${REG}/${REPO}@${digest}`,
        );
        return true;
      },
    );
  });

  it("a .sig manifest without layers: no signatures found", async () => {
    const { verifier, registry } = setup();
    const digest = pushSignedImage(registry, REG, REPO, []);
    await assert.rejects(
      verifier.selectorsFor({ imageId: `${REG}/${REPO}@${digest}`, containerId: CID }),
      /no signatures found for image/,
    );
  });

  it("the image manifest missing from the registry fails", async () => {
    const { verifier } = setup();
    await assert.rejects(
      verifier.selectorsFor({ imageId: `${REG}/${REPO}@sha256:${"5".repeat(64)}`, containerId: CID }),
      (err) => {
        assertAttestorError(err, "signature-unverified", /was not found in its registry/);
        return true;
      },
    );
  });

  it("a registry that serves other bytes than the digest names is refused (digest re-checked)", async () => {
    const { verifier, registry } = setup();
    const digest = pushSignedImage(registry, REG, REPO, [{ payload: "ok:a", signature: "S" }]);
    // A lying client: returns the bytes with the requested digest claimed.
    const lying = {
      getManifest: async (r: string, p: string, ref: string) => {
        const m = await registry.getManifest(r, p, ref);
        return m && { ...m, bytes: new TextEncoder().encode("{}"), digest: ref };
      },
      getBlob: registry.getBlob.bind(registry),
    };
    const v = setup({ registry: lying }).verifier;
    await assert.rejects(v.selectorsFor({ imageId: `${REG}/${REPO}@${digest}`, containerId: CID }), (err) => {
      assertAttestorError(
        err,
        "signature-unverified",
        /has digest sha256:[0-9a-f]{64}, not the one asked for/,
      );
      return true;
    });
    assert.ok(verifier);
  });

  it("some signatures rejected: selectors of the verified ones only", async () => {
    const { verifier, registry, check } = setup();
    const digest = pushSignedImage(registry, REG, REPO, [
      { payload: "bad:1", signature: "B1" },
      { payload: "ok:alice@example.com", signature: "G1" },
      { payload: "ok:bob@example.com", signature: "G2" },
      { payload: "x", signature: "W", mediaType: "application/octet-stream" },
      { payload: "bad:2", signature: "B2" },
    ]);
    const selectors = await verifier.selectorsFor({ imageId: `${REG}/${REPO}@${digest}`, containerId: CID });
    assert.deepEqual(
      selectors.sort(),
      [
        ...selectorsOf(CID, "alice@example.com", "G1"),
        ...selectorsOf(CID, "bob@example.com", "G2"),
        SIGNATURE_VERIFIED_SELECTOR,
      ].sort(),
    );
    assert.equal(check.calls.length, 4, "the layer of another media type is never checked");
  });

  it("all rejected: signature-unverified listing each rejection", async () => {
    const { verifier, registry } = setup();
    const digest = pushSignedImage(registry, REG, REPO, [
      { payload: "bad:1", signature: "B1" },
      { payload: "bad:2" },
      { payload: "bad:3", signature: "B3", mediaType: "text/plain" },
    ]);
    await assert.rejects(
      verifier.selectorsFor({ imageId: `${REG}/${REPO}@${digest}`, containerId: CID }),
      (err) => {
        assertAttestorError(
          err,
          "signature-unverified",
          /^no signature of image .* passed verification \(3 rejected\): /,
        );
        const message = (err as Error).message;
        assert.match(message, /identity: subject of bad:1 is not allowed/);
        assert.match(message, /no dev\.cosignproject\.cosign\/signature annotation/);
        assert.match(
          message,
          /media type "text\/plain" is not application\/vnd\.dev\.cosign\.simplesigning\.v1\+json/,
        );
        return true;
      },
    );
  });

  it("the rejection list is bounded (10 listed, the rest counted; each text clipped)", async () => {
    const long = "y".repeat(2000);
    const check: SignatureCheck = () => Promise.reject(new Error(long));
    const { verifier, registry } = setup({ checkSignature: check });
    const layers = Array.from({ length: 25 }, (_, i) => ({ payload: `p${i}`, signature: `s${i}` }));
    const digest = pushSignedImage(registry, REG, REPO, layers);
    await assert.rejects(
      verifier.selectorsFor({ imageId: `${REG}/${REPO}@${digest}`, containerId: CID }),
      (err) => {
        const message = (err as Error).message;
        assert.match(message, /\(25 rejected\)/);
        assert.match(message, /; and 15 more$/);
        assert.ok(message.length < 10 * 400 + 300, `message of ${message.length} characters`);
        return true;
      },
    );
  });

  it("registry failures fail the attestation with the client's error", async () => {
    const { registry } = setup();
    const digest = pushSignedImage(registry, REG, REPO, [{ payload: "ok:a", signature: "S" }]);
    registry.blobs.clear();
    const { verifier } = setup({ registry });
    await assert.rejects(
      verifier.selectorsFor({ imageId: `${REG}/${REPO}@${digest}`, containerId: CID }),
      (err) => {
        assertAttestorError(err, "registry-failed", /not found/);
        return true;
      },
    );
  });
});

describe("sigstore verifier: cache and sharing", () => {
  it("a cache hit makes no registry request and no check; the container ID is the caller's", async () => {
    const { verifier, registry, check, lines } = setup();
    const digest = pushSignedImage(registry, REG, REPO, [{
      payload: "ok:alice@example.com",
      signature: "G",
    }]);
    const imageId = `${REG}/${REPO}@${digest}`;
    await verifier.selectorsFor({ imageId, containerId: CID });
    const requests = registry.requests.length;
    const other = "containerd://other";
    const again = await verifier.selectorsFor({ imageId, containerId: other });
    assert.deepEqual(again, [...selectorsOf(other, "alice@example.com", "G"), SIGNATURE_VERIFIED_SELECTOR]);
    assert.equal(registry.requests.length, requests);
    assert.equal(check.calls.length, 1);
    assert.ok(
      lines.some((l) => l.level === "debug" && l.message === "Found cached image signature verification"),
    );
    assert.ok(lines.some((l) =>
      l.level === "debug" && l.message === "Verified image signatures" &&
      typeof l.fields.duration_ms === "number"
    ));
  });

  it("entries expire after the TTL", async () => {
    const { verifier, registry, advance } = setup({ cacheTtlMs: 1000 });
    const digest = pushSignedImage(registry, REG, REPO, [{ payload: "ok:a", signature: "G" }]);
    const imageId = `${REG}/${REPO}@${digest}`;
    await verifier.selectorsFor({ imageId, containerId: CID });
    const first = registry.requests.length;
    advance(999);
    await verifier.selectorsFor({ imageId, containerId: CID });
    assert.equal(registry.requests.length, first, "still cached before the TTL");
    advance(1);
    await verifier.selectorsFor({ imageId, containerId: CID });
    assert.equal(registry.requests.length, 2 * first, "verified again at the TTL");
  });

  it("the cache is bounded (least recently used evicted)", async () => {
    const { verifier, registry } = setup({ cacheMaxEntries: 2 });
    const ids = [1, 2, 3].map((i) =>
      `${REG}/${REPO}${i}@${
        pushSignedImage(registry, REG, `${REPO}${i}`, [{ payload: "ok:a", signature: "G" }])
      }`
    );
    const count = () => registry.requests.length;
    await verifier.selectorsFor({ imageId: ids[0], containerId: CID });
    await verifier.selectorsFor({ imageId: ids[1], containerId: CID });
    await verifier.selectorsFor({ imageId: ids[0], containerId: CID }); // refresh 0
    await verifier.selectorsFor({ imageId: ids[2], containerId: CID }); // evicts 1
    const before = count();
    await verifier.selectorsFor({ imageId: ids[0], containerId: CID });
    await verifier.selectorsFor({ imageId: ids[2], containerId: CID });
    assert.equal(count(), before, "0 and 2 are cached");
    await verifier.selectorsFor({ imageId: ids[1], containerId: CID });
    assert.ok(count() > before, "1 was evicted");
  });

  it("failures are not cached", async () => {
    const { verifier, registry } = setup();
    const digest = pushSignedImage(registry, REG, REPO, null);
    const imageId = `${REG}/${REPO}@${digest}`;
    await assert.rejects(verifier.selectorsFor({ imageId, containerId: CID }), /no signatures found/);
    const after = registry.requests.length;
    await assert.rejects(verifier.selectorsFor({ imageId, containerId: CID }), /no signatures found/);
    assert.equal(registry.requests.length, 2 * after);
  });

  it("the cache is keyed by repository and digest: the same digest in another repository is verified again", async () => {
    const { verifier, registry } = setup();
    const body = { schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", layers: [] };
    const digest = pushSignedImage(registry, REG, "signed/app", [{ payload: "ok:a", signature: "G" }], body);
    assert.equal(pushSignedImage(registry, REG, "unsigned/app", null, body), digest);
    await verifier.selectorsFor({ imageId: `${REG}/signed/app@${digest}`, containerId: CID });
    await assert.rejects(
      verifier.selectorsFor({ imageId: `${REG}/unsigned/app@${digest}`, containerId: CID }),
      /no signatures found/,
    );
  });

  it("concurrent attestations of one image share one verification", async () => {
    const { verifier, registry, check, lines } = setup();
    const digest = pushSignedImage(registry, REG, REPO, [{ payload: "ok:a", signature: "G" }]);
    const imageId = `${REG}/${REPO}@${digest}`;
    let open!: () => void;
    registry.gate = new Promise<void>((resolve) => open = resolve);
    const calls = Array.from(
      { length: 5 },
      (_, i) => verifier.selectorsFor({ imageId, containerId: `c://${i}` }),
    );
    await new Promise((r) => setTimeout(r, 10));
    registry.gate = null;
    open();
    const results = await Promise.all(calls);
    results.forEach((r, i) => assert.ok(r.includes(`c://${i}:image-signature-subject:a`)));
    assert.equal(check.calls.length, 1);
    assert.equal(registry.requests.filter((r) => r.kind === "manifest").length, 2);
    assert.equal(
      lines.filter((l) => l.message === "Joining an image signature verification in progress").length,
      4,
    );
  });
});

describe("sigstore verifier: abort", () => {
  it("an already aborted signal fails at once without a request", async () => {
    const { verifier, registry } = setup();
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(
      verifier.selectorsFor(
        { imageId: `${REG}/${REPO}@sha256:${"6".repeat(64)}`, containerId: CID },
        controller.signal,
      ),
      (err) => {
        assertAttestorError(err, "cancelled", "context canceled");
        return true;
      },
    );
    assert.deepEqual(registry.requests, []);
  });

  it("a deadline during the registry call ends the call and aborts the registry request", async () => {
    const { verifier, registry } = setup();
    const digest = pushSignedImage(registry, REG, REPO, [{ payload: "ok:a", signature: "G" }]);
    registry.gate = new Promise<void>(() => {});
    await assert.rejects(
      verifier.selectorsFor(
        { imageId: `${REG}/${REPO}@${digest}`, containerId: CID },
        AbortSignal.timeout(30),
      ),
      (err) => {
        assertAttestorError(err, "deadline-exceeded", "context deadline exceeded");
        return true;
      },
    );
    assert.equal(registry.signals.length, 1);
    assert.equal(registry.signals[0].aborted, true, "the shared work was aborted: its last caller left");
    // Not cached: a later call verifies again.
    registry.gate = null;
    const selectors = await verifier.selectorsFor({ imageId: `${REG}/${REPO}@${digest}`, containerId: CID });
    assert.ok(selectors.includes(SIGNATURE_VERIFIED_SELECTOR));
  });

  it("one caller giving up does not abort the verification another caller waits for", async () => {
    const { verifier, registry } = setup();
    const digest = pushSignedImage(registry, REG, REPO, [{ payload: "ok:a", signature: "G" }]);
    const imageId = `${REG}/${REPO}@${digest}`;
    let open!: () => void;
    registry.gate = new Promise<void>((resolve) => open = resolve);
    const quitter = new AbortController();
    const first = verifier.selectorsFor({ imageId, containerId: "c://1" }, quitter.signal);
    const second = verifier.selectorsFor({ imageId, containerId: "c://2" });
    await new Promise((r) => setTimeout(r, 5));
    quitter.abort();
    await assert.rejects(first, { reason: "cancelled" });
    assert.equal(registry.signals[0].aborted, false);
    registry.gate = null;
    open();
    assert.ok((await second).includes("c://2:image-signature-subject:a"));
  });

  it("the signal reaches the signature check", async () => {
    let seen: AbortSignal | undefined;
    const check: SignatureCheck = (_s, context) => {
      seen = context.signal;
      return new Promise((_, reject) =>
        context.signal?.addEventListener("abort", () => reject(new Error("aborted")), { once: true })
      );
    };
    const { verifier, registry } = setup({ checkSignature: check });
    const digest = pushSignedImage(registry, REG, REPO, [{ payload: "ok:a", signature: "G" }]);
    const controller = new AbortController();
    const call = verifier.selectorsFor(
      { imageId: `${REG}/${REPO}@${digest}`, containerId: CID },
      controller.signal,
    );
    await new Promise((r) => setTimeout(r, 10));
    controller.abort();
    await assert.rejects(call, { reason: "cancelled" });
    assert.equal(seen?.aborted, true);
  });
});
