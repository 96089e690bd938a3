/**
 * The faster encoder of the selector responses gives exactly the generated encoder's bytes, on its fast
 * path (short ASCII values) and on every input it hands to the generated encoder.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  AttestReferenceResponse,
  AttestResponse,
} from "../../src/gen/spire/plugin/agent/workloadattestor/v1/workloadattestor.ts";
import { selectorValuesEncoder } from "../../src/plugin/selector_values_codec.ts";

const CASES: Record<string, string[]> = {
  "no values": [],
  "one empty value": [""],
  "typical pod selectors": [
    "k8s:ns:default",
    "k8s:sa:web",
    "k8s:pod-uid:0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d",
    "k8s:container-image:docker.io/library/nginx@sha256:" + "a".repeat(64),
    "k8s:pod-label:app:web",
  ],
  "127 characters (the longest one-byte length)": ["x".repeat(127)],
  "128 characters (a two-byte length)": ["x".repeat(128)],
  "16384 characters (a three-byte length)": ["k8s:pod-label:big:" + "y".repeat(16366)],
  "non-ASCII (multi-byte UTF-8)": ["k8s:pod-label:a:ünïcødé", "k8s:ns:日本", "k8s:sa:😀"],
  "non-ASCII whose UTF-8 length needs a longer prefix than its UTF-16 length": ["é".repeat(100)],
  "a lone surrogate (encoded as U+FFFD)": ["k8s:pod-label:x:\ud800"],
  "control characters and DEL": ["a\x00b\x01\n\x7f"],
  "mixed: one value leaves the fast path": ["k8s:ns:a", "k8s:sa:ü", "k8s:ns:b"],
};

describe("selectorValuesEncoder: the generated encoder's bytes", () => {
  for (const [name, selectorValues] of Object.entries(CASES)) {
    it(name, () => {
      const attest = selectorValuesEncoder(AttestResponse.encode);
      const reference = selectorValuesEncoder(AttestReferenceResponse.encode);
      const expected = AttestResponse.encode({ selectorValues }).finish();
      assert.deepEqual(attest({ selectorValues }), expected);
      assert.deepEqual(
        reference({ selectorValues }),
        AttestReferenceResponse.encode({ selectorValues }).finish(),
      );
      // And it decodes to the values (a lone surrogate as U+FFFD, as TextEncoder writes it).
      const utf8 = (v: string) => new TextDecoder().decode(new TextEncoder().encode(v));
      assert.deepEqual(
        AttestResponse.decode(attest({ selectorValues })).selectorValues,
        selectorValues.map(utf8),
      );
    });
  }
});
