import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  canonicalizeLegacyPodUid,
  legacyMatchPath,
  LegacyMerger,
  matchR1,
  matchR2,
} from "../../src/platform/unix/legacy.ts";
import { chars, int, pick, rng } from "../_rng.ts";

const CID = "a1f0c3e5b7d9a2c4e6f8b0d2f4a6c8e0a1f0c3e5b7d9a2c4e6f8b0d2f4a6c8e0";
const UID = "7c0e2a4b-6d8f-4a1c-9e3b-5d7f9b1d3f5a";
const UID_US = UID.replaceAll("-", "_");

// Upstream's patterns as JavaScript regular expressions, for differential testing on short inputs.
const P = "[!-\\/:-@\\[-`{-~]";
const N = "[^!-\\/:-@\\[-`{-~]";
const X = "[0-9A-Fa-f]";
const UIDP = `${X}{8}${P}?${X}{4}${P}?${X}{4}${P}?${X}{4}${P}?${X}{12}`;
const R1 = new RegExp(`${P}pod(${UIDP})${P}(?:${N}+${P})*(${X}{64})$`);
/** R2 with upstream's `(?:N*\/*)*` flattened to one class (linear enough for V8 on short inputs). */
const R2_FLAT = new RegExp(`(pod${UIDP}${P})?[^!-.:-@\\[-\`{-~]*crio${P}(${X}{64})$`);

describe("legacy matchers: upstream examples (§2.3 table)", () => {
  const rows: [string, string | null, string | null][] = [
    [`/kubepods/pod${UID}/${CID}`, UID, CID],
    [`/kubepods/burstable/pod${UID}/${CID}`, UID, CID],
    [`/kubepods/kubepods/besteffort/pod${UID}/${CID}`, UID, CID],
    [`/docker/${CID}/kubepods/besteffort/pod${UID}/${CID}`, UID, CID],
    [
      `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_US}.slice/docker-${CID}.scope`,
      UID,
      CID,
    ],
    [`/../../../burstable/pod${UID}/${CID}`, UID, CID],
    [`/something/pod${UID}/${CID}`, UID, CID],
    [`/pod${UID}/${CID}`, UID, CID],
    [`/${CID}`, null, null],
    [`/kubepods/pod${UID}`, null, null],
    [`/kubepods/${CID}`, null, null],
    [`/kubepods-besteffort-pod${UID_US}.slice:cri-containerd:${CID}`, UID, CID],
    [`0::/../crio-${CID}.scope`, "", CID],
    [
      `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_US}.slice/crio-${CID}.scope`,
      UID,
      CID,
    ],
    ["/kubepods/pod2732ca68f6358eba7703fb6f82a25c94", null, null],
    [`/kubepods/pod2732ca68f6358eba7703fb6f82a25c94/${CID}`, "2732ca68f6358eba7703fb6f82a25c94", CID],
  ];
  for (const [path, pod, cid] of rows) {
    it(path.slice(0, 100), () => {
      const r = legacyMatchPath(path);
      if (cid === null) assert.notEqual(r.kind, "match");
      else assert.deepEqual(r.kind === "match" ? [r.podUid, r.containerId] : r, [pod, cid]);
    });
  }
  it("trims only one .scope", () => {
    assert.equal(legacyMatchPath(`/pod${UID}/${CID}.scope.scope`).kind, "none");
  });
  it("treats a path both rules accept as no match", () => {
    const r = legacyMatchPath(`/kubepods/pod2732ca68f6358eba7703fb6f82a25c94/crio-${CID}.scope`);
    assert.deepEqual(r, { kind: "ambiguous", containerId: CID });
  });
  it("canonicalises Go punctuation to - and keeps Go symbols", () => {
    assert.equal(
      canonicalizeLegacyPodUid("a!b\"c#d%e&f'g(h)i*j,k-l.m/n:o;p?q@r[s\\t]u_v{w}x"),
      "a-b-c-d-e-f-g-h-i-j-k-l-m-n-o-p-q-r-s-t-u-v-w-x",
    );
    assert.equal(canonicalizeLegacyPodUid("a$b+c<d=e>f^g`h|i~j"), "a$b+c<d=e>f^g`h|i~j");
    const r = legacyMatchPath(`/pod7c0e2a4b$6d8f~4a1c|9e3b+5d7f9b1d3f5a/${CID}`);
    assert.deepEqual(r, {
      kind: "match",
      podUid: "7c0e2a4b$6d8f~4a1c|9e3b+5d7f9b1d3f5a",
      containerId: CID,
      rule: "R1",
    });
  });
});

describe("LegacyMerger", () => {
  it("keeps the first match and accepts repeats", () => {
    const m = new LegacyMerger();
    m.add(UID, CID);
    m.add(UID, CID);
    assert.deepEqual([m.podUid, m.containerId], [UID, CID]);
  });
  it("reports conflicts with upstream's unquoted text", () => {
    const a = new LegacyMerger();
    a.add(UID, CID);
    assert.throws(() => a.add(UID, "b".repeat(64)), {
      message: `multiple container IDs found in cgroups (${CID}, ${"b".repeat(64)})`,
    });
    const b = new LegacyMerger();
    b.add(UID, CID);
    assert.throws(() => b.add("", CID), { message: `multiple pod UIDs found in cgroups (${UID}, )` });
  });
});

/** Random cgroup-like paths built from the tokens the patterns care about. */
function randomPath(r: () => number, maxPrefixTokens: number): string {
  if (int(r, 2) === 0) return structuredPath(r);
  const tokens = [
    "pod",
    "crio",
    "/",
    "-",
    "_",
    ".",
    ":",
    "$",
    "~",
    "slice",
    "kubepods",
    "é",
    UID,
    UID_US,
    UID.replaceAll("-", ""),
    UID.slice(0, 20),
    chars(r, "0123456789abcdefABCDEF", 1 + int(r, 12)),
    chars(r, "abcxyz/-._:", 1 + int(r, 4)),
  ];
  let s = "";
  const n = int(r, maxPrefixTokens + 1);
  for (let i = 0; i < n; i++) s += pick(r, tokens);
  const tail = int(r, 6);
  if (tail === 0) return s;
  const sep = pick(r, ["/", "-", ":", ".", "_", "x", "$"]);
  const hex = chars(r, "0123456789abcdefABCDEF", pick(r, [63, 64, 64, 64, 65]));
  const crio = tail <= 2 ? "crio" : "";
  return s + crio + sep + hex + (int(r, 8) === 0 ? ".scope" : "");
}

/** Paths shaped like real ones (`…P pod UID P segments… [crio] P ID`), with random damage. */
function structuredPath(r: () => number): string {
  const punct = () => pick(r, ["/", "-", "_", ".", ":", "$", "~", "/", "/"]);
  const uid = pick(r, [
    UID,
    UID_US,
    UID.replaceAll("-", ""),
    UID.replace("-", "--"),
    UID.slice(1),
    UID.toUpperCase(),
  ]);
  let s = pick(r, ["", "/kubepods", "/../..", "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable"]);
  if (int(r, 4) !== 0) s += punct() + "pod" + uid + punct();
  const segments = int(r, 4);
  for (let i = 0; i < segments; i++) {
    s += pick(r, ["slice", "docker", "cri", "containerd", "crio", "conmon", "", "pod", "x"]) + punct();
  }
  if (int(r, 2) === 0) s += pick(r, ["crio", "crio-conmon", "docker", "cri-containerd"]) + punct();
  s += chars(r, "0123456789abcdef", pick(r, [64, 64, 64, 63, 65]));
  if (int(r, 10) === 0) s = s.slice(0, int(r, s.length)) + punct() + s.slice(int(r, s.length));
  return s;
}

/**
 * R2's shape exactly as upstream writes it, `(?:N*\/*)*`, next to the flattened class, both with a 2-hex ID
 * instead of 64: the literal form is exponential in the input length, so only very short inputs are safe.
 */
const S_FLAT = "[^!-.:-@\\[-`{-~]";
const R2_LITERAL_SHORT = new RegExp(`(pod${UIDP}${P})?(?:${N}*\\/*)*crio${P}(${X}{2})$`);
const R2_FLAT_SHORT = new RegExp(`(pod${UIDP}${P})?${S_FLAT}*crio${P}(${X}{2})$`);

describe("legacy matchers agree with upstream's regular expressions", () => {
  const seed = 0x5eed1e;
  it(`R1 and flattened R2 on 30000 random paths (seed ${seed})`, () => {
    const r = rng(seed);
    let r1Matches = 0, r2Matches = 0, groupHits = 0;
    for (let i = 0; i < 30000; i++) {
      const s = randomPath(r, 12);
      const want1 = R1.exec(s);
      const got1 = matchR1(s);
      assert.deepEqual(got1 && [got1.podUid, got1.containerId], want1 && [want1[1], want1[2]], `R1 on ${s}`);
      const want2 = R2_FLAT.exec(s);
      const got2 = matchR2(s);
      assert.deepEqual(
        got2 && [got2.mustNotMatch, got2.containerId],
        want2 && [want2[1] !== undefined && want2[1] !== "", want2[2]],
        `R2 on ${s}`,
      );
      if (want1) r1Matches++;
      if (want2) r2Matches++;
      if (want2?.[1]) groupHits++;
    }
    // The generator must exercise every branch, or the comparison proves little.
    assert.ok(
      r1Matches > 500 && r2Matches > 500 && groupHits > 100,
      `${r1Matches} ${r2Matches} ${groupHits}`,
    );
  });
  it("the flattened class equals upstream's (?:N*\\/*)* on short inputs", () => {
    const r = rng(seed + 1);
    let matches = 0;
    for (let i = 0; i < 20000; i++) {
      const s = chars(r, "ab/-.:_$9", int(r, 7)) + pick(r, ["crio", "cri", "pod", ""]) +
        pick(r, ["-", "/", "x"]) + chars(r, "0aF/", int(r, 4));
      const a = R2_FLAT_SHORT.exec(s), b = R2_LITERAL_SHORT.exec(s);
      assert.deepEqual(a && [a.index, a[1], a[2]], b && [b.index, b[1], b[2]], s);
      if (a) matches++;
    }
    assert.ok(matches > 200, String(matches));
  });
});
