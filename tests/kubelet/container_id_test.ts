/**
 * Container IDs are the URL host of the kubelet's `containerID`, exactly as Go's `net/url` computes it:
 * runtime prefixes stripped, user info dropped, ports kept, case kept, anything unparseable refused.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { containerIdFromUrl } from "../../src/kubelet/container_id.ts";

const CID_A = "9bca8d63d5fa610783847915bcff0ecac1273e5b4bed3f6fa1b07350e0135961";

describe("containerIdFromUrl (Go net/url host)", () => {
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
  for (const [raw, want] of cases) {
    it(`${JSON.stringify(raw.replace(CID_A, "<cid>").replace(CID_A.toUpperCase(), "<CID>"))} → ${want === null ? "null" : "host"}`, () => {
      assert.equal(containerIdFromUrl(raw), want);
    });
  }
});
