import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { AttestorError } from "../../src/errors.ts";
import { createPathExtractor, extractFromPath, IdMerger } from "../../src/platform/unix/extract.ts";
import { parseCgroupFile } from "../../src/platform/unix/cgroup.ts";
import { isCandidateCgroupMount, parseMountinfo } from "../../src/platform/unix/mountinfo.ts";
import { MAX_LINE_BYTES, splitLines } from "../../src/platform/unix/lines.ts";

const CID = "3e5c7b0e91d2a4f68c0b1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f60718293a4b5c6";
const CID2 = "9a8b7c6d5e4f30211203f4e5d6c7b8a99a8b7c6d5e4f30211203f4e5d6c7b8a9";
const UID = "5d0c6f1e-8a3b-4c2d-9e7f-0a1b2c3d4e5f";
const UID_US = UID.replaceAll("-", "_");

describe("extractFromPath (segment walk)", () => {
  const rows: [string, string, string][] = [
    [`/kubepods/burstable/pod${UID}/${CID}`, UID, CID],
    [
      `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_US}.slice/cri-containerd-${CID}.scope`,
      UID,
      CID,
    ],
    [`/kubepods-besteffort-pod${UID_US}.slice:cri-containerd:${CID}`, UID, CID],
    [`/../crio-${CID}.scope`, "", CID],
    [`/${CID}`, "", CID],
    [`${CID}`, "", CID],
    [`/kubepods/pod${UID}`, "", ""],
    [`/kubepods/pod${UID}/x${CID}`, "", ""], // touches a word character
    [`/kubepods/pod${UID}/${CID}_`, "", ""], // `_` is a word character
    [`/kubepods/pod${UID}/${CID}0`, "", ""], // 65 hex
    [`/kubepods/xpod${UID}/${CID}`, "", CID], // `pod` must start at a word boundary
    [`/kubepods/pod${UID}x/${CID}`, "", CID],
    [`/pod${UID}/${CID}/extra/segments`, UID, CID], // the ID need not be last
    [`/pod${UID}/${CID}/`, "", ""], // a trailing slash ends the walk
    [`/pod${UID}/${CID}.scope/${CID2}`, UID, CID2], // the last ID wins; the pod walk passes the earlier ID
    [`/pod${UID}/a/b/c/${CID}`, UID, CID], // pod several segments up
    [`/pod${UID.replace("-", "_")}/${CID}`, UID, CID], // mixed separators are normalised
    [`/${"É".repeat(3)}pod${UID}/${CID}`, UID, CID], // non-ASCII is a non-word character
    ["", "", ""],
    ["/", "", ""],
  ];
  for (const [path, pod, cid] of rows) {
    it(`${path.slice(0, 90) || "(empty)"}`, () => {
      assert.deepEqual(extractFromPath(path), { podUid: pod, containerId: cid });
    });
  }
});

describe("IdMerger", () => {
  it("keeps a pod entry and ignores later entries without a pod UID", () => {
    const m = new IdMerger();
    assert.equal(m.add({ podUid: UID, containerId: CID }), "replaced");
    assert.equal(m.add({ podUid: "", containerId: CID2 }), "ignored");
    assert.equal(m.add({ podUid: "", containerId: "" }), "ignored");
    assert.equal(m.add({ podUid: UID, containerId: CID }), "unchanged");
    assert.deepEqual([m.podUid, m.containerId], [UID, CID]);
  });
  it("lets a pod entry replace an earlier entry without one", () => {
    const m = new IdMerger();
    assert.equal(m.add({ podUid: "", containerId: CID2 }), "set");
    assert.equal(m.add({ podUid: UID, containerId: CID }), "replaced");
    assert.deepEqual([m.podUid, m.containerId], [UID, CID]);
  });
  it("reports the order quirk with upstream's text", () => {
    const m = new IdMerger();
    m.add({ podUid: "", containerId: CID });
    assert.throws(() => m.add({ podUid: "", containerId: "" }), (e: unknown) => {
      assert.ok(e instanceof AttestorError);
      assert.equal(e.reason, "id-conflict");
      assert.equal(e.message, `multiple container IDs found ("${CID}", "")`);
      return true;
    });
  });
  it("accepts the reverse order", () => {
    const m = new IdMerger();
    assert.equal(m.add({ podUid: "", containerId: "" }), "unchanged");
    assert.equal(m.add({ podUid: "", containerId: CID }), "set");
    assert.equal(m.containerId, CID);
  });
  it("rejects a second pod UID and a second container ID", () => {
    const a = new IdMerger();
    a.add({ podUid: UID, containerId: CID });
    assert.throws(() => a.add({ podUid: "11111111-2222-3333-4444-555555555555", containerId: CID }), {
      message: `multiple pod UIDs found ("${UID}", "11111111-2222-3333-4444-555555555555")`,
    });
    const b = new IdMerger();
    b.add({ podUid: UID, containerId: CID });
    assert.throws(() => b.add({ podUid: UID, containerId: CID2 }), {
      message: `multiple container IDs found ("${CID}", "${CID2}")`,
    });
  });
});

describe("parseCgroupFile", () => {
  it("keeps colons in the path and ignores a final newline", () => {
    const e = parseCgroupFile(`1:name=systemd:/a:b:c\n0::/\n`, "f");
    assert.deepEqual(e, [
      { line: 1, hierarchyId: "1", controllers: "name=systemd", path: "/a:b:c" },
      { line: 2, hierarchyId: "0", controllers: "", path: "/" },
    ]);
  });
  it("rejects a trailing empty line after the final newline", () => {
    assert.throws(() => parseCgroupFile("0::/\n\n", "/p/cgroup"), {
      message: 'unable to obtain cgroups: "/p/cgroup" line 2: invalid cgroup entry, ' +
        'contains 1 colon separated fields but expected at least 3: ""',
    });
  });
  it("quotes control characters in the offending line", () => {
    assert.throws(() => parseCgroupFile("0::/\nab\u0001\u00e9", "f"), {
      message: /line 2: .*"ab\\u0001\\u00e9"$/,
    });
  });
});

describe("splitLines bound", () => {
  const fail = (n: number, why: string) => new AttestorError("malformed-input", `line ${n}: ${why}`);
  it("accepts a line of exactly the limit and rejects one byte more", () => {
    assert.equal(splitLines("a".repeat(MAX_LINE_BYTES) + "\n", fail).length, 1);
    assert.throws(() => splitLines("0::/\n" + "a".repeat(MAX_LINE_BYTES + 1), fail), {
      message: /^line 2: line is longer than 65535 bytes \(bufio.Scanner: token too long\)$/,
    });
  });
  it("counts UTF-8 bytes, not UTF-16 units", () => {
    const line = "é".repeat(Math.floor(MAX_LINE_BYTES / 2) + 1); // 2 bytes each
    assert.throws(() => splitLines(line, fail), { message: /token too long/ });
    assert.equal(splitLines("é".repeat(Math.floor(MAX_LINE_BYTES / 2)), fail).length, 1);
  });
});

describe("parseMountinfo", () => {
  it("keeps root and fstype, tolerates an empty source and optional fields", () => {
    const text = [
      "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 shared:7 - ext3 /dev/root rw,errors=continue",
      "119 206 0:68 / /local rw,relatime - tmpfs  rw,size=8192k",
      "40 31 0:38 /a\\040b /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw",
    ].join("\n");
    const m = parseMountinfo(text, "f");
    assert.deepEqual(m.map((x) => [x.line, x.root, x.fsType]), [
      [1, "/mnt1", "ext3"],
      [2, "/", "tmpfs"],
      [3, "/a\\040b", "cgroup2"],
    ]);
    assert.deepEqual(m.map(isCandidateCgroupMount), [false, false, true]);
  });
  it("skips cgroup mounts rooted at /", () => {
    const [m] = parseMountinfo("1 2 0:1 / /sys/fs/cgroup rw - cgroup cgroup rw,pids", "f");
    assert.equal(isCandidateCgroupMount(m), false);
  });
  it("uses the first field that is exactly - as the separator", () => {
    const [m] = parseMountinfo("1 2 0:1 /x-y /m rw a-b - cgroup2 - rw", "f");
    assert.deepEqual([m.root, m.fsType], ["/x-y", "cgroup2"]);
  });
});

describe("createPathExtractor", () => {
  it("returns what extractFromPath returns, for repeated and changing paths", () => {
    const extract = createPathExtractor();
    const paths = [
      `/pod${UID}/${CID}`,
      `/pod${UID}/${CID}`,
      "/",
      `/x/${CID2}`,
      `/x/${CID2}`,
      `/pod${UID}/${CID}`,
    ];
    for (const p of paths) assert.deepEqual(extract(p), extractFromPath(p));
    assert.ok(Object.isFrozen(extract("/a")), "results are shared, so they must be immutable");
  });
});
