import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  buildSelectors,
  compareCodePoints,
  containerSelectorValues,
  podSelectorValues,
  sortSelectors,
} from "../../src/core/selectors.ts";
import { parsePodList } from "../../src/kubelet/pods.ts";
import type { PodInfo } from "../../src/core/types.ts";

const FIXTURES = new URL("../testdata/pods/", import.meta.url);
const blogList = parsePodList(Deno.readTextFileSync(new URL("blog_list.json", FIXTURES)), 1);

function podOf(uid: string): PodInfo {
  const pod = blogList.podsByUid.get(uid);
  assert.ok(pod, `pod ${uid} in blog_list.json`);
  return pod;
}

/** The 18 values of the worked example (behaviour doc §4.2), in the sorted order the upstream test uses. */
const BLOG_SELECTORS = [
  "container-image:docker-pullable://localhost/spiffe/blog@sha256:0cfdaced91cb46dd7af48309799a3c351e4ca2d5e1ee9737ca0cbd932cb79898",
  "container-image:localhost/spiffe/blog:latest",
  "container-name:blog",
  "node-name:k8s-node-1",
  "ns:default",
  "pod-image-count:2",
  "pod-image:docker-pullable://localhost/spiffe/blog@sha256:0cfdaced91cb46dd7af48309799a3c351e4ca2d5e1ee9737ca0cbd932cb79898",
  "pod-image:docker-pullable://localhost/spiffe/ghostunnel@sha256:b2fc20676c92a433b9a91f3f4535faddec0c2c3613849ac12f02c1d5cfcd4c3a",
  "pod-image:localhost/spiffe/blog:latest",
  "pod-image:localhost/spiffe/ghostunnel:latest",
  "pod-init-image-count:0",
  "pod-label:k8s-app:blog",
  "pod-label:version:v0",
  "pod-name:blog-24ck7",
  "pod-owner-uid:ReplicationController:2c401175-b29f-11e7-9350-020968147796",
  "pod-owner:ReplicationController:blog",
  "pod-uid:2c48913c-b29f-11e7-9350-020968147796",
  "sa:default",
];

const FLANNEL_IMAGE = "quay.io/coreos/flannel:v0.9.0-amd64";
const FLANNEL_ID =
  "docker-pullable://quay.io/coreos/flannel@sha256:1b401bf0c30bada9a539389c3be652b58fe38463361edf488e6543c8761d4970";

/** The 20 values of the init-container example (§4.2). */
const FLANNEL_INIT_SELECTORS = [
  `container-image:${FLANNEL_ID}`,
  `container-image:${FLANNEL_IMAGE}`,
  "container-name:install-cni",
  "node-name:k8s-node-1",
  "ns:kube-system",
  "pod-image-count:1",
  `pod-image:${FLANNEL_ID}`,
  `pod-image:${FLANNEL_IMAGE}`,
  "pod-init-image-count:1",
  `pod-init-image:${FLANNEL_ID}`,
  `pod-init-image:${FLANNEL_IMAGE}`,
  "pod-label:app:flannel",
  "pod-label:controller-revision-hash:1846323910",
  "pod-label:pod-template-generation:1",
  "pod-label:tier:node",
  "pod-name:kube-flannel-ds-gp1g9",
  "pod-owner-uid:DaemonSet:2f0350fc-b29d-11e7-9350-020968147796",
  "pod-owner:DaemonSet:kube-flannel-ds",
  "pod-uid:d488cae9-b2a0-11e7-9350-020968147796",
  "sa:flannel",
];

function pod(overrides: Partial<PodInfo>): PodInfo {
  return {
    uid: "u",
    name: "p",
    namespace: "ns",
    labels: [],
    ownerReferences: [],
    serviceAccountName: "sa",
    nodeName: "n",
    containerStatuses: [],
    initContainerStatuses: [],
    ephemeralContainerStatuses: [],
    ...overrides,
  };
}

describe("buildSelectors", () => {
  it("reproduces the 18-value worked example (blog container of blog-24ck7)", () => {
    const blog = podOf("2c48913c-b29f-11e7-9350-020968147796");
    const selectors = buildSelectors(blog, blog.containerStatuses[0]);
    assert.equal(selectors.length, 18);
    assert.deepEqual(selectors, BLOG_SELECTORS);
  });

  it("gives the 15 pod selectors without a container", () => {
    const blog = podOf("2c48913c-b29f-11e7-9350-020968147796");
    assert.deepEqual(buildSelectors(blog, null), BLOG_SELECTORS.filter((s) => !s.startsWith("container-")));
  });

  it("reproduces the 20-value init-container example (install-cni of kube-flannel-ds-gp1g9)", () => {
    const flannel = podOf("d488cae9-b2a0-11e7-9350-020968147796");
    assert.deepEqual(buildSelectors(flannel, flannel.initContainerStatuses[0]), FLANNEL_INIT_SELECTORS);
  });

  it("is independent of label and status order", () => {
    const a = pod({
      labels: [["b", "2"], ["a", "1"]],
      containerStatuses: [
        { name: "x", containerId: "", image: "i1", imageId: "d1" },
        { name: "y", containerId: "", image: "i2", imageId: "d2" },
      ],
    });
    const b = pod({
      labels: [["a", "1"], ["b", "2"]],
      containerStatuses: [...a.containerStatuses].reverse(),
    });
    assert.deepEqual(buildSelectors(a, null), buildSelectors(b, null));
  });
});

describe("podSelectorValues edge values", () => {
  it("emits empty values, counts statuses (not images) and does not escape", () => {
    const p = pod({
      serviceAccountName: "",
      nodeName: "",
      labels: [["team", "a:b"], ["empty", ""]],
      ownerReferences: [{ kind: "", name: "", uid: "" }],
      containerStatuses: [
        { name: "a", containerId: "", image: "", imageId: "" },
        { name: "b", containerId: "", image: "", imageId: "" },
      ],
    });
    assert.deepEqual(buildSelectors(p, p.containerStatuses[0]), [
      "container-image:",
      "container-name:a",
      "node-name:",
      "ns:ns",
      "pod-image-count:2",
      "pod-image:",
      "pod-init-image-count:0",
      "pod-label:empty:",
      "pod-label:team:a:b",
      "pod-name:p",
      "pod-owner-uid::",
      "pod-owner::",
      "pod-uid:u",
      "sa:",
    ]);
  });

  it("keeps an image in both pod-image and pod-init-image, deduplicated within each", () => {
    const status = { name: "c", containerId: "", image: "img:1", imageId: "img:1" };
    const values = podSelectorValues(
      pod({ containerStatuses: [status, status], initContainerStatuses: [status] }),
    );
    assert.deepEqual(values.filter((v) => v.includes("img:1")), ["pod-image:img:1", "pod-init-image:img:1"]);
  });

  it("emits owners in array order, pod-owner before pod-owner-uid (before sorting)", () => {
    const values = podSelectorValues(pod({
      ownerReferences: [{ kind: "Job", name: "j", uid: "1" }, { kind: "CronJob", name: "c", uid: "2" }],
    }));
    assert.deepEqual(values.slice(-4), [
      "pod-owner:Job:j",
      "pod-owner-uid:Job:1",
      "pod-owner:CronJob:c",
      "pod-owner-uid:CronJob:2",
    ]);
  });

  it("deduplicates repeated owner references in the final list", () => {
    const owner = { kind: "ReplicaSet", name: "r", uid: "1" };
    const all = buildSelectors(pod({ ownerReferences: [owner, owner] }), null);
    assert.equal(all.filter((v) => v === "pod-owner:ReplicaSet:r").length, 1);
  });

  it("container selectors: name and the distinct image values", () => {
    assert.deepEqual(containerSelectorValues({ name: "c", containerId: "x", image: "a", imageId: "a" }), [
      "container-name:c",
      "container-image:a",
    ]);
  });
});

describe("sortSelectors", () => {
  it("sorts in UTF-8 byte order and removes duplicates", () => {
    // U+FF5E (3 UTF-8 bytes, EF BD 9E) sorts before U+1F600 (4 bytes, F0 ...), although its UTF-16 unit is larger.
    const input = ["pod-label:k:\u{1F600}", "pod-label:k:\uFF5E", "ns:b", "ns:a", "ns:b", "pod-label:k:z"];
    assert.deepEqual(sortSelectors(input), [
      "ns:a",
      "ns:b",
      "pod-label:k:z",
      "pod-label:k:\uFF5E",
      "pod-label:k:\u{1F600}",
    ]);
    const bytes = (s: string) => [...new TextEncoder().encode(s)];
    const byBytes = [...new Set(input)].sort((a, b) => {
      const x = bytes(a), y = bytes(b);
      for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
      return x.length - y.length;
    });
    assert.deepEqual(sortSelectors(input), byBytes);
  });

  it("compareCodePoints orders prefixes first", () => {
    assert.ok(compareCodePoints("a", "ab") < 0);
    assert.ok(compareCodePoints("ab", "a") > 0);
    assert.equal(compareCodePoints("ab", "ab"), 0);
  });
});
