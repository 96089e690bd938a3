/**
 * Cost of turning a kubelet `/pods` body into selectors, against `JSON.parse` of the same body as the
 * baseline measured in the same run. The body is a realistic 110-pod list (the default max pods per node),
 * built from the pods of tests/testdata/pods/node_pods.json with fresh UIDs and container IDs.
 *
 * Run: `deno bench -A --no-prompt bench/selectors_bench.ts`
 *
 * @module
 */

import { parsePodList } from "../src/kubelet/pods.ts";
import { buildSelectors } from "../src/core/selectors.ts";

const PODS = 110;
const template = JSON.parse(
  Deno.readTextFileSync(new URL("../tests/testdata/pods/node_pods.json", import.meta.url)),
) as { items: Record<string, unknown>[] };

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, "0");
}

const items = Array.from({ length: PODS }, (_, i) => {
  const pod = structuredClone(template.items[i % template.items.length]);
  const metadata = pod.metadata as { uid: string; name: string };
  metadata.uid = `${hex(i, 8)}-0000-4000-8000-${hex(i * 7919, 12)}`;
  metadata.name = `${metadata.name}-${i}`;
  const status = pod.status as Record<string, { containerID?: string }[] | undefined>;
  let c = 0;
  for (const key of ["containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"]) {
    for (const s of status[key] ?? []) {
      if (s.containerID) s.containerID = `containerd://${hex(i, 8)}${hex(c++, 8)}${"ab".repeat(24)}`;
    }
  }
  return pod;
});
const body = JSON.stringify({ kind: "PodList", apiVersion: "v1", metadata: {}, items });
const targetUid = (items[0].metadata as { uid: string }).uid;
const targetCid = `${hex(0, 8)}${hex(0, 8)}${"ab".repeat(24)}`;
const snapshot = parsePodList(body, 1);
if (!snapshot.containersById.get(targetCid)) throw new Error("bench setup: target container not indexed");
const pod = snapshot.podsByUid.get(targetUid)!;
const status = pod.containerStatuses[0];

console.error(`body: ${PODS} pods, ${(body.length / 1024).toFixed(1)} KiB`);

Deno.bench({
  name: "JSON.parse of the /pods body",
  group: "pod list",
  baseline: true,
  fn() {
    JSON.parse(body);
  },
});

Deno.bench({
  name: "parsePodList (parse + project + index)",
  group: "pod list",
  fn() {
    parsePodList(body, 1);
  },
});

Deno.bench({
  name: "lookup by container ID + selectors of one pod",
  group: "pod list",
  fn() {
    const match = snapshot.containersById.get(targetCid)![0];
    buildSelectors(match.pod, match.status);
  },
});

Deno.bench({
  name: "buildSelectors of one pod",
  group: "pod list",
  fn() {
    buildSelectors(pod, status);
  },
});
