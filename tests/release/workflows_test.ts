/**
 * .github/workflows: they parse, every action is pinned to a full commit SHA, and the release compiles every
 * `compile:*` task of deno.json, smoke-tests each binary on a runner of its own OS after checking its
 * .sha256, and publishes images and files only after every smoke test passed.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import denoConfig from "../../deno.json" with { type: "json" };
import { parseYamlDocuments, readRepoFile } from "../deploy/_deploy.ts";

// deno-lint-ignore no-explicit-any
type Workflow = Record<string, any>;

const WORKFLOWS = [".github/workflows/ci.yml", ".github/workflows/release.yml"];

function workflow(path: string): Workflow {
  const docs = parseYamlDocuments(readRepoFile(path), path) as Workflow[];
  assert.equal(docs.length, 1);
  return docs[0];
}

/** Every `uses:` of a workflow's steps with its line (for the version comment). */
function actionLines(path: string): string[] {
  return readRepoFile(path).split("\n").filter((l) => /^\s*(-\s+)?uses:/.test(l));
}

/** Problems with action pinning in workflow text. */
function pinningProblems(lines: readonly string[]): string[] {
  const problems: string[] = [];
  for (const line of lines) {
    const m = line.match(/uses:\s*([^@\s]+)@(\S+)(?:\s+#\s*(\S+))?/);
    if (!m) problems.push(`unreadable: ${line.trim()}`);
    else if (!/^[0-9a-f]{40}$/.test(m[2])) problems.push(`${m[1]}@${m[2]} is not pinned to a commit SHA`);
    else if (!m[3] || !/^v\d+\.\d+\.\d+$/.test(m[3])) problems.push(`${m[1]}: no "# vX.Y.Z" comment`);
  }
  return problems;
}

/** The compile tasks of deno.json and the file each writes. */
function compileTargets(): Map<string, string> {
  const targets = new Map<string, string>();
  for (const [task, command] of Object.entries(denoConfig.tasks)) {
    if (!task.startsWith("compile:")) continue;
    const out = command.match(/-o dist\/(\S+)/);
    assert.ok(out, `${task} writes into dist/`);
    targets.set(task, out[1]);
  }
  return targets;
}

function runs(job: Workflow): string {
  return job.steps.map((s: Workflow) => s.run ?? "").join("\n");
}

describe("workflows", () => {
  for (const path of WORKFLOWS) {
    it(`${path} parses and pins every action to a commit SHA`, () => {
      const wf = workflow(path);
      assert.ok(wf.on && wf.jobs && wf.permissions, "on, jobs and top-level permissions");
      const lines = actionLines(path);
      assert.ok(lines.length > 0);
      assert.deepEqual(pinningProblems(lines), []);
    });
  }

  it("the pinning check refuses tags, branches and short SHAs", () => {
    assert.deepEqual(pinningProblems(["- uses: actions/checkout@v4"]), [
      "actions/checkout@v4 is not pinned to a commit SHA",
    ]);
    assert.equal(pinningProblems(["uses: a/b@main"]).length, 1);
    assert.equal(pinningProblems(["uses: a/b@3d3c42e5 # v1.0.0"]).length, 1);
    assert.equal(
      pinningProblems([`uses: a/b@${"a".repeat(40)}`]).length,
      1,
      "the version comment is required",
    );
  });

  it("the release compiles every compile task and writes each .sha256", () => {
    const compile = workflow(".github/workflows/release.yml").jobs.compile;
    const matrix = compile.strategy.matrix.include as Workflow[];
    assert.deepEqual(
      new Map(matrix.map((m) => [m.task, m.file])),
      compileTargets(),
      "one matrix entry per compile:* task of deno.json, with its output file",
    );
    const script = runs(compile);
    assert.ok(script.includes("deno task ${{ matrix.task }}"));
    assert.ok(script.includes("sha256sum ${{ matrix.file }} > ${{ matrix.file }}.sha256"));
  });

  it("the release smoke-tests each binary on its own OS, after checking its checksum", () => {
    const jobs = workflow(".github/workflows/release.yml").jobs;
    const smoke = jobs.smoke;
    assert.deepEqual(smoke.needs, "compile");
    assert.equal(smoke["runs-on"], "${{ matrix.runner }}");
    const matrix = smoke.strategy.matrix.include as Workflow[];
    assert.deepEqual(matrix.map((m) => m.file).sort(), [...compileTargets().values()].sort());
    for (const { file, runner } of matrix) {
      const os = file.includes("windows") ? "windows" : "ubuntu";
      assert.ok(String(runner).startsWith(`${os}-`), `${file} runs on ${os} (${runner})`);
      if (file.includes("arm64")) assert.match(runner, /arm/, `${file} needs an arm64 runner`);
    }
    const steps = smoke.steps as Workflow[];
    const index = (pred: (s: Workflow) => boolean) => steps.findIndex(pred);
    const verify = index((s) => String(s.run ?? "").includes("sha256sum -c ${{ matrix.file }}.sha256"));
    const test = index((s) =>
      String(s.run ?? "").includes("deno task smoke --binary dist/${{ matrix.file }}")
    );
    assert.ok(verify >= 0 && test > verify, "checksum verified, then the smoke test on that binary");
    assert.equal(denoConfig.tasks.smoke, "deno run -A --no-prompt src/smoke/main.ts");
  });

  it("images and the release are built only on a tag, after every smoke test", () => {
    const jobs = workflow(".github/workflows/release.yml").jobs;
    for (const name of ["images", "windows-image", "publish"]) {
      assert.equal(jobs[name].if, "startsWith(github.ref, 'refs/tags/v')", name);
      assert.ok([jobs[name].needs].flat().includes("smoke"), `${name} needs smoke`);
    }
    const files = [jobs.images, jobs["windows-image"]].map((j) =>
      j.steps.map((s: Workflow) => s.with?.file ?? s.run ?? "").join("\n")
    ).join("\n");
    for (const df of ["plugin", "agent", "agent-windows"]) {
      assert.ok(files.includes(`deploy/images/${df}.Dockerfile`), `${df} image built`);
    }
    const publish = runs(jobs.publish);
    assert.ok(publish.includes("sha256sum -c *.sha256"));
    assert.ok(publish.includes("gh release create"));
  });

  it("CI runs the same smoke test on the bundle", () => {
    const bundle = workflow(".github/workflows/ci.yml").jobs.bundle;
    assert.ok(runs(bundle).includes("deno task smoke:bundle"));
    assert.equal(
      denoConfig.tasks["smoke:bundle"],
      "deno task bundle && deno run -A --no-prompt src/smoke/main.ts --bundle dist/k8s-attestor.js",
    );
    assert.ok(denoConfig.tasks.bundle.includes("-o dist/k8s-attestor.js"));
  });
});
