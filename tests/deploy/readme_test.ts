/**
 * deploy/README.md agrees with what it describes: every file under deploy/, the plugin's name and paths in
 * each image, the chart version, the release files and images, and the main README points to it.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { join, relative } from "node:path";
import denoConfig from "../../deno.json" with { type: "json" };
import { REPO_ROOT } from "../../src/testing/plugin_process.ts";
import { copyDestinations, parseYamlDocuments, readRepoFile } from "./_deploy.ts";

const README = "deploy/README.md";

function deployFiles(dir = join(REPO_ROOT, "deploy")): string[] {
  const files: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) files.push(...deployFiles(path));
    else files.push(relative(join(REPO_ROOT, "deploy"), path));
  }
  return files.filter((f) => f !== "README.md").sort();
}

describe("deploy/README.md", () => {
  const text = readRepoFile(README);

  it("lists every file under deploy/", () => {
    const files = deployFiles();
    assert.ok(files.length >= 8);
    for (const file of files) assert.ok(text.includes(`\`${file}\``), file);
  });

  it("names the plugin and its paths as the images and manifests have them", () => {
    assert.ok(text.includes('`WorkloadAttestor "k8s"`'));
    const agentPath = copyDestinations("deploy/images/agent.Dockerfile").get(
      "${TARGETPLATFORM}/k8s-attestor",
    )!;
    assert.ok(text.includes(agentPath), agentPath);
    const pluginPath = copyDestinations("deploy/images/plugin.Dockerfile").get(
      "${TARGETPLATFORM}/k8s-attestor",
    )!;
    assert.ok(text.includes(`plugin_cmd: ${pluginPath}`), pluginPath);
    const winPath = copyDestinations("deploy/images/agent-windows.Dockerfile")
      .get("windows/k8s-attestor-windows-x64.exe")!;
    assert.ok(text.includes(`\${CONTAINER_SANDBOX_MOUNT_POINT}${winPath.replaceAll("/", "\\")}`), winPath);
  });

  it("names the chart version and commit the Helm values target", () => {
    const values = readRepoFile("deploy/helm/values.yaml");
    const version = values.match(/chart version (\S+)/)![1];
    const commit = values.match(/commit ([0-9a-f]{40})/)![1];
    assert.ok(text.includes(`**${version}**`) && text.includes(`--version ${version}`));
    assert.ok(text.includes(commit));
  });

  it("names every release binary and image the release workflow publishes", () => {
    for (const [task, command] of Object.entries(denoConfig.tasks)) {
      if (!task.startsWith("compile:")) continue;
      const file = command.match(/-o dist\/(\S+)/)![1];
      assert.ok(text.includes(`\`${file}\``), file);
    }
    const [release] = parseYamlDocuments(readRepoFile(".github/workflows/release.yml"), "release") as Record<
      string,
      // deno-lint-ignore no-explicit-any
      any
    >[];
    const yaml = JSON.stringify(release.jobs);
    const images = [...yaml.matchAll(/ghcr\.io\/\$\{\{ github\.repository_owner \}\}\/([a-z0-9-]+):/g)].map((
      m,
    ) => m[1]);
    assert.deepEqual(images.sort(), [
      "k8s-attestor-agent",
      "k8s-attestor-agent-windows",
      "k8s-attestor-plugin",
    ]);
    for (const image of images) assert.ok(text.includes(`ghcr.io/<owner>/${image}:vX.Y.Z`), image);
  });

  it("is linked from the main README", () => {
    assert.ok(readRepoFile("README.md").includes("(deploy/README.md)"));
  });
});
