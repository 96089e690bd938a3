/**
 * `deno task bench:table` (bench/table.ts): the table and JSON formatting, the rows built from raw
 * measurements, the synthetic pod lists, and one run of the whole harness in its smallest form against the
 * real plugin (every stage, tiny counts) that must produce a well-formed table and JSON document. No timing
 * is asserted anywhere: verdicts may be pass or FAIL, only their shape is checked.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO_ROOT } from "../../src/testing/plugin_process.ts";
import { coldRows } from "../../bench/lib/cold.ts";
import { FLAT_MIB, type GoBenchReport, goHostBuilt, goHostRows } from "../../bench/lib/gohost.ts";
import { memoryRow } from "../../bench/lib/memory.ts";
import { syntheticNode, syntheticNodeOfSize } from "../../bench/lib/pods.ts";
import {
  atMost,
  documentProblems,
  formatNumber,
  formatTable,
  median,
  resultFileName,
  type Row,
} from "../../bench/lib/report.ts";
import { startupRows } from "../../bench/lib/startup.ts";

const row: Row = {
  id: "a",
  what: "Attest p50 | pipe",
  ours: 1234.5,
  floor: 0.5,
  unit: "µs",
  ratio: 2.4691,
  target: "≤ 2.0×",
  verdict: "FAIL",
  detail: "3 rounds",
};

describe("bench table formatting", () => {
  it("renders one Markdown row per row, pipes escaped, null as a dash", () => {
    const text = formatTable([row, { ...row, id: "b", floor: null, ratio: null, verdict: "pass" }]);
    const lines = text.split("\n");
    assert.equal(lines.length, 4);
    assert.equal(lines[0], "| what | ours | floor | ratio | target | verdict | detail |");
    assert.equal(lines[2], "| Attest p50 \\| pipe | 1235 µs | 0.500 µs | 2.47× | ≤ 2.0× | FAIL | 3 rounds |");
    assert.equal(lines[3], "| Attest p50 \\| pipe | 1235 µs | — | — | ≤ 2.0× | pass | 3 rounds |");
  });

  it("formats numbers to about 3 significant digits", () => {
    assert.deepEqual([150.4, 15.04, 1.504, 0.1504, 0, null, NaN].map(formatNumber), [
      "150",
      "15.0",
      "1.50",
      "0.150",
      "0",
      "—",
      "—",
    ]);
  });

  it("takes medians and at-most verdicts", () => {
    assert.equal(median([5, 1, 3, 2]), 2.5);
    assert.throws(() => median([]), RangeError);
    assert.equal(atMost(1.3, 1.3), "pass");
    assert.equal(atMost(1.31, 1.3), "FAIL");
    assert.equal(atMost(Infinity, 1.3), "FAIL");
  });

  it("names result files by start time, sortable", () => {
    assert.equal(resultFileName(new Date("2026-01-02T03:04:05.678Z")), "2026-01-02T03-04-05Z.json");
  });

  it("finds what is wrong in a results document", () => {
    const good = {
      schema: 1,
      startedAt: "2026-12-04T12:00:00.000Z",
      durationS: 1,
      mode: "quick",
      environment: {},
      settings: {},
      rows: [row],
      raw: {},
    };
    assert.deepEqual(documentProblems(good), []);
    assert.deepEqual(documentProblems({ ...good, rows: [row, row] }), ["rows[1].id a is repeated"]);
    assert.deepEqual(documentProblems({ ...good, rows: [{ ...row, ours: "1", verdict: "ok" }] }), [
      "rows[0].ours is not a number or null",
      "rows[0].verdict is unknown",
    ]);
    assert.deepEqual(documentProblems({ ...good, rows: [] }), ["rows is not a non-empty array"]);
    assert.deepEqual(documentProblems(null), ["not an object"]);
  });
});

describe("bench rows from raw measurements", () => {
  const round = (concurrency: number, ours: number, floor: number, health: number) => ({
    concurrency,
    ours_p50_us: ours,
    ours_p99_us: ours * 3,
    floor_p50_us: floor,
    floor_p99_us: floor * 3,
    health_p50_us: health,
    health_p99_us: health * 3,
    ours_calls_per_s: 1e6 / ours,
    floor_calls_per_s: 1e6 / floor,
  });
  const report: GoBenchReport = {
    selectors: 21,
    ours_load_ms: 150,
    floor_load_ms: 20,
    ours_rss_idle_kib: 80 * 1024,
    floor_rss_idle_kib: 10 * 1024,
    rounds: [
      round(1, 300, 100, 250),
      round(16, 500, 200, 400),
      round(1, 500, 100, 400),
      round(1, 200, 100, 180),
    ],
    attest_errors: 0,
  };

  it("go-plugin rows: per-round ratios, targets 2× / 3× / 1.3×, idle RSS ≤ 70 MiB", () => {
    const rows = goHostRows(report, 250);
    assert.deepEqual(rows.map((r) => r.id), [
      "attest-gohost-c1",
      "attest-gohost-c16",
      "attest-vs-noop",
      "rss-idle",
    ]);
    assert.equal(rows[0].ratio, 3); // ratios 3, 5, 2
    assert.equal(rows[0].ours, 300);
    assert.equal(rows[0].verdict, "FAIL");
    assert.equal(rows[1].ratio, 2.5);
    assert.equal(rows[1].verdict, "pass");
    assert.equal(rows[2].ratio, 1.2); // 300/250, 500/400, 200/180 → 1.2, 1.25, 1.11
    assert.equal(rows[2].verdict, "pass");
    assert.equal(rows[3].ours, 80);
    assert.equal(rows[3].verdict, "FAIL");
  });

  it("failed calls fail the latency rows whatever the ratio", () => {
    const rows = goHostRows({ ...report, attest_errors: 3 }, 250);
    assert.equal(rows[1].verdict, "FAIL");
    assert.match(rows[1].detail, /3 FAILED calls/);
  });

  it("the load row: peak ≤ 100 MiB, flat, the rate kept, no errors", () => {
    const samples = (from: number, to: number) =>
      Array.from({ length: 10 }, (_, i) => ({ t_s: i, rss_kib: (from + ((to - from) * i) / 9) * 1024 }));
    const rate = {
      target_per_s: 1000,
      calls: 10000,
      errors: 0,
      skipped: 0,
      elapsed_s: 10,
      achieved_per_s: 999,
      p50_us: 400,
      p99_us: 3000,
      rss_before_kib: 80 * 1024,
      rss_samples: samples(80, 85),
      rss_after_kib: 85 * 1024,
      hwm_kib: 90 * 1024,
    };
    const rowOf = (r: typeof rate) =>
      goHostRows({ ...report, rate: r }, 250).find((x) => x.id === "rss-load")!;
    assert.equal(rowOf(rate).verdict, "pass");
    assert.equal(rowOf({ ...rate, rss_samples: samples(80, 80 + FLAT_MIB + 5) }).verdict, "FAIL"); // growing
    assert.equal(rowOf({ ...rate, rss_samples: samples(95, 101) }).verdict, "FAIL"); // above 100 MiB
    assert.equal(rowOf({ ...rate, achieved_per_s: 700 }).verdict, "FAIL"); // did not keep up
    assert.equal(rowOf({ ...rate, errors: 1 }).verdict, "FAIL");
  });

  it("cold rows need one kubelet request per call (a warm Attest is not a cold one)", () => {
    const raw = {
      pods: 100,
      transport: "tls" as const,
      bodyBytes: 200_000,
      oursMs: [2.4, 2.5, 2.2],
      floorMs: [2, 2, 2],
      kubeletRequests: 6,
    };
    assert.equal(coldRows([raw])[0].verdict, "pass");
    assert.equal(coldRows([raw])[0].ratio, 1.2);
    const warm = coldRows([{ ...raw, kubeletRequests: 4 }])[0];
    assert.equal(warm.verdict, "FAIL");
    assert.match(warm.detail, /NOT cold/);
  });

  it("linearity rows compare the cost of further pods, so a fixed overhead cannot hide a per-pod cost", () => {
    const raw = (pods: number, ours: number, floor: number) => ({
      pods,
      transport: "http" as const,
      bodyBytes: pods * 2000,
      oursMs: [ours],
      floorMs: [floor],
      kubeletRequests: 2,
    });
    // 10 ms of fixed overhead, then exactly the floor's per-pod cost: linear.
    const flat = coldRows([raw(100, 11, 1), raw(5100, 61, 51)]).find((r) => r.id === "cold-linear-http")!;
    assert.equal(flat.ours, 10);
    assert.equal(flat.ratio, 1);
    assert.equal(flat.verdict, "pass");
    // The same overhead, twice the floor's per-pod cost: the growth factor (11×) is below the floor's (51×),
    // yet not linear in the floor's sense.
    const steep = coldRows([raw(100, 11, 1), raw(5100, 111, 51)]).find((r) => r.id === "cold-linear-http")!;
    assert.equal(steep.ratio, 2);
    assert.equal(steep.verdict, "FAIL");
  });

  it("start-up rows: ≤ 6× the empty script, per-run ratios", () => {
    const rows = startupRows({ floorMs: [20, 20, 40], sourceMs: [100, 140, 120], bundleMs: [130, 120, 250] });
    assert.deepEqual(rows.map((r) => [r.id, r.ratio, r.verdict]), [
      ["startup-source", 5, "pass"],
      ["startup-bundle", 6.25, "FAIL"],
    ]);
  });

  it("the large-list row passes only when the RSS came back within a minute", () => {
    const raw = {
      largeBytes: 10_000_000,
      largePods: 4700,
      beforeMiB: 80,
      peakMiB: 260,
      hwmMiB: 270,
      largeAttestMs: 300,
      backAfterS: 61,
      endMiB: 99,
      windowS: 90,
      samples: [],
    };
    assert.equal(memoryRow(raw).verdict, "FAIL");
    assert.equal(memoryRow({ ...raw, backAfterS: 59 }).verdict, "pass");
  });
});

describe("synthetic pod lists", () => {
  it("spreads the workloads over the list, each in a distinct pod whose container ID is in the body", () => {
    const node = syntheticNode(250, 8);
    const list = JSON.parse(node.body) as { items: { metadata: { uid: string } }[] };
    assert.equal(list.items.length, 250);
    assert.equal(new Set(list.items.map((p) => p.metadata.uid)).size, 250);
    assert.equal(node.workloads.length, 8);
    assert.equal(new Set(node.workloads.map((w) => w.podUid)).size, 8);
    assert.deepEqual(node.workloads.map((w) => w.pid), [4242, 4243, 4244, 4245, 4246, 4247, 4248, 4249]);
    for (const w of node.workloads) {
      assert.match(w.containerId, /^[0-9a-f]{64}$/);
      assert.ok(node.body.includes(`containerd://${w.containerId}`));
    }
    // The last workload sits in the last pod of its kind, not near the start.
    const last = list.items.findIndex((p) => p.metadata.uid === node.workloads[7].podUid);
    assert.ok(last > 240, `last workload at index ${last}`);
  });

  it("builds a list of at least the size asked for", () => {
    const node = syntheticNodeOfSize(1_000_000);
    assert.ok(node.body.length >= 1_000_000);
    assert.ok(node.body.length < 1_010_000, `${node.body.length} bytes`);
    assert.equal(node.workloads.length, 1);
  });
});

describe(
  "deno task bench:table, smallest run against the real plugin",
  { skip: Deno.build.os !== "linux" },
  () => {
    it("prints the table and writes a well-formed JSON document with a row for every target", async () => {
      const gohost = await goHostBuilt();
      if (!gohost) {
        console.error(
          "\n*** bench:table test: the Go host is not built; the gohost stage is left out ***\n",
        );
      }
      const out = await Deno.makeTempDir({ prefix: "k8s-attestor-bench-test-" });
      try {
        const stages = gohost ? "gohost,cold,startup,memory" : "cold,startup,memory";
        const run = await new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "-A",
            "--no-prompt",
            join(REPO_ROOT, "bench", "table.ts"),
            "--quick",
            `--stages=${stages}`,
            "--out",
            out,
            "--rounds=1",
            "--calls=20",
            "--warmup=5",
            "--settle=0",
            "--rate-calls=50",
            "--cold-runs=1",
            "--cold-pods=10,20",
            "--startup-runs=1",
            "--large-mb=1",
            "--warm=0",
            "--window=1",
          ],
          stdout: "piped",
          stderr: "piped",
          env: { NO_COLOR: "1" },
        }).output();
        const stdout = new TextDecoder().decode(run.stdout);
        const stderr = new TextDecoder().decode(run.stderr);
        assert.equal(run.code, 0, `${stdout}\n${stderr}`);

        const files = [...Deno.readDirSync(out)].map((e) => e.name);
        assert.equal(files.length, 1);
        assert.match(files[0], /^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ\.json$/);
        const doc = JSON.parse(await Deno.readTextFile(join(out, files[0])));
        assert.deepEqual(documentProblems(doc), []);
        assert.equal(doc.mode, "custom");
        assert.equal(resultFileName(new Date(doc.startedAt)), files[0]);

        const ids = (doc.rows as Row[]).map((r) => r.id);
        const want = [
          ...(gohost
            ? ["attest-gohost-c1", "attest-gohost-c16", "attest-vs-noop", "rss-idle", "rss-load"]
            : []),
          "cold-http-10",
          "cold-http-20",
          "cold-tls-10",
          "cold-tls-20",
          "cold-linear-http",
          "cold-linear-tls",
          "startup-source",
          "startup-bundle",
          "rss-large-list",
        ];
        assert.deepEqual(ids, want);
        // Every measured row has a value; floors exist where the target has one. (The linearity rows are
        // differences of two tiny measurements here, so only their presence is checked.)
        for (const r of doc.rows as Row[]) {
          assert.ok(typeof r.ours === "number" && Number.isFinite(r.ours), `${r.id}: ours ${r.ours}`);
          if (r.id.startsWith("cold-linear")) continue;
          assert.ok(r.ours > 0, `${r.id}: ours ${r.ours}`);
          if (r.id.startsWith("attest") || r.id.startsWith("cold") || r.id.startsWith("startup")) {
            assert.ok(typeof r.floor === "number" && r.floor > 0, `${r.id}: floor ${r.floor}`);
            assert.ok(typeof r.ratio === "number" && r.ratio > 0, `${r.id}: ratio ${r.ratio}`);
          }
        }
        // The release flags come from deno.json's compile task.
        assert.ok((doc.environment.releaseFlags as string[]).some((f) => f.startsWith("--allow-")));

        // The printed table is the same rows, in the same order.
        const printed = stdout.split("\n").filter((l) =>
          l.startsWith("| ") && !l.startsWith("| what") && !l.startsWith("| ---")
        );
        assert.deepEqual(printed, formatTable(doc.rows).split("\n").slice(2));
        assert.match(stdout, new RegExp(`written: .*${files[0].replaceAll(".", "\\.")}`));
      } finally {
        await Deno.remove(out, { recursive: true });
      }
    });
  },
);
