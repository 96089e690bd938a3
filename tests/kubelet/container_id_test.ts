/**
 * Container IDs are the URL host of the kubelet's `containerID`, exactly as Go's `net/url` computes it:
 * runtime prefixes stripped, user info dropped, ports kept, case kept, anything unparseable refused.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { containerIdFromUrl, parseContainerIdUrl } from "../../src/kubelet/container_id.ts";

const CID_A = "9bca8d63d5fa610783847915bcff0ecac1273e5b4bed3f6fa1b07350e0135961";

const cases: [string, string | null][] = [
  [`containerd://${CID_A}`, CID_A],
  [`docker://${CID_A}`, CID_A],
  [`cri-o://${CID_A}`, CID_A],
  [`CONTAINERD://${CID_A}`, CID_A],
  [`containerd://${CID_A.toUpperCase()}`, CID_A.toUpperCase()],
  [`containerd://user@${CID_A}`, CID_A],
  [`containerd://user:pw@x@${CID_A}`, CID_A],
  [`containerd://${CID_A}:1234`, `${CID_A}:1234`],
  [`containerd://${CID_A}:`, `${CID_A}:`],
  [`containerd://${CID_A}/some/path`, CID_A],
  [`containerd://${CID_A}?q=1`, CID_A],
  [`containerd://${CID_A}#frag`, CID_A],
  [CID_A, null],
  [`//${CID_A}`, null],
  [`containerd:${CID_A}`, null],
  [`containerd:/${CID_A}`, null],
  [`://${CID_A}`, null],
  [`1docker://${CID_A}`, null],
  [`dock_er://${CID_A}`, null],
  ["containerd://", null],
  ["containerd://user@", null],
  [`containerd://${CID_A}:12a`, null],
  [`containerd://${CID_A} `, null],
  [`containerd://${CID_A}\n`, null],
  [`containerd://us er@${CID_A}`, null],
  [`containerd://${CID_A}%41`, null],
  [`containerd://${CID_A}%zz`, null],
  [`containerd://${CID_A}/%zz`, null],
  [`containerd://${CID_A}#%zz`, null],
  [`containerd://${CID_A}%C3%A9`, `${CID_A}é`],
  ["containerd://[::1]", null],
];

describe("containerIdFromUrl (Go net/url host)", () => {
  for (const [raw, want] of cases) {
    it(`${JSON.stringify(raw.replace(CID_A, "<cid>").replace(CID_A.toUpperCase(), "<CID>"))} → ${want === null ? "null" : "host"}`, () => {
      assert.equal(containerIdFromUrl(raw), want);
    });
  }
});

describe("containerIdFromUrl's one-match common form agrees with the full parse", () => {
  it("on the table above, and on 30000 seeded strings near the common form", () => {
    // mulberry32: a small seeded generator, so a failure can be reproduced.
    let seed = 0x5eed1234;
    const random = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
    const schemes = ["containerd", "docker", "cri-o", "C1+.-", "1x", "", "a_b", "é"];
    const pieces = [
      CID_A.slice(0, 8),
      "a",
      "Z",
      "0",
      "-",
      "_",
      ".",
      "~",
      ":",
      "/",
      "//",
      "@",
      "%41",
      "%",
      "%zz",
      "#",
      "?",
      "[",
      "]",
      " ",
      "\n",
      "\u007f",
      "é",
      "+",
      "!",
      "$",
      "'",
      "=",
      "%25",
      "%C3%A9",
    ];
    const inputs = cases.map(([raw]) => raw);
    for (let i = 0; i < 30000; i++) {
      let id = "";
      for (let n = Math.floor(random() * 6); n > 0; n--) {
        id += random() < 0.7 ? pick(pieces.slice(0, 8)) : pick(pieces);
      }
      const sep = random() < 0.85 ? "://" : pick([":/", ":", "//", ":///"]);
      inputs.push(`${pick(schemes)}${sep}${id}${random() < 0.9 ? "" : pick(pieces)}`);
    }
    let common = 0;
    for (const raw of inputs) {
      assert.equal(containerIdFromUrl(raw), parseContainerIdUrl(raw), JSON.stringify(raw));
      if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\/[A-Za-z0-9._~-]+$/.test(raw)) common++;
    }
    assert.ok(common > 1000, `only ${common} inputs in the common form`);
  });
});
