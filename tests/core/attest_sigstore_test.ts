/**
 * The core's use of the image-signature port: asked only for a matched container with container selectors
 * enabled, with the container's status and the call's signal; its values sorted with the others; its error
 * failing the attestation.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createAttestCore } from "../../src/core/attest.ts";
import type { ContainerImageVerifier, ContainerStatusInfo } from "../../src/core/types.ts";
import { AttestorError } from "../../src/errors.ts";
import { sortSelectors } from "../../src/core/selectors.ts";
import { capturingLogger, FakeLocator, FakePodList, fixture, type LogLine, rejectsWith } from "./fakes.ts";
import { WEB_CID, WEB_DIGEST, WEB_IMG, WEB_POD, WEB_UID } from "./_node_pods.ts";

/** A verifier that records its calls and answers `answer`. */
function recordingVerifier(
  answer: readonly string[] | Error | "hang",
  askedWithoutContainerSelectors = false,
) {
  const calls: { container: ContainerStatusInfo; signal?: AbortSignal }[] = [];
  const verifier: ContainerImageVerifier = {
    askedWithoutContainerSelectors,
    selectorsFor(container, signal) {
      calls.push({ container, signal });
      if (answer === "hang") {
        return new Promise((_, reject) => signal?.addEventListener("abort", () => reject(signal.reason)));
      }
      return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
    },
  };
  return { verifier, calls };
}

function core(
  verifier: ContainerImageVerifier,
  disableContainerSelectors = false,
  podUid: string | null = WEB_UID,
) {
  const lines: LogLine[] = [];
  return {
    lines,
    core: createAttestCore({
      locator: new FakeLocator({ podUid, containerId: WEB_CID }),
      pods: new FakePodList([fixture("node_pods.json")]),
      logger: capturingLogger(lines),
      config: { maxPollAttempts: 2, disableContainerSelectors },
      imageVerifier: verifier,
    }),
  };
}

const SIGSTORE = [
  `containerd://${WEB_CID}:image-signature-subject:alice@example.com`,
  "sigstore-validation:passed",
];

describe("attest: image signatures", () => {
  it("the verifier's values are added and sorted with the others; it gets the container status and signal", async () => {
    const { verifier, calls } = recordingVerifier(SIGSTORE);
    const signal = AbortSignal.timeout(10_000);
    const selectors = await core(verifier).core.attest(1, signal);
    assert.deepEqual(
      selectors,
      sortSelectors([
        ...WEB_POD,
        `container-image:${WEB_DIGEST}`,
        `container-image:${WEB_IMG}`,
        "container-name:web",
        ...SIGSTORE,
      ]),
    );
    assert.equal(calls.length, 1);
    assert.equal(calls[0].container.name, "web");
    assert.equal(calls[0].container.imageId, WEB_DIGEST);
    assert.equal(calls[0].signal, signal);
  });

  it("with container selectors disabled the verifier is not asked (upstream v1.9.6)", async () => {
    const { verifier, calls } = recordingVerifier(SIGSTORE);
    const selectors = await core(verifier, true).core.attest(1);
    assert.deepEqual(selectors, sortSelectors(WEB_POD));
    assert.equal(calls.length, 0);
  });

  it("the top-level sigstore block's verifier is asked even with container selectors disabled (upstream v1.15.3)", async () => {
    const current = ["image-signature:verified", "image-attestations:verified"];
    const { verifier, calls } = recordingVerifier(current, true);
    const selectors = await core(verifier, true).core.attest(1);
    assert.deepEqual(selectors, sortSelectors([...WEB_POD, ...current]));
    assert.equal(calls.length, 1);
    assert.equal(calls[0].container.name, "web");
    assert.equal(calls[0].container.imageId, WEB_DIGEST);
    const failing = recordingVerifier(new AttestorError("signature-unverified", "no signatures found"), true);
    await rejectsWith(
      core(failing.verifier, true).core.attest(1),
      "signature-unverified",
      /no signatures found/,
    );
  });

  it("the verifier's error fails the attestation (no selectors) and is logged", async () => {
    const failure = new AttestorError("signature-unverified", "no signatures found for image x");
    const { verifier } = recordingVerifier(failure);
    const { core: c, lines } = core(verifier);
    await rejectsWith(c.attest(1), "signature-unverified", "no signatures found for image x");
    assert.ok(lines.some((l) => l.level === "warn" && l.message === "Error retrieving signature payload"));
  });

  it("an error of unknown kind becomes internal", async () => {
    const { verifier } = recordingVerifier(new TypeError("boom"));
    await rejectsWith(core(verifier).core.attest(1), "internal", "verifying the image signature: boom");
  });

  it("the attestation's deadline ends a verification that hangs", async () => {
    const { verifier } = recordingVerifier("hang");
    await rejectsWith(
      core(verifier).core.attest(1, AbortSignal.timeout(30)),
      "deadline-exceeded",
      "context deadline exceeded",
    );
  });

  it("a process that is not in a container never reaches the verifier", async () => {
    const { verifier, calls } = recordingVerifier(SIGSTORE);
    const c = createAttestCore({
      locator: new FakeLocator({ podUid: null, containerId: null }),
      pods: new FakePodList([fixture("node_pods.json")]),
      logger: capturingLogger([]),
      config: { maxPollAttempts: 1, disableContainerSelectors: false },
      imageVerifier: verifier,
    });
    assert.deepEqual(await c.attest(1), []);
    assert.equal(calls.length, 0);
  });
});
