import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { formatImageReference, parseImageReference } from "../../src/oci/reference.ts";
import { assertAttestorError } from "../../src/testing/assert_error.ts";

const H1 = "0cfdaced91cb46dd7af48309799a3c351e4ca2d5e1ee9737ca0cbd932cb79898";
const H2 = "b2fc20676c92a433b9a91f3f4535faddec0c2c3613849ac12f02c1d5cfcd4c3a";

function ref(registry: string, repository: string, tag: string | null, digest: string | null) {
  return { registry, repository, tag, digest };
}

describe("parseImageReference: real-world image IDs and images", () => {
  const cases: [string, ReturnType<typeof ref>][] = [
    // containerd imageIDs
    [`docker.io/library/nginx@sha256:${H1}`, ref("index.docker.io", "library/nginx", null, `sha256:${H1}`)],
    [`registry.k8s.io/pause@sha256:${H1}`, ref("registry.k8s.io", "pause", null, `sha256:${H1}`)],
    [
      `ghcr.io/spiffe/spire-agent@sha256:${H2}`,
      ref("ghcr.io", "spiffe/spire-agent", null, `sha256:${H2}`),
    ],
    [
      `registry.k8s.io/kube-apiserver@sha256:${H1}`,
      ref("registry.k8s.io", "kube-apiserver", null, `sha256:${H1}`),
    ],
    [
      `docker-registry-local:5001/workload@sha256:${H1}`,
      ref("docker-registry-local:5001", "workload", null, `sha256:${H1}`),
    ],
    [`127.0.0.1:5000/a/b/c@sha256:${H1}`, ref("127.0.0.1:5000", "a/b/c", null, `sha256:${H1}`)],
    [`localhost/spiffe/blog@sha256:${H1}`, ref("localhost", "spiffe/blog", null, `sha256:${H1}`)],
    [`[::1]:5000/img@sha256:${H1}`, ref("[::1]:5000", "img", null, `sha256:${H1}`)],
    [
      `123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app@sha256:${H1}`,
      ref("123456789012.dkr.ecr.us-east-1.amazonaws.com", "team/app", null, `sha256:${H1}`),
    ],
    [
      `mcr.microsoft.com/windows/nanoserver@sha256:${H1}`,
      ref("mcr.microsoft.com", "windows/nanoserver", null, `sha256:${H1}`),
    ],
    [`quay.io/cilium/cilium@sha256:${H2}`, ref("quay.io", "cilium/cilium", null, `sha256:${H2}`)],
    // cri-dockerd imageIDs
    [
      `docker-pullable://localhost/spiffe/blog@sha256:${H1}`,
      ref("localhost", "spiffe/blog", null, `sha256:${H1}`),
    ],
    [`docker-pullable://nginx@sha256:${H1}`, ref("index.docker.io", "library/nginx", null, `sha256:${H1}`)],
    // tag and digest together (kept both)
    [
      `gcr.io/distroless/static:nonroot@sha256:${H1}`,
      ref("gcr.io", "distroless/static", "nonroot", `sha256:${H1}`),
    ],
    // images (tags)
    ["nginx", ref("index.docker.io", "library/nginx", "latest", null)],
    ["nginx:1.27-alpine", ref("index.docker.io", "library/nginx", "1.27-alpine", null)],
    ["docker.io/nginx:1", ref("index.docker.io", "library/nginx", "1", null)],
    ["index.docker.io/bitnami/redis:7.2", ref("index.docker.io", "bitnami/redis", "7.2", null)],
    ["bitnami/redis", ref("index.docker.io", "bitnami/redis", "latest", null)],
    ["localhost:5000/foo", ref("localhost:5000", "foo", "latest", null)],
    ["localhost:5000/foo:V1_x", ref("localhost:5000", "foo", "V1_x", null)],
    // "localhost:5000" alone: the port is read as a tag (go-containerregistry does the same)
    ["localhost:5000", ref("index.docker.io", "library/localhost", "5000", null)],
    ["registry.example.com/a/b/c:v1", ref("registry.example.com", "a/b/c", "v1", null)],
  ];
  for (const [text, expected] of cases) {
    it(text, () => {
      assert.deepEqual({ ...parseImageReference(text) }, expected);
    });
  }

  it("formats the canonical text", () => {
    assert.equal(
      formatImageReference(parseImageReference(`docker-pullable://nginx@sha256:${H1}`)),
      `index.docker.io/library/nginx@sha256:${H1}`,
    );
    assert.equal(
      formatImageReference(parseImageReference("busybox")),
      "index.docker.io/library/busybox:latest",
    );
  });
});

describe("parseImageReference: refusals", () => {
  const refusals: [string, RegExp][] = [
    [`sha256:${H1}`, /a bare image digest names no repository/],
    [`docker://sha256:${H1}`, /a bare image digest names no repository/],
    [`containerd://ghcr.io/x@sha256:${H1}`, /unsupported scheme "containerd:\/\/"/],
    ["", /the reference is empty/],
    ["docker-pullable://", /the reference is empty/],
    [`nginx@sha512:${H1}${H1}`, /unsupported digest algorithm/],
    [`nginx@sha256:${H1.toUpperCase()}`, /invalid sha256 digest/],
    [`nginx@sha256:${H1.slice(1)}`, /invalid sha256 digest/],
    [`nginx@sha256:${H1}@sha256:${H1}`, /exactly one '@'/],
    ["Nginx", /repository can only contain/],
    ["ghcr.io/Spiffe/agent", /repository can only contain/],
    ["a", /repository must be between 2 and 255/],
    [`ghcr.io/${"a".repeat(256)}`, /repository must be between 2 and 255/],
    ["nginx:", /must specify a tag name after the colon/],
    ["nginx:v1+x", /tag can only contain/],
    [`nginx:${"a".repeat(129)}`, /tag must be between 1 and 128/],
    ["my host.io/foo", /repository can only contain|registry must be/],
    ["user@host.io/foo:1", /unsupported digest algorithm/],
    ["host.io:99999/foo", /registry must be a host name/],
    ["host.io:/foo", /registry must be a host name/],
    ["-bad.io/foo", /registry must be a host name/],
    ["host..io/foo", /registry must be a host name/],
    ["nginx\n", /tag|repository can only contain/],
    ["x".repeat(5000), /longer than 4096 characters/],
  ];
  for (const [text, pattern] of refusals) {
    it(JSON.stringify(text.slice(0, 60)), () => {
      assert.throws(() => parseImageReference(text), (err) => {
        assertAttestorError(err, "signature-unverified", pattern);
        assert.match((err as Error).message, /^invalid image reference "/);
        return true;
      });
    });
  }
});
