/**
 * AttestReference end to end (issue 15): a real gRPC client calls the real plugin, which reads the fake
 * kubelet's pod list and the fake API server (TLS, token auth). Every reference kind, pod reference scope
 * and access policy, allowed and denied, and the API server faults.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { sortSelectors } from "../../src/core/selectors.ts";
import { expectedWebAppSelectors, expectedWebPodSelectors } from "../testdata/demo_pod_selectors.ts";
import {
  as,
  BROKER,
  type BrokerFixture,
  BROKERS,
  CLUSTER_BROKER,
  DEPLOY_UID,
  isStatus,
  objRef,
  pidRef,
  POD_UID,
  REMOTE_UID,
  startBrokerFixture,
  WEB_POD,
  WIDGET_UID,
} from "./_fixture.ts";

const NS_LABELS = ["ns-label:team:web", "ns-label:tier:gold"];
const WEB_POD_SELECTORS = expectedWebPodSelectors(POD_UID, "node-1");
const REMOTE_SELECTORS = sortSelectors([
  "sa:api-sa",
  "ns:remote",
  "node-name:node-2",
  `pod-uid:${REMOTE_UID}`,
  "pod-name:api-0",
  "pod-image-count:1",
  "pod-init-image-count:0",
  "pod-image:registry.example.com/api:2",
  "pod-image:registry.example.com/api@sha256:" + "a".repeat(64),
  "pod-label:app:api",
  "pod-owner:StatefulSet:api",
  "pod-owner-uid:StatefulSet:ss-1",
]);
const DENIED =
  "Kubernetes authorizer does not allow the broker to use impersonate-via-spire for the referenced object";

describe("AttestReference: enforced policy, allowed by the authorizer", () => {
  let f: BrokerFixture;
  before(async () => {
    f = await startBrokerFixture();
    f.apiEnv.api.setReview((spec) => spec.user === BROKER || spec.user === CLUSTER_BROKER);
    await f.configure(`enable_namespace_labels = true\n${BROKERS()}`);
  });
  after(() => f[Symbol.asyncDispose]());

  it("WorkloadPIDReference: PID attestation's selectors plus ns-label, after a review of the pod", async () => {
    const before = f.apiEnv.api.reviews.length;
    const values = await f.client.attestReference(pidRef(4242), as(BROKER));
    assert.deepEqual(values, sortSelectors([...expectedWebAppSelectors(POD_UID, "node-1"), ...NS_LABELS]));
    assert.deepEqual(f.apiEnv.api.reviews.slice(before), [{
      user: BROKER,
      resourceAttributes: {
        group: "",
        resource: "pods",
        namespace: "demo",
        name: WEB_POD,
        verb: "impersonate-via-spire",
      },
    }]);
  });

  it("pods/core by namespace/name from the kubelet (agent_node): pod selectors, no container ones", async () => {
    const values = await f.client.attestReference(
      objRef({ plural: "pods", group: "core", namespace: "demo", name: WEB_POD }),
      as(BROKER),
    );
    assert.deepEqual(values, sortSelectors([...WEB_POD_SELECTORS, ...NS_LABELS]));
    assert.ok(!f.apiEnv.api.requests.some((r) => r.path.includes("/pods/")), "not read from the API server");
  });

  it("pods/core by UID, and by name and UID together", async () => {
    const byUid = await f.client.attestReference(
      objRef({ plural: "pods", group: "core", uid: POD_UID }),
      as(BROKER),
    );
    assert.deepEqual(byUid, sortSelectors([...WEB_POD_SELECTORS, ...NS_LABELS]));
    const both = await f.client.attestReference(
      objRef({ plural: "pods", group: "core", namespace: "demo", name: WEB_POD, uid: POD_UID }),
      as(BROKER),
    );
    assert.deepEqual(both, byUid);
  });

  it("a name and a UID that disagree are NOT_FOUND", async () => {
    await assert.rejects(
      f.client.attestReference(
        objRef({ plural: "pods", group: "core", namespace: "demo", name: WEB_POD, uid: REMOTE_UID }),
        as(BROKER),
      ),
      isStatus(5, `pod demo/${WEB_POD} has UID ${POD_UID}, expected ${REMOTE_UID}`),
    );
  });

  it("agent_node scope: a pod on another node is NOT_FOUND, never looked up in the API server", async () => {
    const before = f.apiEnv.api.requests.length;
    await assert.rejects(
      f.client.attestReference(
        objRef({ plural: "pods", group: "core", namespace: "remote", name: "api-0" }),
        as(BROKER),
      ),
      isStatus(5, "pod remote/api-0 not found on agent node"),
    );
    await assert.rejects(
      f.client.attestReference(objRef({ plural: "pods", group: "core", uid: REMOTE_UID }), as(BROKER)),
      isStatus(5, `pod with UID ${REMOTE_UID} not found on agent node`),
    );
    assert.equal(f.apiEnv.api.requests.length, before);
  });

  it("cluster scope: a pod on another node by name and by UID through the API server", async () => {
    const byName = await f.client.attestReference(
      objRef({ plural: "pods", group: "core", namespace: "remote", name: "api-0" }),
      as(CLUSTER_BROKER),
    );
    assert.deepEqual(byName, sortSelectors([...REMOTE_SELECTORS, "ns-label:team:api"]));
    const byUid = await f.client.attestReference(
      objRef({ plural: "pods", group: "core", uid: REMOTE_UID }),
      as(CLUSTER_BROKER),
    );
    assert.deepEqual(byUid, byName);
    const review = f.apiEnv.api.reviews.at(-1)!;
    assert.deepEqual(review.resourceAttributes, {
      group: "",
      resource: "pods",
      namespace: "remote",
      name: "api-0",
      verb: "impersonate-via-spire",
    });
    assert.equal(review.groups, undefined, "no groups in the review");
  });

  it("cluster scope: a pod the API server does not know is NOT_FOUND", async () => {
    await assert.rejects(
      f.client.attestReference(
        objRef({ plural: "pods", group: "core", namespace: "remote", name: "gone" }),
        as(CLUSTER_BROKER),
      ),
      isStatus(5, "pod remote/gone not found"),
    );
    const before = f.apiEnv.api.requests.length;
    await assert.rejects(
      f.client.attestReference(
        objRef({ plural: "pods", group: "core", namespace: "remote", name: "%2e%2e" }),
        as(CLUSTER_BROKER),
      ),
      isStatus(3, `invalid resource name "%2e%2e": may not contain '%'`),
    );
    assert.equal(f.apiEnv.api.requests.length, before, "nothing was asked");
    const uid = crypto.randomUUID();
    await assert.rejects(
      f.client.attestReference(objRef({ plural: "pods", group: "core", uid }), as(CLUSTER_BROKER)),
      isStatus(5, `Pod with UID ${uid} not found`),
    );
  });

  it("deployments.apps by name: upstream's object selectors (labels, owners, controller; no annotations)", async () => {
    const values = await f.client.attestReference(
      objRef({ plural: "deployments", group: "apps", namespace: "demo", name: "web" }),
      as(BROKER),
    );
    assert.deepEqual(
      values,
      sortSelectors([
        `uid:${DEPLOY_UID}`,
        "resource:deployments.apps",
        "plural:deployments",
        "group:apps",
        "version:v1",
        "apiVersion:apps/v1",
        "kind:Deployment",
        "name:web",
        "namespace:demo",
        "key:demo/web",
        "label:app:web",
        "owner-key:example.com/App/web-app",
        "owner-uid:example.com/App/app-1",
        "controller-key:example.com/App/web-app",
        "controller-uid:example.com/App/app-1",
        "owner-key:core/ConfigMap/cm",
        "owner-uid:core/ConfigMap/cm-1",
        ...NS_LABELS,
      ]),
    );
    const get = f.apiEnv.api.requests.findLast((r) =>
      r.path === "/apis/apps/v1/namespaces/demo/deployments/web"
    )!;
    assert.match(get.accept ?? "", /as=PartialObjectMetadata;g=meta\.k8s\.io;v=v1/);
    assert.deepEqual(f.apiEnv.api.reviews.at(-1)!.resourceAttributes, {
      group: "apps",
      resource: "deployments",
      namespace: "demo",
      name: "web",
      verb: "impersonate-via-spire",
    });
  });

  it("deployments.apps by UID (a cluster-wide metadata list), and a UID that disagrees", async () => {
    const values = await f.client.attestReference(
      objRef({ plural: "deployments", group: "apps", uid: DEPLOY_UID }),
      as(BROKER),
    );
    assert.ok(values.includes("key:demo/web"), values.join(" "));
    await assert.rejects(
      f.client.attestReference(
        objRef({ plural: "deployments", group: "apps", namespace: "demo", name: "web", uid: WIDGET_UID }),
        as(BROKER),
      ),
      isStatus(5, `deployments.apps demo/web has UID ${DEPLOY_UID}, expected ${WIDGET_UID}`),
    );
  });

  it("a cluster-scoped resource: no namespace selector, and a namespace is refused", async () => {
    const values = await f.client.attestReference(
      objRef({ plural: "widgets", group: "example.com", name: "w1" }),
      as(BROKER),
    );
    assert.ok(
      values.includes("key:w1") && values.includes("apiVersion:example.com/v1alpha1"),
      values.join(" "),
    );
    assert.ok(!values.some((v) => v.startsWith("namespace:") || v.startsWith("ns-label:")), values.join(" "));
    await assert.rejects(
      f.client.attestReference(
        objRef({ plural: "widgets", group: "example.com", namespace: "demo", name: "w1" }),
        as(BROKER),
      ),
      isStatus(3, "namespace must be empty for cluster-scoped resource"),
    );
  });

  it("an object answered by name must be the object asked for (an extension API server cannot rename it)", async () => {
    // Selectors and the review are about the answered object; one in another namespace (or a cluster-scoped
    // object claiming a namespace, which RBAC would check against that namespace's Roles) is refused.
    const cases: [string, Record<string, unknown>, Parameters<typeof objRef>[0]][] = [
      [
        "/apis/apps/v1/namespaces/demo/deployments/web",
        { metadata: { name: "web", namespace: "kube-system", uid: DEPLOY_UID } },
        { plural: "deployments", group: "apps", namespace: "demo", name: "web" },
      ],
      [
        "/apis/apps/v1/namespaces/demo/deployments/web",
        { metadata: { name: "other", namespace: "demo", uid: DEPLOY_UID } },
        { plural: "deployments", group: "apps", namespace: "demo", name: "web" },
      ],
      [
        "/apis/example.com/v1alpha1/widgets/w1",
        { metadata: { name: "w1", namespace: "demo", uid: WIDGET_UID } },
        { plural: "widgets", group: "example.com", name: "w1" },
      ],
    ];
    for (const [path, body, ref] of cases) {
      f.apiEnv.api.setFault({ pathPrefix: path, body });
      const reviews = f.apiEnv.api.reviews.length;
      try {
        await assert.rejects(
          f.client.attestReference(objRef(ref), as(BROKER)),
          isStatus(13, /: another object answered$/),
          JSON.stringify(body),
        );
        assert.equal(f.apiEnv.api.reviews.length, reviews, "no review of the wrong object");
      } finally {
        f.apiEnv.api.setFault(null);
      }
    }
  });

  it("malformed references are INVALID_ARGUMENT with upstream's texts", async () => {
    const cases: [Parameters<typeof f.client.attestReference>[0], string][] = [
      [undefined, "workload reference must be provided"],
      [
        { typeUrl: "type.googleapis.com/x.Y", value: Buffer.from([]) },
        'unsupported reference type: "type.googleapis.com/x.Y"',
      ],
      [objRef({ plural: "", group: "core", name: "x" }), "object reference type is missing plural"],
      [objRef({ plural: "pods", group: "", name: "x" }), "object reference type is missing group"],
      [objRef({ plural: "pods", group: "core" }), "object reference is missing key and UID"],
      [objRef({ plural: "pods", group: "core", namespace: "demo" }), "object reference key is missing name"],
      [
        objRef({ plural: "pods", group: "core", name: WEB_POD }),
        "namespace is required when name is set for a namespaced resource",
      ],
      [
        objRef({ plural: "deployments", group: "apps", name: "web" }),
        "namespace is required when name is set for a namespaced resource",
      ],
      [
        objRef({ plural: "gizmos", group: "example.com", name: "g" }),
        "unknown Kubernetes resource gizmos.example.com: no matches for example.com/, Resource=gizmos",
      ],
      // Pods spelled otherwise never reach the generic object path (which ignores pod_reference_scope).
      [
        objRef({ plural: "pod", group: "core", namespace: "remote", name: "api-0" }),
        "unknown Kubernetes resource pod.core: no matches for /, Resource=pod",
      ],
      [
        objRef({ plural: "Pods", group: "core", namespace: "remote", name: "api-0" }),
        "unknown Kubernetes resource Pods.core: no matches for /, Resource=Pods",
      ],
      [
        objRef({ plural: "things", group: "nope.example", name: "g" }),
        "unknown Kubernetes resource things.nope.example: no matches for nope.example/, Resource=things",
      ],
      [
        { typeUrl: "type.googleapis.com/spiffe.broker.WorkloadPIDReference", value: Buffer.from([8]) },
        /^unable to unmarshal PID reference: /,
      ],
    ] as never;
    for (const [reference, details] of cases) {
      await assert.rejects(
        f.client.attestReference(reference, as(BROKER)),
        isStatus(3, details),
        String(details),
      );
    }
  });

  it("the broker identity: unknown broker PERMISSION_DENIED, several or malformed IDs INTERNAL", async () => {
    await assert.rejects(
      f.client.attestReference(pidRef(1), as("spiffe://example.org/other")),
      isStatus(7, 'broker "spiffe://example.org/other" is not configured'),
    );
    await assert.rejects(
      f.client.attestReference(pidRef(1), as(BROKER, CLUSTER_BROKER)),
      isStatus(13, "unable to determine broker caller identity: multiple broker caller SPIFFE IDs provided"),
    );
    await assert.rejects(
      f.client.attestReference(pidRef(1), as("spiffe://example.org/a/../b")),
      isStatus(
        13,
        "unable to determine broker caller identity: invalid broker caller SPIFFE ID: path cannot contain dot segments",
      ),
    );
  });

  it("no broker caller: the reference is answered without a review (upstream), agent_node scope", async () => {
    const before = f.apiEnv.api.reviews.length;
    const values = await f.client.attestReference(objRef({ plural: "pods", group: "core", uid: POD_UID }));
    assert.deepEqual(values, sortSelectors([...WEB_POD_SELECTORS, ...NS_LABELS]));
    assert.equal(f.apiEnv.api.reviews.length, before);
    await assert.rejects(
      f.client.attestReference(objRef({ plural: "pods", group: "core", uid: REMOTE_UID })),
      isStatus(5, `pod with UID ${REMOTE_UID} not found on agent node`),
    );
  });

  it("Attest (PID) never reviews, even with a broker configured", async () => {
    const before = f.apiEnv.api.reviews.length;
    assert.deepEqual(
      await f.client.attest(4242),
      sortSelectors([...expectedWebAppSelectors(POD_UID, "node-1"), ...NS_LABELS]),
    );
    assert.equal(f.apiEnv.api.reviews.length, before);
  });
});

describe("AttestReference: enforced policy, denied by the authorizer", () => {
  let f: BrokerFixture;
  before(async () => {
    f = await startBrokerFixture();
    f.apiEnv.api.setReview(() => false);
    await f.configure(BROKERS());
  });
  after(() => f[Symbol.asyncDispose]());

  for (
    const [name, ref] of [
      ["WorkloadPIDReference", pidRef(4242)],
      ["a pod by name", objRef({ plural: "pods", group: "core", namespace: "demo", name: WEB_POD })],
      [
        "a pod on another node",
        objRef({ plural: "pods", group: "core", namespace: "remote", name: "api-0" }),
      ],
      ["a Deployment", objRef({ plural: "deployments", group: "apps", namespace: "demo", name: "web" })],
    ] as const
  ) {
    it(`${name}: PERMISSION_DENIED and no selector`, async () => {
      await assert.rejects(f.client.attestReference(ref, as(CLUSTER_BROKER)), isStatus(7, DENIED));
      assert.equal(f.apiEnv.api.reviews.at(-1)!.user, CLUSTER_BROKER);
    });
  }

  it("an answer that is not a plain allow is a denial: allowed with denied too, or allowed not a boolean", async () => {
    // A SubjectAccessReview status with both allowed and denied set is contradictory (the API says denied
    // implies not allowed): fail closed. Upstream reads status.allowed alone.
    for (
      const status of [
        { allowed: true, denied: true },
        { allowed: "true" },
        { denied: false },
        {},
      ]
    ) {
      f.apiEnv.api.setReview(() => status);
      await assert.rejects(
        f.client.attestReference(pidRef(4242), as(CLUSTER_BROKER)),
        isStatus(7, DENIED),
        JSON.stringify(status),
      );
    }
    f.apiEnv.api.setReview(() => ({ allowed: true, denied: false, reason: "RBAC" }));
    assert.ok((await f.client.attestReference(pidRef(4242), as(CLUSTER_BROKER))).length > 0);
    f.apiEnv.api.setReview(() => false);
  });

  it("the review's 403 (no RBAC for subjectaccessreviews) is INTERNAL, not an answer", async () => {
    f.apiEnv.api.setFault({
      pathPrefix: "/apis/authorization.k8s.io",
      status: 403,
      message: "forbidden: create",
    });
    try {
      await assert.rejects(
        f.client.attestReference(pidRef(4242), as(BROKER)),
        isStatus(
          13,
          /^unable to check Kubernetes authorization for broker: POST .*: the API server answered 403: forbidden: create$/,
        ),
      );
    } finally {
      f.apiEnv.api.setFault(null);
    }
  });
});

describe("AttestReference: permissive policy and configuration states", () => {
  let f: BrokerFixture;
  before(async () => {
    f = await startBrokerFixture();
    f.apiEnv.api.setReview(() => false);
  });
  after(() => f[Symbol.asyncDispose]());

  it("permissive: no review is made, the selectors are returned", async () => {
    await f.configure(BROKERS("permissive"));
    const values = await f.client.attestReference(
      objRef({ plural: "deployments", group: "apps", namespace: "demo", name: "web" }),
      as(BROKER),
    );
    assert.ok(values.includes(`uid:${DEPLOY_UID}`));
    assert.ok(!values.some((v) => v.startsWith("ns-label:")), "no ns-label without enable_namespace_labels");
    assert.equal(f.apiEnv.api.reviews.length, 0);
  });

  it("a broker caller without an experimental.broker block is INTERNAL (upstream)", async () => {
    await f.configure("");
    await assert.rejects(
      f.client.attestReference(pidRef(4242), as(BROKER)),
      isStatus(13, "broker configuration missing"),
    );
    assert.deepEqual(
      await f.client.attestReference(pidRef(4242)),
      expectedWebAppSelectors(POD_UID, "node-1"),
    );
  });
});

describe("disable_kubelet_client", () => {
  let f: BrokerFixture;
  before(async () => {
    f = await startBrokerFixture();
    f.apiEnv.api.setReview(() => true);
    await f.client.configure(`disable_kubelet_client = true
experimental { broker { access_policy = "enforced"
  brokers = [{ id = "${CLUSTER_BROKER}", pod_reference_scope = "cluster" }] } }`);
  });
  after(() => f[Symbol.asyncDispose]());

  it("PID attestation (Attest and WorkloadPIDReference) is FAILED_PRECONDITION", async () => {
    await assert.rejects(f.client.attest(4242), isStatus(9, "kubelet client is disabled"));
    await assert.rejects(
      f.client.attestReference(pidRef(4242), as(CLUSTER_BROKER)),
      isStatus(9, "kubelet client is disabled"),
    );
    await assert.rejects(f.client.attestReference(pidRef(4242)), isStatus(9, "kubelet client is disabled"));
  });

  it("cluster-scoped pod references come from the API server; the kubelet is never asked", async () => {
    const values = await f.client.attestReference(
      objRef({ plural: "pods", group: "core", namespace: "remote", name: "api-0" }),
      as(CLUSTER_BROKER),
    );
    assert.deepEqual(values, REMOTE_SELECTORS);
    const local = await f.client.attestReference(
      objRef({ plural: "pods", group: "core", uid: REMOTE_UID }),
      as(CLUSTER_BROKER),
    );
    assert.deepEqual(local, REMOTE_SELECTORS);
    assert.equal(f.kubelet.requestCount, 0);
  });

  it("a reference without a broker uses agent_node scope, which needs the kubelet", async () => {
    await assert.rejects(
      f.client.attestReference(objRef({ plural: "pods", group: "core", uid: REMOTE_UID })),
      isStatus(9, "kubelet client is disabled"),
    );
  });

  it("the kubelet keys are refused with it (Configure names each)", async () => {
    await assert.rejects(
      f.client.configure(`disable_kubelet_client = true\nkubelet_read_only_port = ${f.kubelet.port}`),
      isStatus(3, "invalid configuration: disable_kubelet_client cannot be used with kubelet_read_only_port"),
    );
  });
});
