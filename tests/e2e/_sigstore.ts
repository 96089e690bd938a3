/**
 * Test helper for the sigstore end-to-end tests (Linux and Wine): the plugin's `experimental.sigstore` block
 * for the offline sigstore fixture's identities, and a Rekor URL where nothing answers.
 *
 * @module
 */

import assert from "node:assert/strict";
import { demoPodList } from "../../src/demo/pods.ts";
import { FIXTURE_ISSUER, FIXTURE_SUBJECT } from "../../src/testing/sigstore_fixtures.ts";
import { expectedWebAppSelectors } from "../testdata/demo_pod_selectors.ts";
import type { Workload } from "./_workload.ts";

/** The second allowed subject (a URI SAN, as a CI workflow identity). */
export const URI_SUBJECT = "https://ci.example/release";

/**
 * An https URL on a loopback port that was free a moment ago: nothing answers there (connection refused).
 *
 * @returns `https://127.0.0.1:<port>/`.
 */
export function closedPortUrl(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return `https://127.0.0.1:${port}/`;
}

/**
 * The `experimental.sigstore` block allowing the fixture's issuer with {@linkcode FIXTURE_SUBJECT} and
 * {@linkcode URI_SUBJECT}.
 *
 * @param options `rekor_url`, `enforce_sct` (default true) and the skip list (default empty).
 * @returns The HCL text.
 */
export function sigstoreHcl(options: {
  readonly rekorUrl: string;
  readonly enforceSct?: boolean;
  readonly skip?: readonly string[];
}): string {
  return [
    "experimental {",
    "  sigstore {",
    `    rekor_url = "${options.rekorUrl}"`,
    `    enforce_sct = ${options.enforceSct ?? true}`,
    "    allowed_subjects_list {",
    `      "${FIXTURE_ISSUER}" = ["${FIXTURE_SUBJECT}", "${URI_SUBJECT}"]`,
    "    }",
    `    skip_signature_verification_image_list = ${JSON.stringify(options.skip ?? [])}`,
    "  }",
    "}",
  ].join("\n");
}

/** The demo list's imageID of the workload's `app` container, replaced by the image under test. */
export const DEMO_APP_IMAGE_ID =
  "registry.example.com/web/app@sha256:0c9e1b7a3d5f2e8c4a6b0d9f1e3c5a7b9d2f4e6a8c0b1d3f5e7a9c2b4d6f8e0a";

/**
 * Publishes the demo pod list with the workload's `app` container running `imageId`, and waits out the
 * plugin's pod-list cache (`poll_retry_interval`, 50 ms) so the next attestation reads it.
 *
 * @param kubelet The (TLS) fake kubelet serving the list.
 * @param workload The workload process (its pod UID and container ID).
 * @param node The node name of the list.
 * @param imageId The `imageID` to put on the workload's container.
 */
export async function runImage(
  kubelet: { setPods(list: unknown): void },
  workload: Pick<Workload, "podUid" | "containerId">,
  node: string,
  imageId: string,
): Promise<void> {
  const list = demoPodList({ podUid: workload.podUid, containerId: workload.containerId, nodeName: node });
  let found = 0;
  for (const item of list.items as { status: { containerStatuses: Record<string, unknown>[] } }[]) {
    for (const s of item.status.containerStatuses ?? []) {
      if (s.containerID === `containerd://${workload.containerId}`) {
        s.imageID = imageId;
        found++;
      }
    }
  }
  assert.equal(found, 1);
  kubelet.setPods(list);
  await new Promise((r) => setTimeout(r, 60));
}

/**
 * The workload's selectors without sigstore, for an `app` container running `imageId` (the hand-written
 * demo selectors with the image swapped).
 *
 * @param workload The workload (its pod UID).
 * @param node The node name.
 * @param imageId The image ID.
 * @returns The selectors.
 */
export function baseSelectors(workload: Pick<Workload, "podUid">, node: string, imageId: string): string[] {
  return expectedWebAppSelectors(workload.podUid, node).map((s) => s.replace(DEMO_APP_IMAGE_ID, imageId));
}
