import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { type AttestCoreConfig, createAttestCore } from "../../src/core/attest.ts";
import { AttestorError, type ErrorCode } from "../../src/errors.ts";
import { PodListFetcher } from "../../src/kubelet/fetcher.ts";
import { nullLogger } from "../../src/log.ts";
import type { ContainerLocation } from "../../src/platform/types.ts";
import {
  capturingLogger,
  editBody,
  FakeLocator,
  FakePodList,
  type FakeStep,
  fixture,
  kubeletError,
  type LogLine,
} from "./fakes.ts";

// --- node_pods.json ---------------------------------------------------------------------------------------
const WEB_UID = "97590cb7-0b9a-4e8c-93dd-52049be46458";
const WEB_CID = "a4f34af38f111c852711ab083b842958f5aa9547bced562d146ea5d634b7490c";
const PROXY_CID = "98b24e342bfc4765f1a0af6fe288ed7269ab51fb17c705d45ffba089581a2ba0";
const ISTIO_INIT_CID = "658a4322dc5169f3e7c98ba5296947284ac48d0d6db0d6c1224d9e4a1d04584a";
const STATIC_UID = "88c47cc12f2fe79f926d6771fa33a2db";
const APISERVER_CID = "dea870cc68e8cf4642ae59a5455db058d199d0b23e302a2d99d77d7ffdd95941";
const BACKUP_UID = "1f0dc913-d977-40b0-80b3-5054693550f3";
const BACKUP_CID = "c01db7533675e171d1a7026851dc373d492f678d7fd9d9c4b9e28f1777f077b0";
const EXPORTER_UID = "6bcdf7ee-694d-492a-9e66-56ab1f981c89";
const EXPORTER_CID = "799d5740768754b33a2cbfc886d8613ae09f694ad518d8784e231d3588609c9b";
const SHELL_UID = "70059539-e0ba-4dc3-b4e7-44107d7e1e13";
const SHELL_CID = "13b5cb0aa47935a47b641f417b3308957f09ef12ef0c08ad5bd9ad62a7421e54";
const PENDING_UID = "046a0f81-2650-447c-99cf-6c854014d51d";
const PENDING_CID = "0d1e2f3a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6"; // not listed yet
const API_UID = "90f6e1ae-0694-4c51-97b1-eaea46742848";
const EPHEMERAL_CID = "4fc0d0108363406f193cd358177af6fc44e2467568a4d3617e3c8bb5d33c601d";
const ODD_UID = "a5e887eb-9290-490c-9a0e-2bf6dfb8ca28";
const ODD_CID = "2f3a8eb2030cffc4df323cf89de45811c247e0be64575a7b546476e037fd5683";
const FAILED_UID = "f522b6c2-a4ab-4c36-abe1-d667316c8d8a";
const FAILED_CID = "ad16a163d08ff69bb1ae137d4d53bbf1df8d472b57c6c64855dbe197a2ac6f66";
// --- blog_list.json, duplicates.json -----------------------------------------------------------------------
const BLOG_UID = "2c48913c-b29f-11e7-9350-020968147796";
const BLOG_CID = "9bca8d63d5fa610783847915bcff0ecac1273e5b4bed3f6fa1b07350e0135961";
const DUP_CID = "fc999af150b4eb508ac2d0387724ea67b064854638e97b709506cdea6fed12c1";
const CACHE0_UID = "b1f2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d";
const CACHE1_UID = "c2a3b4c5-d6e7-4f80-9a1b-2c3d4e5f6a7b";
const DUP_MESSAGE =
  `two pods found with same container Id "${DUP_CID}": pod "shop/cache-0" (UID "${CACHE0_UID}") ` +
  `and pod "shop/cache-1" (UID "${CACHE1_UID}"); refusing to attest either`;

const NODE = fixture("node_pods.json");

const PROXY_IMG = "docker.io/istio/proxyv2:1.24.2";
const PROXY_DIGEST =
  "docker.io/istio/proxyv2@sha256:445156b5f4a780242d079a47b7d88199cbbb5959c92358469b721af490eca9d5";
const WEB_IMG = "registry.example.com/shop/web:2.4.1";
const WEB_DIGEST =
  "registry.example.com/shop/web@sha256:5c3b7a1ad5d4f2e7c0b9a8e6d4c2b0a9f8e7d6c5b4a3928170f6e5d4c3b2a190";

/** Pod selectors of web-7d9f8b6c5d-x2k4p (Deployment → ReplicaSet; 2 containers + 1 init). */
const WEB_POD = [
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

const SHELL_POD = [
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

const PENDING_POD = [
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

function sorted(values: string[]): string[] {
  return [...values].sort();
}

interface Setup {
  location: ContainerLocation | Error | "hang";
  steps: FakeStep[];
  config?: Partial<AttestCoreConfig>;
}

function setup({ location, steps, config }: Setup) {
  const lines: LogLine[] = [];
  const locator = new FakeLocator(location);
  const pods = new FakePodList(steps);
  const core = createAttestCore({
    locator,
    pods,
    logger: capturingLogger(lines),
    config: { maxPollAttempts: 5, disableContainerSelectors: false, ...config },
  });
  return { core, pods, locator, lines };
}

async function rejectsWith(
  promise: Promise<unknown>,
  code: ErrorCode,
  message: string | RegExp,
): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof AttestorError, `expected an AttestorError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (typeof message === "string") assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

function noSelectorsMessage(podUid: string | null, cid: string, attempts: number): string {
  const pod = podUid === null ? "unknown" : `"${podUid}"`;
  return `no selectors found after max poll attempts (pod UID ${pod}, container ID "${cid}", ${attempts} attempts)`;
}

describe("attest: matching in node_pods.json", () => {
  const cases: [string, ContainerLocation, string[]][] = [
    [
      "regular container of a multi-container ReplicaSet pod",
      { podUid: WEB_UID, containerId: WEB_CID },
      [...WEB_POD, `container-image:${WEB_DIGEST}`, `container-image:${WEB_IMG}`, "container-name:web"],
    ],
    [
      "second container (sidecar) of the same pod",
      { podUid: WEB_UID, containerId: PROXY_CID },
      [
        ...WEB_POD,
        `container-image:${PROXY_DIGEST}`,
        `container-image:${PROXY_IMG}`,
        "container-name:istio-proxy",
      ],
    ],
    [
      "terminated init container",
      { podUid: WEB_UID, containerId: ISTIO_INIT_CID },
      [
        ...WEB_POD,
        `container-image:${PROXY_DIGEST}`,
        `container-image:${PROXY_IMG}`,
        "container-name:istio-init",
      ],
    ],
    [
      "init container found without a pod UID",
      { podUid: null, containerId: ISTIO_INIT_CID },
      [
        ...WEB_POD,
        `container-image:${PROXY_DIGEST}`,
        `container-image:${PROXY_IMG}`,
        "container-name:istio-init",
      ],
    ],
    [
      "DaemonSet pod",
      { podUid: EXPORTER_UID, containerId: EXPORTER_CID },
      [
        "container-image:quay.io/prometheus/node-exporter:v1.8.2",
        "container-image:quay.io/prometheus/node-exporter@sha256:4032c6d5bfd752342c3e631c2f1de93ba6b86c41db6b167b9a35372c139e7706",
        "container-name:node-exporter",
        "node-name:node-a",
        "ns:monitoring",
        "pod-image-count:1",
        "pod-image:quay.io/prometheus/node-exporter:v1.8.2",
        "pod-image:quay.io/prometheus/node-exporter@sha256:4032c6d5bfd752342c3e631c2f1de93ba6b86c41db6b167b9a35372c139e7706",
        "pod-init-image-count:0",
        "pod-label:app.kubernetes.io/name:node-exporter",
        "pod-label:controller-revision-hash:6b9f7c8d4f",
        "pod-label:pod-template-generation:3",
        "pod-name:node-exporter-7bq9d",
        "pod-owner-uid:DaemonSet:e3f1c2b4-5a6d-4e8f-9a0b-1c2d3e4f5a6b",
        "pod-owner:DaemonSet:node-exporter",
        `pod-uid:${EXPORTER_UID}`,
        "sa:node-exporter",
      ],
    ],
    [
      "Job pod that Succeeded (terminated container still matches)",
      { podUid: BACKUP_UID, containerId: BACKUP_CID },
      [
        "container-image:docker.io/library/postgres:16.4",
        "container-image:docker.io/library/postgres@sha256:d0f363f8366fbc3f52d172c6e76bc27151c3d643b870e1062b4e8bfe65baf609",
        "container-name:backup",
        "node-name:node-a",
        "ns:ops",
        "pod-image-count:1",
        "pod-image:docker.io/library/postgres:16.4",
        "pod-image:docker.io/library/postgres@sha256:d0f363f8366fbc3f52d172c6e76bc27151c3d643b870e1062b4e8bfe65baf609",
        "pod-init-image-count:0",
        "pod-label:batch.kubernetes.io/controller-uid:0b6f5b2e-7a4f-4c1e-9d51-3f2d8b6a9c10",
        "pod-label:batch.kubernetes.io/job-name:backup-28461230",
        "pod-label:job-name:backup-28461230",
        "pod-name:backup-28461230-9xk2m",
        "pod-owner-uid:Job:0b6f5b2e-7a4f-4c1e-9d51-3f2d8b6a9c10",
        "pod-owner:Job:backup-28461230",
        `pod-uid:${BACKUP_UID}`,
        "sa:backup",
      ],
    ],
    [
      "Job pod that Failed",
      { podUid: FAILED_UID, containerId: FAILED_CID },
      [
        "container-image:registry.example.com/shop/migrate:1.0.0",
        "container-image:registry.example.com/shop/migrate@sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9",
        "container-name:migrate",
        "node-name:node-a",
        "ns:shop",
        "pod-image-count:1",
        "pod-image:registry.example.com/shop/migrate:1.0.0",
        "pod-image:registry.example.com/shop/migrate@sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9",
        "pod-init-image-count:0",
        "pod-label:job-name:migrate-db",
        "pod-name:migrate-db-2jxkc",
        "pod-owner-uid:Job:c4b3a291-8f7e-4d6c-b5a4-93827160f5e4",
        "pod-owner:Job:migrate-db",
        `pod-uid:${FAILED_UID}`,
        "sa:migrate",
      ],
    ],
    [
      "pod without labels, owners, service account or imageID",
      { podUid: SHELL_UID, containerId: SHELL_CID },
      [
        ...SHELL_POD,
        "container-image:",
        "container-image:docker.io/library/busybox:1.36",
        "container-name:shell",
      ],
    ],
  ];
  const STATIC = [
    "container-image:registry.k8s.io/kube-apiserver:v1.31.4",
    "container-image:registry.k8s.io/kube-apiserver@sha256:ace6a943b058439bd6daeb74f152e7c36e6fc0b5e481cdff9364cd6ca0473e5e",
    "container-name:kube-apiserver",
    "node-name:node-a",
    "ns:kube-system",
    "pod-image-count:1",
    "pod-image:registry.k8s.io/kube-apiserver:v1.31.4",
    "pod-image:registry.k8s.io/kube-apiserver@sha256:ace6a943b058439bd6daeb74f152e7c36e6fc0b5e481cdff9364cd6ca0473e5e",
    "pod-init-image-count:0",
    "pod-label:component:kube-apiserver",
    "pod-label:tier:control-plane",
    "pod-name:kube-apiserver-node-a",
    "pod-owner-uid:Node:698c34ce-487c-418a-9aed-d6c1b3cf1057",
    "pod-owner:Node:node-a",
    `pod-uid:${STATIC_UID}`,
    "sa:",
  ];
  cases.push(
    ["static pod found by container ID (new locator: no pod UID)", {
      podUid: null,
      containerId: APISERVER_CID,
    }, STATIC],
    ["static pod by its 32-hex kubelet UID (legacy locator)", {
      podUid: STATIC_UID,
      containerId: APISERVER_CID,
    }, STATIC],
  );

  for (const [name, location, expected] of cases) {
    it(name, async () => {
      const { core, pods, locator } = setup({ location, steps: [NODE] });
      const selectors = await core.attest(4242, new AbortController().signal);
      assert.deepEqual(selectors, sorted(expected));
      assert.deepEqual(selectors, [...new Set(selectors)]);
      assert.deepEqual(pods.calls, [0]);
      assert.deepEqual(locator.pids, [4242, 4242], "located, then re-checked after the match");
    });
  }

  it("reproduces the 18-value worked example end to end (blog_list.json)", async () => {
    const { core } = setup({
      location: { podUid: BLOG_UID, containerId: BLOG_CID },
      steps: [fixture("blog_list.json")],
    });
    const selectors = await core.attest(1);
    assert.equal(selectors.length, 18);
    assert.ok(selectors.includes("container-name:blog"));
    assert.ok(selectors.includes("pod-owner:ReplicationController:blog"));
  });

  it("attestDetailed reports the match", async () => {
    const { core } = setup({ location: { podUid: null, containerId: ISTIO_INIT_CID }, steps: [NODE] });
    const result = await core.attestDetailed(7);
    assert.equal(result.pod?.name, "web-7d9f8b6c5d-x2k4p");
    assert.equal(result.container?.kind, "init");
    assert.equal(result.container?.status.name, "istio-init");
    assert.equal(result.attempts, 1);
    assert.equal(result.podUid, null);
    assert.equal(result.containerId, ISTIO_INIT_CID);
  });
});

describe("attest: no match is never a guess", () => {
  const never: [string, ContainerLocation][] = [
    ["a container ID only listed as a 12-char prefix, longer, upper-case, bare or with a port", {
      podUid: null,
      containerId: ODD_CID,
    }],
    ["the same with the pod UID known", { podUid: ODD_UID, containerId: ODD_CID }],
    ["the locator's ID in another hex case than the list's", {
      podUid: WEB_UID,
      containerId: WEB_CID.toUpperCase(),
    }],
    ["a container ID that is a prefix of a listed one", { podUid: null, containerId: WEB_CID.slice(0, 63) }],
    ["a container ID found under another pod than the cgroup names", {
      podUid: WEB_UID,
      containerId: EXPORTER_CID,
    }],
    ["a pod UID that differs only in case", { podUid: WEB_UID.toUpperCase(), containerId: WEB_CID }],
    ["a pending pod whose container has no containerID yet", {
      podUid: PENDING_UID,
      containerId: PENDING_CID,
    }],
  ];
  for (const [name, location] of never) {
    it(`${name} → DEADLINE_EXCEEDED after exactly max_poll_attempts fetches`, async () => {
      const { core, pods } = setup({ location, steps: [NODE], config: { maxPollAttempts: 4 } });
      await rejectsWith(
        core.attest(1),
        "DEADLINE_EXCEEDED",
        noSelectorsMessage(location.podUid, location.containerId!, 4),
      );
      assert.deepEqual(pods.calls, [0, 1, 2, 3], "each retry asks for a list newer than the last one seen");
    });
  }

  it("duplicated container ID across pods without a pod UID → INTERNAL at once, naming both", async () => {
    const { core, pods, lines } = setup({
      location: { podUid: null, containerId: DUP_CID },
      steps: [fixture("duplicates.json")],
    });
    await rejectsWith(core.attest(1), "INTERNAL", DUP_MESSAGE);
    assert.equal(pods.calls.length, 1);
    assert.ok(lines.some((l) => l.level === "warn" && l.message === "Two pods found with same container Id"));
  });

  // Stricter than upstream (issue 9, finding 3): the pod UID from the cgroup path no longer picks one of them.
  it("duplicated container ID with a known pod UID → INTERNAL at once, naming both", async () => {
    const { core, pods } = setup({
      location: { podUid: CACHE0_UID, containerId: DUP_CID },
      steps: [fixture("duplicates.json")],
    });
    await rejectsWith(core.attest(1), "INTERNAL", DUP_MESSAGE);
    assert.deepEqual(pods.calls, [0]);
  });

  it("a process outside any container gets no selectors and no kubelet request", async () => {
    const { core, pods } = setup({ location: { podUid: null, containerId: null }, steps: [NODE] });
    assert.deepEqual(await core.attest(1), []);
    assert.deepEqual(pods.calls, []);
  });

  it("a pod UID without a container ID is still not a container", async () => {
    const { core, pods } = setup({ location: { podUid: WEB_UID, containerId: null }, steps: [NODE] });
    assert.deepEqual(await core.attest(1), []);
    assert.deepEqual(pods.calls, []);
  });

  it("locator errors pass through unchanged", async () => {
    const err = new AttestorError("NOT_FOUND", "process 99 does not exist: /proc/99/cgroup");
    const { core, pods } = setup({ location: err, steps: [NODE] });
    await assert.rejects(core.attest(99), (e) => e === err);
    assert.deepEqual(pods.calls, []);
  });
});

describe("attest: an identity claimed by two items of the pod list is an error (issue 9, findings 3 and 4)", () => {
  type Item = Record<string, unknown> & {
    metadata: Record<string, unknown>;
    status?: Record<string, unknown>;
  };
  const web = (list: { items: Record<string, unknown>[] }) =>
    list.items.find((p) => (p.metadata as { uid: string }).uid === WEB_UID) as Item;
  /** NODE plus an "attacker" item: a copy of another pod with `edit` applied. */
  const withItem = (edit: (item: Item) => void, position: "after" | "before" = "after") =>
    editBody(NODE, (list) => {
      const item = structuredClone(
        list.items.find((p) => (p.metadata as { uid: string }).uid === SHELL_UID),
      ) as Item;
      item.status = { phase: "Running", containerStatuses: [] }; // claims nothing unless `edit` adds it
      edit(item);
      if (position === "after") list.items.push(item);
      else list.items.unshift(item);
    });
  const claimWebCid =
    (list: "containerStatuses" | "initContainerStatuses" | "ephemeralContainerStatuses") => (item: Item) => {
      item.metadata.name = "attacker";
      item.metadata.uid = "attacker-uid";
      const status = item.status as Record<string, unknown>;
      status[list] = [{ name: "x", containerID: `containerd://${WEB_CID}`, image: "evil:1", imageID: "" }];
    };
  const webCidMessage = (second: string) =>
    `two pods found with same container Id "${WEB_CID}": pod "shop/web-7d9f8b6c5d-x2k4p" (UID "${WEB_UID}") and ` +
    `${second}; refusing to attest either`;
  const ATTACKER = `pod "default/attacker" (UID "attacker-uid")`;

  for (const list of ["containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"] as const) {
    for (const podUid of [WEB_UID, null]) {
      for (const disableContainerSelectors of [false, true]) {
        it(`container ID also in another pod's ${list} (pod UID ${podUid ? "known" : "unknown"}, disable=${disableContainerSelectors})`, async () => {
          const { core, pods, lines } = setup({
            location: { podUid, containerId: WEB_CID },
            steps: [withItem(claimWebCid(list))],
            config: { disableContainerSelectors },
          });
          await rejectsWith(core.attest(1), "INTERNAL", webCidMessage(ATTACKER));
          assert.deepEqual(pods.calls, [0], "no polling");
          const warn = lines.find((l) => l.message === "Two pods found with same container Id");
          assert.equal(warn?.fields.container_id, WEB_CID);
        });
      }
    }
  }

  it("the claiming item comes first in the list: still an error, naming it first", async () => {
    const { core } = setup({
      location: { podUid: WEB_UID, containerId: WEB_CID },
      steps: [withItem(claimWebCid("initContainerStatuses"), "before")],
    });
    await rejectsWith(
      core.attest(1),
      "INTERNAL",
      `two pods found with same container Id "${WEB_CID}": ${ATTACKER} and pod "shop/web-7d9f8b6c5d-x2k4p" ` +
        `(UID "${WEB_UID}"); refusing to attest either`,
    );
  });

  it("the claiming item has no UID, or could not be decoded: still an error", async () => {
    const noUid = withItem((item) => {
      claimWebCid("containerStatuses")(item);
      delete item.metadata.uid;
    });
    const undecodable = withItem((item) => {
      claimWebCid("initContainerStatuses")(item);
      item.metadata.labels = { app: 7 };
    });
    for (const [body, second] of [[noUid, `pod "default/attacker" (no UID)`], [undecodable, ATTACKER]]) {
      const { core } = setup({ location: { podUid: WEB_UID, containerId: WEB_CID }, steps: [body] });
      await rejectsWith(core.attest(1), "INTERNAL", webCidMessage(second));
    }
  });

  it("a pod UID listed twice: its processes get an error naming both items, whichever comes first", async () => {
    for (const position of ["after", "before"] as const) {
      const body = withItem((item) => {
        item.metadata.name = "impostor";
        item.metadata.namespace = "evil";
        item.metadata.uid = WEB_UID;
      }, position);
      const pods = [
        `pod "shop/web-7d9f8b6c5d-x2k4p" (UID "${WEB_UID}")`,
        `pod "evil/impostor" (UID "${WEB_UID}")`,
      ];
      if (position === "before") pods.reverse();
      const message = `two pods found with same pod UID "${WEB_UID}": ${pods[0]} and ${
        pods[1]
      }; refusing to attest either`;
      for (
        const location of [{ podUid: WEB_UID, containerId: WEB_CID }, { podUid: null, containerId: WEB_CID }]
      ) {
        for (const disableContainerSelectors of [false, true]) {
          const { core, pods: source, lines } = setup({
            location,
            steps: [body],
            config: { disableContainerSelectors },
          });
          await rejectsWith(core.attest(1), "INTERNAL", message);
          assert.deepEqual(source.calls, [0], "no polling");
          assert.ok(lines.some((l) => l.message === "Two pods found with same pod UID"));
        }
      }
      // The pod UID alone (a container the kubelet does not list yet) is refused too.
      const { core } = setup({
        location: { podUid: WEB_UID, containerId: PENDING_CID },
        steps: [body],
        config: { disableContainerSelectors: true },
      });
      await rejectsWith(core.attest(1), "INTERNAL", message);
    }
  });

  it("a pod UID listed twice where one item could not be decoded: the ambiguity, not the decode error", async () => {
    const body = withItem((item) => {
      item.metadata.uid = WEB_UID;
      item.metadata.labels = [];
    });
    const { core } = setup({ location: { podUid: WEB_UID, containerId: WEB_CID }, steps: [body] });
    await rejectsWith(core.attest(1), "INTERNAL", /^two pods found with same pod UID /);
  });

  it("other pods of the same list are still attested (only the identities involved fail)", async () => {
    const dupUid = withItem((item) => {
      item.metadata.uid = WEB_UID;
    });
    const dupCid = withItem(claimWebCid("containerStatuses"));
    for (const body of [dupUid, dupCid]) {
      const { core } = setup({ location: { podUid: SHELL_UID, containerId: SHELL_CID }, steps: [body] });
      assert.deepEqual(
        await core.attest(1),
        sorted([
          ...SHELL_POD,
          "container-image:",
          "container-image:docker.io/library/busybox:1.36",
          "container-name:shell",
        ]),
      );
      const other = setup({ location: { podUid: BACKUP_UID, containerId: BACKUP_CID }, steps: [body] });
      assert.ok((await other.core.attest(1)).includes(`pod-uid:${BACKUP_UID}`));
    }
  });

  it("a container listed twice within one pod is not ambiguous", async () => {
    const body = editBody(NODE, (list) => {
      const status = web(list).status as { initContainerStatuses: { containerID: string }[] };
      status.initContainerStatuses[0].containerID = `containerd://${WEB_CID}`;
    });
    const { core } = setup({ location: { podUid: WEB_UID, containerId: WEB_CID }, steps: [body] });
    assert.ok((await core.attest(1)).includes(`pod-uid:${WEB_UID}`));
  });
});

describe("attest: ephemeral containers are denied", () => {
  const message =
    `ephemeral containers are not attested: container ID "${EPHEMERAL_CID}" is the ephemeral container ` +
    `"debugger-kx7pz" of pod "shop/api-6f7c9d8b5-qm4zt" (UID "${API_UID}")`;
  for (const disableContainerSelectors of [false, true]) {
    for (const podUid of [API_UID, null]) {
      it(`PERMISSION_DENIED without polling (pod UID ${podUid ? "known" : "unknown"}, disable=${disableContainerSelectors})`, async () => {
        const { core, pods } = setup({
          location: { podUid, containerId: EPHEMERAL_CID },
          steps: [NODE],
          config: { disableContainerSelectors },
        });
        await rejectsWith(core.attest(1), "PERMISSION_DENIED", message);
        assert.deepEqual(pods.calls, [0]);
      });
    }
  }

  it("a regular container listed in the same ID as an ephemeral one of the same pod wins", async () => {
    const body = editBody(NODE, (list) => {
      const api = list.items.find((p) => (p.metadata as { uid: string }).uid === API_UID)!;
      const status = api.status as { containerStatuses: { containerID: string }[] };
      status.containerStatuses[0].containerID = `containerd://${EPHEMERAL_CID}`;
    });
    const { core } = setup({ location: { podUid: API_UID, containerId: EPHEMERAL_CID }, steps: [body] });
    assert.ok((await core.attest(1)).includes("container-name:api"));
  });
});

describe("attest: disable_container_selectors", () => {
  const disabled = { disableContainerSelectors: true };

  it("container found with a pod UID → pod selectors only", async () => {
    const { core } = setup({
      location: { podUid: WEB_UID, containerId: WEB_CID },
      steps: [NODE],
      config: disabled,
    });
    assert.deepEqual(await core.attest(1), sorted(WEB_POD));
  });

  it("container not listed yet but pod listed → pod selectors at once", async () => {
    const { core, pods } = setup({
      location: { podUid: PENDING_UID, containerId: PENDING_CID },
      steps: [NODE],
      config: disabled,
    });
    const result = await core.attestDetailed(1);
    assert.deepEqual(result.selectors, sorted(PENDING_POD));
    assert.equal(result.container, null);
    assert.deepEqual(pods.calls, [0]);
  });

  it("pod UID known but the container ID belongs to another pod → that pod's UID decides", async () => {
    const { core } = setup({
      location: { podUid: WEB_UID, containerId: SHELL_CID },
      steps: [NODE],
      config: disabled,
    });
    assert.deepEqual(await core.attest(1), sorted(WEB_POD));
  });

  it("pod not listed until the third list → polls while the pod is missing", async () => {
    const without = editBody(NODE, (list) => {
      list.items = list.items.filter((p) => (p.metadata as { uid: string }).uid !== SHELL_UID);
    });
    const { core, pods } = setup({
      location: { podUid: SHELL_UID, containerId: SHELL_CID },
      steps: [without, without, NODE],
      config: disabled,
    });
    assert.deepEqual(await core.attest(1), sorted(SHELL_POD));
    assert.deepEqual(pods.calls, [0, 1, 2]);
  });

  it("unknown pod UID → still matched by container ID, pod selectors only", async () => {
    const { core } = setup({
      location: { podUid: null, containerId: WEB_CID },
      steps: [NODE],
      config: disabled,
    });
    assert.deepEqual(await core.attest(1), sorted(WEB_POD));
  });

  it("unknown pod UID and container not listed → keeps polling, then DEADLINE_EXCEEDED", async () => {
    const { core, pods } = setup({
      location: { podUid: null, containerId: PENDING_CID },
      steps: [NODE],
      config: { ...disabled, maxPollAttempts: 3 },
    });
    await rejectsWith(core.attest(1), "DEADLINE_EXCEEDED", noSelectorsMessage(null, PENDING_CID, 3));
    assert.equal(pods.calls.length, 3);
  });
});

describe("attest: polling", () => {
  const pendingThenRunning = (cid: string | null) =>
    editBody(NODE, (list) => {
      const worker = list.items.find((p) => (p.metadata as { uid: string }).uid === PENDING_UID)!;
      const status = worker.status as { phase: string; containerStatuses: Record<string, unknown>[] };
      if (cid === null) return;
      status.phase = "Running";
      status.containerStatuses[0].containerID = `containerd://${cid}`;
      status.containerStatuses[0].state = { running: { startedAt: "2026-03-02T10:16:00Z" } };
    });

  it("a container that appears only after two refreshes is found on the third list", async () => {
    const { core, pods, lines } = setup({
      location: { podUid: PENDING_UID, containerId: PENDING_CID },
      steps: [pendingThenRunning(null), pendingThenRunning(null), pendingThenRunning(PENDING_CID)],
    });
    const result = await core.attestDetailed(1);
    assert.deepEqual(
      result.selectors,
      sorted([
        ...PENDING_POD,
        "container-image:",
        "container-image:registry.example.com/shop/worker:1.0.3",
        "container-name:worker",
      ]),
    );
    assert.equal(result.attempts, 3);
    assert.deepEqual(pods.calls, [0, 1, 2]);
    const retries = lines.filter((l) => l.message === "Container id not found; will retry after backoff");
    assert.deepEqual(
      retries.map((l) => [l.level, l.fields.pod_uid, l.fields.container_id, l.fields.attempt]),
      [
        ["debug", PENDING_UID, PENDING_CID, 1],
        ["debug", PENDING_UID, PENDING_CID, 2],
      ],
    );
  });

  it("never appearing → DEADLINE_EXCEEDED after exactly max_poll_attempts fetches, with a give-up warning", async () => {
    const { core, pods, lines } = setup({
      location: { podUid: PENDING_UID, containerId: PENDING_CID },
      steps: [NODE],
      config: { maxPollAttempts: 7 },
    });
    await rejectsWith(core.attest(1), "DEADLINE_EXCEEDED", noSelectorsMessage(PENDING_UID, PENDING_CID, 7));
    assert.equal(pods.calls.length, 7);
    assert.deepEqual(lines.at(-1), {
      level: "warn",
      message: "Container id not found; giving up",
      fields: { pod_uid: PENDING_UID, container_id: PENDING_CID, attempt: 7 },
    });
  });

  it("max_poll_attempts = 1 → one fetch", async () => {
    const { core, pods } = setup({
      location: { podUid: PENDING_UID, containerId: PENDING_CID },
      steps: [NODE],
      config: { maxPollAttempts: 1 },
    });
    await rejectsWith(core.attest(1), "DEADLINE_EXCEEDED", noSelectorsMessage(PENDING_UID, PENDING_CID, 1));
    assert.equal(pods.calls.length, 1);
  });

  it("kubelet errors are retried, and the container found afterwards", async () => {
    const { core, pods, lines } = setup({
      location: { podUid: WEB_UID, containerId: WEB_CID },
      steps: [kubeletError(), kubeletError("unexpected status code on pods response: 503 busy"), NODE],
    });
    assert.ok((await core.attest(1)).includes("container-name:web"));
    assert.deepEqual(pods.calls, [0, 0, 0], "a failed fetch does not advance the version");
    const warns = lines.filter((l) => l.message === "Unable to get pod list; will retry after backoff");
    assert.deepEqual(warns.map((l) => [l.level, l.fields.attempt, l.fields.error]), [
      ["warn", 1, "unable to perform request: connection refused"],
      ["warn", 2, "unexpected status code on pods response: 503 busy"],
    ]);
  });

  it("a kubelet error on the last attempt → UNAVAILABLE with that error", async () => {
    const { core, pods, lines } = setup({
      location: { podUid: PENDING_UID, containerId: PENDING_CID },
      steps: [NODE, NODE, kubeletError("unable to parse kubelet response: Unexpected end of JSON input")],
      config: { maxPollAttempts: 3 },
    });
    await rejectsWith(
      core.attest(1),
      "UNAVAILABLE",
      "unable to parse kubelet response: Unexpected end of JSON input",
    );
    assert.deepEqual(pods.calls, [0, 1, 2]);
    assert.equal(lines.at(-1)?.message, "Unable to get pod list; giving up");
  });

  it("an error earlier but a list on the last attempt → DEADLINE_EXCEEDED", async () => {
    const { core } = setup({
      location: { podUid: PENDING_UID, containerId: PENDING_CID },
      steps: [kubeletError(), NODE],
      config: { maxPollAttempts: 2 },
    });
    await rejectsWith(core.attest(1), "DEADLINE_EXCEEDED", noSelectorsMessage(PENDING_UID, PENDING_CID, 2));
  });

  it("an unparseable body (parsePodList error) is a retried kubelet error", async () => {
    const { core, pods } = setup({
      location: { podUid: WEB_UID, containerId: WEB_CID },
      steps: ["[]", NODE],
    });
    assert.ok((await core.attest(1)).includes("container-name:web"));
    assert.equal(pods.calls.length, 2);
  });

  it("a fetch error with another code (a contract error) ends the call at once", async () => {
    const { core, pods } = setup({
      location: { podUid: WEB_UID, containerId: WEB_CID },
      steps: [new AttestorError("FAILED_PRECONDITION", "pod list fetcher is closed")],
    });
    await rejectsWith(core.attest(1), "FAILED_PRECONDITION", "pod list fetcher is closed");
    assert.equal(pods.calls.length, 1);
  });

  it("a closed fetcher ends the call at once with its UNAVAILABLE error", async () => {
    const { core, pods } = setup({
      location: { podUid: WEB_UID, containerId: WEB_CID },
      steps: [new AttestorError("UNAVAILABLE", "pod list fetcher is closed")],
    });
    await rejectsWith(core.attest(1), "UNAVAILABLE", "pod list fetcher is closed");
    assert.equal(pods.calls.length, 1);
  });

  it("the real fetcher's closed error is recognised", async () => {
    const fetcher = new PodListFetcher({ logger: nullLogger });
    await fetcher.close();
    const core = createAttestCore({
      locator: new FakeLocator({ podUid: WEB_UID, containerId: WEB_CID }),
      pods: fetcher,
      logger: nullLogger,
      config: { maxPollAttempts: 60, disableContainerSelectors: false },
    });
    await rejectsWith(core.attest(1), "UNAVAILABLE", "pod list fetcher is closed");
  });

  it("a non-AttestorError from the source is treated as UNAVAILABLE", async () => {
    const { core } = setup({
      location: { podUid: WEB_UID, containerId: WEB_CID },
      steps: [new TypeError("boom")],
      config: { maxPollAttempts: 2 },
    });
    await rejectsWith(core.attest(1), "UNAVAILABLE", "boom");
  });
});

describe("attest: undecodable pods fail closed", () => {
  const withBadLabels = (uid: string) =>
    editBody(NODE, (list) => {
      const pod = list.items.find((p) => (p.metadata as { uid: string }).uid === uid)!;
      (pod.metadata as Record<string, unknown>).labels = { app: 7 };
    });

  it("the pod named by the cgroup is undecodable → UNAVAILABLE at once", async () => {
    const { core, pods } = setup({
      location: { podUid: WEB_UID, containerId: WEB_CID },
      steps: [withBadLabels(WEB_UID)],
    });
    await rejectsWith(
      core.attest(1),
      "UNAVAILABLE",
      `unable to decode pod info from kubelet response: pod "${WEB_UID}": metadata.labels.app: expected a string, got a number`,
    );
    assert.equal(pods.calls.length, 1);
  });

  it("another pod is undecodable and the pod UID is known → unaffected", async () => {
    const { core } = setup({
      location: { podUid: WEB_UID, containerId: WEB_CID },
      steps: [withBadLabels(SHELL_UID)],
    });
    assert.ok((await core.attest(1)).includes("container-name:web"));
  });

  it("any pod is undecodable and the pod UID is unknown → UNAVAILABLE", async () => {
    const { core } = setup({
      location: { podUid: null, containerId: WEB_CID },
      steps: [withBadLabels(SHELL_UID)],
    });
    await rejectsWith(
      core.attest(1),
      "UNAVAILABLE",
      `unable to decode pod info from kubelet response: pod "${SHELL_UID}": metadata.labels.app: expected a string, got a number`,
    );
  });
});

describe("attest: cancellation", () => {
  it("abort while waiting for a newer list → CANCELLED, listeners removed", async () => {
    const controller = new AbortController();
    let added = 0, removed = 0;
    const signal = controller.signal;
    const add = signal.addEventListener.bind(signal);
    const remove = signal.removeEventListener.bind(signal);
    signal.addEventListener = ((...args: Parameters<typeof add>) => (added++, add(...args))) as typeof add;
    signal.removeEventListener =
      ((...args: Parameters<typeof remove>) => (removed++, remove(...args))) as typeof remove;

    const { core, pods } = setup({
      location: { podUid: PENDING_UID, containerId: PENDING_CID },
      steps: [NODE, "hang"],
      config: { maxPollAttempts: 60 },
    });
    const done = core.attest(1, signal);
    while (pods.calls.length < 2) await new Promise<void>((r) => queueMicrotask(r));
    assert.equal(pods.pendingListeners, 1);
    controller.abort();
    await rejectsWith(done, "CANCELLED", "context canceled");
    assert.deepEqual(pods.calls, [0, 1]);
    assert.equal(pods.pendingListeners, 0);
    // The core's own listeners (one per awaited step) are all removed; the fake's `once` listener fired.
    assert.equal(added - 1, removed, `added ${added}, removed ${removed}`);
  });

  it("a timeout reason → DEADLINE_EXCEEDED context deadline exceeded", async () => {
    const controller = new AbortController();
    const { core } = setup({ location: { podUid: PENDING_UID, containerId: PENDING_CID }, steps: ["hang"] });
    const done = core.attest(1, controller.signal);
    await Promise.resolve();
    controller.abort(new DOMException("signal timed out", "TimeoutError"));
    await rejectsWith(done, "DEADLINE_EXCEEDED", "context deadline exceeded");
  });

  it("AbortSignal.timeout (a real deadline) → DEADLINE_EXCEEDED", async () => {
    const { core } = setup({ location: { podUid: PENDING_UID, containerId: PENDING_CID }, steps: ["hang"] });
    await rejectsWith(
      core.attest(1, AbortSignal.timeout(5)),
      "DEADLINE_EXCEEDED",
      "context deadline exceeded",
    );
  });

  it("abort while locating → CANCELLED, no kubelet request", async () => {
    const controller = new AbortController();
    const { core, pods } = setup({ location: "hang", steps: [NODE] });
    const done = core.attest(1, controller.signal);
    await Promise.resolve();
    controller.abort();
    await rejectsWith(done, "CANCELLED", "context canceled");
    assert.deepEqual(pods.calls, []);
  });

  it("an already aborted signal → CANCELLED before locating", async () => {
    const { core, locator } = setup({ location: { podUid: WEB_UID, containerId: WEB_CID }, steps: [NODE] });
    await rejectsWith(core.attest(1, AbortSignal.abort()), "CANCELLED", "context canceled");
    assert.deepEqual(locator.pids, []);
  });

  it("a source that ignores the signal is abandoned on abort", async () => {
    const controller = new AbortController();
    let release: () => void = () => {};
    const core = createAttestCore({
      locator: new FakeLocator({ podUid: WEB_UID, containerId: WEB_CID }),
      pods: {
        fetchNext: () => new Promise((_res, rej) => (release = () => rej(kubeletError()))),
      },
      logger: nullLogger,
      config: { maxPollAttempts: 3, disableContainerSelectors: false },
    });
    const done = core.attest(1, controller.signal);
    await new Promise<void>((r) => queueMicrotask(r));
    controller.abort();
    await rejectsWith(done, "CANCELLED", "context canceled");
    release(); // the late rejection must not surface as an unhandled rejection
  });
});

describe("attest: with the real PodListFetcher (fake kubelet bodies)", () => {
  it("finds a container listed only after two refreshes; one kubelet request per attempt", async () => {
    const pending = editBody(NODE, () => {});
    const running = editBody(NODE, (list) => {
      const worker = list.items.find((p) => (p.metadata as { uid: string }).uid === PENDING_UID)!;
      const status = worker.status as { containerStatuses: Record<string, unknown>[] };
      status.containerStatuses[0].containerID = `containerd://${PENDING_CID}`;
    });
    const bodies = [pending, pending, running];
    let requests = 0;
    const fetcher = new PodListFetcher({
      fetchPods: () => Promise.resolve(bodies[Math.min(requests++, bodies.length - 1)]),
      minIntervalMs: 2,
    });
    try {
      const core = createAttestCore({
        locator: new FakeLocator({ podUid: PENDING_UID, containerId: PENDING_CID }),
        pods: fetcher,
        logger: nullLogger,
        config: { maxPollAttempts: 5, disableContainerSelectors: false },
      });
      const result = await core.attestDetailed(1, new AbortController().signal);
      assert.ok(result.selectors.includes("container-name:worker"));
      assert.equal(result.attempts, 3);
      assert.equal(requests, 3);
    } finally {
      await fetcher.close();
    }
  });

  it("never listed → DEADLINE_EXCEEDED after exactly max_poll_attempts kubelet requests", async () => {
    let requests = 0;
    const fetcher = new PodListFetcher({
      fetchPods: () => (requests++, Promise.resolve(NODE)),
      minIntervalMs: 1,
    });
    try {
      const core = createAttestCore({
        locator: new FakeLocator({ podUid: PENDING_UID, containerId: PENDING_CID }),
        pods: fetcher,
        logger: nullLogger,
        config: { maxPollAttempts: 4, disableContainerSelectors: false },
      });
      await rejectsWith(core.attest(1), "DEADLINE_EXCEEDED", noSelectorsMessage(PENDING_UID, PENDING_CID, 4));
      assert.equal(requests, 4);
    } finally {
      await fetcher.close();
    }
  });

  it("abort while the fetcher waits for its spacing → CANCELLED, no timer left after close", async () => {
    let requests = 0;
    const fetcher = new PodListFetcher({
      fetchPods: () => (requests++, Promise.resolve(NODE)),
      minIntervalMs: 60_000,
    });
    try {
      const controller = new AbortController();
      const core = createAttestCore({
        locator: new FakeLocator({ podUid: PENDING_UID, containerId: PENDING_CID }),
        pods: fetcher,
        logger: nullLogger,
        config: { maxPollAttempts: 60, disableContainerSelectors: false },
      });
      const done = core.attest(1, controller.signal);
      while (requests < 1) await new Promise<void>((r) => setTimeout(r, 1));
      await new Promise<void>((r) => setTimeout(r, 5)); // now waiting for a list newer than the first
      controller.abort();
      await rejectsWith(done, "CANCELLED", "context canceled");
      assert.equal(requests, 1);
    } finally {
      await fetcher.close(); // drops the 60 s spacing timer; Deno's sanitizer fails the test if one leaks
    }
  });
});
