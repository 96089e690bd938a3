/**
 * Test helper: the identities and expected selectors of the pod-list fixtures (tests/testdata/pods/), and
 * the edits the core tests make to them.
 *
 * @module
 */

import { editBody, fixture } from "./fakes.ts";

// --- node_pods.json ---------------------------------------------------------------------------------------
export const WEB_UID = "97590cb7-0b9a-4e8c-93dd-52049be46458";
export const WEB_CID = "a4f34af38f111c852711ab083b842958f5aa9547bced562d146ea5d634b7490c";
export const PROXY_CID = "98b24e342bfc4765f1a0af6fe288ed7269ab51fb17c705d45ffba089581a2ba0";
export const ISTIO_INIT_CID = "658a4322dc5169f3e7c98ba5296947284ac48d0d6db0d6c1224d9e4a1d04584a";
export const STATIC_UID = "88c47cc12f2fe79f926d6771fa33a2db";
export const APISERVER_CID = "dea870cc68e8cf4642ae59a5455db058d199d0b23e302a2d99d77d7ffdd95941";
export const BACKUP_UID = "1f0dc913-d977-40b0-80b3-5054693550f3";
export const BACKUP_CID = "c01db7533675e171d1a7026851dc373d492f678d7fd9d9c4b9e28f1777f077b0";
export const EXPORTER_UID = "6bcdf7ee-694d-492a-9e66-56ab1f981c89";
export const EXPORTER_CID = "799d5740768754b33a2cbfc886d8613ae09f694ad518d8784e231d3588609c9b";
export const SHELL_UID = "70059539-e0ba-4dc3-b4e7-44107d7e1e13";
export const SHELL_CID = "13b5cb0aa47935a47b641f417b3308957f09ef12ef0c08ad5bd9ad62a7421e54";
export const PENDING_UID = "046a0f81-2650-447c-99cf-6c854014d51d";
export const PENDING_CID = "0d1e2f3a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6"; // not listed yet
export const API_UID = "90f6e1ae-0694-4c51-97b1-eaea46742848";
export const EPHEMERAL_CID = "4fc0d0108363406f193cd358177af6fc44e2467568a4d3617e3c8bb5d33c601d";
export const ODD_UID = "a5e887eb-9290-490c-9a0e-2bf6dfb8ca28";
export const ODD_CID = "2f3a8eb2030cffc4df323cf89de45811c247e0be64575a7b546476e037fd5683";
export const FAILED_UID = "f522b6c2-a4ab-4c36-abe1-d667316c8d8a";
export const FAILED_CID = "ad16a163d08ff69bb1ae137d4d53bbf1df8d472b57c6c64855dbe197a2ac6f66";
// --- blog_list.json, duplicates.json -----------------------------------------------------------------------
export const BLOG_UID = "2c48913c-b29f-11e7-9350-020968147796";
export const BLOG_CID = "9bca8d63d5fa610783847915bcff0ecac1273e5b4bed3f6fa1b07350e0135961";
export const DUP_CID = "fc999af150b4eb508ac2d0387724ea67b064854638e97b709506cdea6fed12c1";
export const CACHE0_UID = "b1f2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d";
export const CACHE1_UID = "c2a3b4c5-d6e7-4f80-9a1b-2c3d4e5f6a7b";
export const DUP_MESSAGE =
  `two pods found with same container Id "${DUP_CID}": pod "shop/cache-0" (UID "${CACHE0_UID}") ` +
  `and pod "shop/cache-1" (UID "${CACHE1_UID}"); refusing to attest either`;

export const NODE = fixture("node_pods.json");

export const PROXY_IMG = "docker.io/istio/proxyv2:1.24.2";
export const PROXY_DIGEST =
  "docker.io/istio/proxyv2@sha256:445156b5f4a780242d079a47b7d88199cbbb5959c92358469b721af490eca9d5";
export const WEB_IMG = "registry.example.com/shop/web:2.4.1";
export const WEB_DIGEST =
  "registry.example.com/shop/web@sha256:5c3b7a1ad5d4f2e7c0b9a8e6d4c2b0a9f8e7d6c5b4a3928170f6e5d4c3b2a190";

/** Pod selectors of web-7d9f8b6c5d-x2k4p (Deployment → ReplicaSet; 2 containers + 1 init). */
export const WEB_POD = [
  "node-name:node-a",
  "ns:shop",
  "pod-image-count:2",
  `pod-image:${PROXY_IMG}`,
  `pod-image:${PROXY_DIGEST}`,
  `pod-image:${WEB_IMG}`,
  `pod-image:${WEB_DIGEST}`,
  "pod-init-image-count:1",
  `pod-init-image:${PROXY_IMG}`,
  `pod-init-image:${PROXY_DIGEST}`,
  "pod-label:app:web",
  "pod-label:pod-template-hash:7d9f8b6c5d",
  "pod-label:security.istio.io/tlsMode:istio",
  "pod-name:web-7d9f8b6c5d-x2k4p",
  "pod-owner-uid:ReplicaSet:3726362a-c5bb-42c8-8046-4dcbb89238c9",
  "pod-owner:ReplicaSet:web-7d9f8b6c5d",
  `pod-uid:${WEB_UID}`,
  "sa:web",
];

export const SHELL_POD = [
  "node-name:node-a",
  "ns:default",
  "pod-image-count:1",
  "pod-image:",
  "pod-image:docker.io/library/busybox:1.36",
  "pod-init-image-count:0",
  "pod-name:shell",
  `pod-uid:${SHELL_UID}`,
  "sa:",
];

/** The selectors of the `default/shell` pod's `shell` container (pod and container selectors). */
export const SHELL_CONTAINER = [
  ...SHELL_POD,
  "container-image:",
  "container-image:docker.io/library/busybox:1.36",
  "container-name:shell",
];

export const PENDING_POD = [
  "node-name:node-a",
  "ns:shop",
  "pod-image-count:1",
  "pod-image:",
  "pod-image:registry.example.com/shop/worker:1.0.3",
  "pod-init-image-count:0",
  "pod-label:app:queue-worker",
  "pod-name:queue-worker-5c8d7b9f4-h7x2q",
  "pod-owner-uid:ReplicaSet:5d2c1b0a-9e8f-4a7b-8c6d-5e4f3a2b1c0d",
  "pod-owner:ReplicaSet:queue-worker-5c8d7b9f4",
  `pod-uid:${PENDING_UID}`,
  "sa:queue",
];

/** Sorted copy (selectors come back sorted). */
export function sorted(values: readonly string[]): string[] {
  return [...values].sort();
}

/** A pod list's item with `metadata.uid === uid` (the fixtures have one). */
export function podOf(list: { items: Record<string, unknown>[] }, uid: string): Record<string, unknown> {
  const pod = list.items.find((p) => (p.metadata as { uid: string }).uid === uid);
  if (pod === undefined) throw new Error(`no pod with UID ${uid} in the fixture`);
  return pod;
}

/**
 * node_pods.json once the pending queue worker's container has started as `cid` (phase Running, the status
 * carrying the container ID); with `null`, the list unchanged (still pending).
 */
export function workerStarted(cid: string | null): string {
  return editBody(NODE, (list) => {
    if (cid === null) return;
    const status = podOf(list, PENDING_UID).status as {
      phase: string;
      containerStatuses: Record<string, unknown>[];
    };
    status.phase = "Running";
    status.containerStatuses[0].containerID = `containerd://${cid}`;
    status.containerStatuses[0].state = { running: { startedAt: "2026-03-02T10:16:00Z" } };
  });
}

/** The message of the core's give-up error. */
export function noSelectorsMessage(podUid: string | null, cid: string, attempts: number): string {
  const pod = podUid === null ? "unknown" : `"${podUid}"`;
  return `no selectors found after max poll attempts (pod UID ${pod}, container ID "${cid}", ${attempts} attempts)`;
}
