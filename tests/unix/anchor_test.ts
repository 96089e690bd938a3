/**
 * The anchoring of cgroup paths (`src/platform/unix/anchor.ts`): every kubelet layout it accepts, and the
 * forged or foreign ones it refuses.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createPodPathMatcher, parseCgroupRoot } from "../../src/platform/unix/anchor.ts";
import { kubepodsPath } from "../../src/testing/cgroups.ts";
import { pick, rng as seeded } from "../_rng.ts";

const UID = "4f0e6c1a-2b3d-4e5f-8a9b-0c1d2e3f4a5b";
const UID_ = UID.replaceAll("-", "_");
const CID = "0123456789abcdef".repeat(4);
const HASH = "2732ca68f6358eba7703fb6f82a25c94";

const defaults = createPodPathMatcher();

function ids(path: string, matcher = defaults) {
  const m = matcher.match(path);
  return m.kind === "container" ? { podUid: m.podUid, containerId: m.containerId } : m.kind;
}

describe("anchored layouts that are accepted", () => {
  const inPod = { podUid: UID, containerId: CID };
  const cases: [string, string, { podUid: string; containerId: string }][] = [
    ["cgroupfs guaranteed", `/kubepods/pod${UID}/${CID}`, inPod],
    ["cgroupfs burstable", `/kubepods/burstable/pod${UID}/${CID}`, inPod],
    ["cgroupfs besteffort, cri-o", `/kubepods/besteffort/pod${UID}/crio-${CID}`, inPod],
    ["systemd guaranteed", `/kubepods.slice/kubepods-pod${UID_}.slice/cri-containerd-${CID}.scope`, inPod],
    [
      "systemd burstable, docker",
      `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/docker-${CID}.scope`,
      inPod,
    ],
    [
      "systemd besteffort, cri-o",
      `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/crio-${CID}.scope`,
      inPod,
    ],
    [
      "cri-o conmon in the pod slice",
      `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/crio-conmon-${CID}.scope`,
      inPod,
    ],
    ["kind cgroupfs /kubelet", `/kubelet/kubepods/burstable/pod${UID}/${CID}`, inPod],
    [
      "kind systemd /kubelet",
      `/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod${UID_}.slice/cri-containerd-${CID}.scope`,
      inPod,
    ],
    ["Docker Desktop /kubepods", `/kubepods/kubepods/besteffort/pod${UID}/${CID}`, inPod],
    [
      "systemd name used as a cgroupfs path",
      `/kubepods-besteffort-pod${UID_}.slice:cri-containerd:${CID}`,
      inPod,
    ],
    ["static pod, cgroupfs: no pod UID", `/kubepods/burstable/pod${HASH}/${CID}`, {
      podUid: "",
      containerId: CID,
    }],
    [
      "static pod, systemd: no pod UID",
      `/kubepods.slice/kubepods-pod${HASH}.slice/crio-${CID}.scope`,
      { podUid: "", containerId: CID },
    ],
    ["upper-case hex is kept", `/kubepods/pod${UID.toUpperCase()}/${CID.toUpperCase()}`, {
      podUid: UID.toUpperCase(),
      containerId: CID.toUpperCase(),
    }],
    ["a sub-cgroup of the container", `/kubepods/pod${UID}/${CID}/init.scope/x`, inPod],
    ["cgroup namespace: pod level", `/../../pod${UID}/${CID}`, inPod],
    ["cgroup namespace: QoS level", `/../../../burstable/pod${UID}/${CID}`, inPod],
    ["cgroup namespace: whole layout", `/../../../../kubepods/burstable/pod${UID}/${CID}`, inPod],
    [
      "cgroup namespace: systemd QoS slice",
      `/../../kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/cri-containerd-${CID}.scope`,
      inPod,
    ],
    ["cgroup namespace: a sibling container", `/../crio-${CID}.scope`, { podUid: "", containerId: CID }],
  ];
  for (const [name, path, expected] of cases) {
    it(name, () => assert.deepEqual(ids(path), expected, path));
  }

  it("kind on v1: the agent's own node container in front, and no other", () => {
    const own = "e".repeat(64), other = "f".repeat(64);
    const m = createPodPathMatcher(undefined, [own]);
    assert.deepEqual(ids(`/docker/${own}/kubepods/besteffort/pod${UID}/${CID}`, m), inPod);
    assert.equal(ids(`/docker/${other}/kubepods/besteffort/pod${UID}/${CID}`, m), "outside");
    assert.equal(ids(`/docker/${own}/kubepods/besteffort/pod${UID}/${CID}`), "outside", "not by default");
    assert.equal(ids(`/../docker/${own}/kubepods/besteffort/pod${UID}/${CID}`, m), "outside", "not relative");
  });

  it("names the layout that matched", () => {
    const m = defaults.match(`/kubelet/kubepods/burstable/pod${UID}/${CID}`);
    assert.equal(m.kind === "container" && m.layout, "cgroupfs /kubelet burstable");
  });

  it("agrees with the test helper that builds kubelet paths, for every driver, QoS class and root", () => {
    for (const root of ["/", "/kubelet", "/a/b_c.d"]) {
      const matcher = createPodPathMatcher([root]);
      for (const driver of ["cgroupfs", "systemd"] as const) {
        for (const qos of ["guaranteed", "burstable", "besteffort"] as const) {
          const path = kubepodsPath(driver, qos, UID, CID, root);
          assert.deepEqual(ids(path, matcher), { podUid: UID, containerId: CID }, path);
        }
      }
    }
  });
});

describe("paths without a container", () => {
  for (
    const path of [
      "/",
      "/kubepods",
      "/kubepods/burstable",
      `/kubepods/burstable/pod${UID}`,
      "/kubepods.slice/kubepods-burstable.slice",
      `/kubepods.slice/kubepods-pod${UID_}.slice`,
      "/../..",
      "/../kubepods",
    ]
  ) {
    it(`${path}: none`, () => assert.equal(ids(path), "none"));
  }
});

describe("paths that are refused (outside the kubelet's pod cgroups)", () => {
  const pod = `kubepods-besteffort-pod${UID_}.slice`;
  const systemd = `/kubepods.slice/kubepods-besteffort.slice/${pod}/cri-containerd-${CID}.scope`;
  const cases: [string, string][] = [
    [
      "a delegated user subtree (systemd layout)",
      `/user.slice/user-1000.slice/user@1000.service/app.slice${systemd}`,
    ],
    [
      "a delegated user subtree (cgroupfs)",
      `/user.slice/user-1000.slice/user@1000.service/evil/pod${UID}/${CID}`,
    ],
    ["a Delegate=yes service", `/system.slice/build.service/kubepods/pod${UID}/${CID}`],
    ["a cri-o scope outside kubepods", `/system.slice/crio-${CID}.scope`],
    ["a plain docker container", `/docker/${CID}`],
    [
      "a rootless runtime's container",
      `/user.slice/user-1000.slice/user@1000.service/user.slice/docker-${CID}.scope`,
    ],
    ["the pod segment in the wrong place", `/kubepods/pod${UID}/burstable/${CID}`],
    ["a QoS class the kubelet does not create", `/kubepods/guaranteed/pod${UID}/${CID}`],
    [
      "a systemd pod slice under the wrong parent",
      `/kubepods.slice/kubepods-burstable.slice/${pod}/crio-${CID}.scope`,
    ],
    ["cgroupfs pod name with underscores", `/kubepods/pod${UID_}/${CID}`],
    ["systemd pod name with dashes", `/kubepods.slice/kubepods-pod${UID}.slice/crio-${CID}.scope`],
    ["a 65-hex container segment", `/kubepods/pod${UID}/${CID}a`],
    ["an unknown container suffix", `/kubepods/pod${UID}/${CID}.service`],
    ["an empty segment", `/kubepods/pod${UID}//${CID}`],
    ["a trailing slash", `/kubepods/pod${UID}/${CID}/`],
    ["a dot-dot after the start", `/kubepods/../kubepods/pod${UID}/${CID}`],
    [
      "a relative path into a user subtree",
      `/../../../user.slice/user-1000.slice/user@1000.service/pod${UID}/${CID}`,
    ],
    ["a relative path without a layout", `/../evil/pod${UID}/${CID}`],
    ["a node container that is not docker's", `/lxc/${"e".repeat(64)}/kubepods/pod${UID}/${CID}`],
    [
      "a docker container that is not the agent's node",
      `/docker/${"e".repeat(64)}/kubepods/pod${UID}/${CID}`,
    ],
    ["two node containers", `/docker/${"e".repeat(64)}/docker/${"f".repeat(64)}/kubepods/pod${UID}/${CID}`],
    ["a root that is not configured", `/custom/kubepods/pod${UID}/${CID}`],
    ["not absolute", `kubepods/pod${UID}/${CID}`],
  ];
  for (const [name, path] of cases) {
    it(name, () => assert.equal(ids(path), "outside", path));
  }

  it("a configured root replaces the defaults", () => {
    const m = createPodPathMatcher(["/custom"]);
    assert.deepEqual(ids(`/custom/kubepods/pod${UID}/${CID}`, m), { podUid: UID, containerId: CID });
    assert.deepEqual(
      ids(`/custom.slice/custom-kubepods.slice/custom-kubepods-pod${UID_}.slice/x-${CID}.scope`, m),
      {
        podUid: UID,
        containerId: CID,
      },
    );
    assert.equal(ids(`/kubepods/pod${UID}/${CID}`, m), "outside");
    assert.equal(ids(`/kubelet/kubepods/pod${UID}/${CID}`, m), "outside");
    assert.deepEqual(m.roots, ["/custom"]);
  });

  it("no prefix of a delegated subtree in front of a valid layout is accepted (random prefixes)", () => {
    const rng = seeded(0x5eed);
    const words = [
      "user.slice",
      "user-1000.slice",
      "user@1000.service",
      "app.slice",
      "system.slice",
      "evil",
      "x",
    ];
    const layouts = [
      systemd,
      `/kubepods/burstable/pod${UID}/${CID}`,
      `/kubelet/kubepods/pod${UID}/${CID}`,
      `/kubepods-besteffort-pod${UID_}.slice:cri-containerd:${CID}`,
    ];
    for (let i = 0; i < 2000; i++) {
      const depth = 1 + Math.floor(rng() * 5);
      const prefix = Array.from({ length: depth }, () => pick(rng, words)).join("/");
      const path = `/${prefix}${layouts[i % layouts.length]}`;
      assert.equal(ids(path), "outside", path);
    }
  });
});

describe("parseCgroupRoot", () => {
  it("accepts / and cgroupfs-form paths", () => {
    assert.deepEqual(parseCgroupRoot("/"), []);
    assert.deepEqual(parseCgroupRoot("/kubelet"), ["kubelet"]);
    assert.deepEqual(parseCgroupRoot("/a/b_c.d"), ["a", "b_c.d"]);
  });
  for (
    const [value, reason] of [
      ["", /absolute/],
      ["kubelet", /absolute/],
      ["/kubelet/", /empty segments/],
      ["//kubelet", /empty segments/],
      ["/a/../b", /"\." or "\.\."/],
      ["/kubelet-x", /letters, digits/],
      ["/kubelet.slice/x y", /letters, digits/],
      ["/" + "a".repeat(1100), /at most 1024/],
    ] as const
  ) {
    it(`rejects ${JSON.stringify(value.slice(0, 20))}`, () =>
      assert.throws(() => parseCgroupRoot(value), reason));
  }
});
