/**
 * deploy/helm/values.yaml and deploy/images/: the values render into the keys the spiffe chart reads, and
 * the images carry the files the manifests and the chart expect.
 *
 * The chart's rules are written down here from spiffe/helm-charts-hardened at commit
 * 8a28a1b94fa93c4d7729eedff20e5497604b088f (chart `spire` 0.30.0, appVersion 1.15.3), because helm is not
 * installable on the build machines (not in Debian) and the chart cannot be downloaded during tests:
 * - `charts/spire/charts/spire-agent/templates/configmap.yaml`: a customPlugins type must be one of four;
 *   `plugin_cmd` and `plugin_checksum` are required; any key besides those, `plugin_data` and `image` fails.
 * - `charts/spire-lib/templates/_helpers.tpl` (`spire-lib.config_merge`): the type is capitalised
 *   (`workloadAttestor` → `WorkloadAttestor`); with `image`, `plugin_cmd` becomes `/plugins/<type>/<name>`;
 *   the built-in plugins' config is merged with `mustMerge`, where the built-in entry wins, so the built-in
 *   `k8s` must be disabled for ours to be used.
 * - `charts/spire/charts/spire-agent/templates/daemonset.yaml`: one init container per plugin image runs
 *   `/plugins/busybox cp -a <plugin_cmd> /plugins/<type>/<name>` in that image; `image.pullPolicy` is used.
 * - `values.yaml`: the top-level keys used below exist (`image`, `workloadAttestors`, `customPlugins`,
 *   `extraEnvVars`).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildConfig } from "../../mod.ts";
import {
  copyDestinations,
  dockerfileInstructions,
  findObject,
  manifestObjects,
  parseYamlDocuments,
  readRepoFile,
} from "./_deploy.ts";

// deno-lint-ignore no-explicit-any
type Values = Record<string, any>;

const CHART_VERSION = "0.30.0";
const CHART_APP_VERSION = "1.15.3";
const CHART_AGENT_KEYS = new Set([
  "image",
  "workloadAttestors",
  "customPlugins",
  "extraEnvVars",
  "hostNetwork",
  "nodeSelector",
  "resources",
  "securityContext",
]);
const PLUGIN_TYPES = ["keyManager", "nodeAttestor", "svidStore", "workloadAttestor"];
const PLUGIN_KEYS = ["plugin_cmd", "plugin_checksum", "plugin_data", "image"];
const IMAGE_KEYS = ["registry", "repository", "tag", "pullPolicy"];

/** The chart's rendering of customPlugins into agent.conf's `plugins` (see the module documentation). */
function renderCustomPlugins(agent: Values): Record<string, Record<string, Values>> {
  const rendered: Record<string, Record<string, Values>> = {};
  for (const [type, instances] of Object.entries(agent.customPlugins ?? {}) as [string, Values][]) {
    if (!PLUGIN_TYPES.includes(type)) throw new Error(`Unknown plugin type specified: ${type}`);
    for (const [name, settings] of Object.entries(instances) as [string, Values][]) {
      if (!("plugin_cmd" in settings)) throw new Error(`plugin_cmd is a required field. ${name}`);
      if (!("plugin_checksum" in settings)) throw new Error("plugin_checksum is a required field.");
      for (const key of Object.keys(settings)) {
        if (!PLUGIN_KEYS.includes(key)) throw new Error(`Unknown plugin setting specified: ${key}`);
      }
      const typeName = type === "svidStore" ? "SVIDStore" : type[0].toUpperCase() + type.slice(1);
      const { image, ...config } = structuredClone(settings);
      if (image && config.plugin_cmd) config.plugin_cmd = `/plugins/${type}/${name}`;
      (rendered[typeName] ??= {})[name] = config;
    }
  }
  return rendered;
}

function values(): Values {
  const [doc] = parseYamlDocuments(readRepoFile("deploy/helm/values.yaml"), "values.yaml") as Values[];
  return doc;
}

describe("Helm values for spiffe/helm-charts-hardened", () => {
  it(`name the chart version they target (${CHART_VERSION})`, () => {
    const text = readRepoFile("deploy/helm/values.yaml");
    assert.ok(text.includes(`chart version ${CHART_VERSION}`));
    assert.ok(text.includes(`--version ${CHART_VERSION}`));
  });

  it("use only keys the chart reads", () => {
    const agent = values()["spire-agent"];
    assert.deepEqual(Object.keys(values()), ["spire-agent"]);
    for (const key of Object.keys(agent)) assert.ok(CHART_AGENT_KEYS.has(key), `spire-agent.${key}`);
    const plugin = agent.customPlugins.workloadAttestor.k8s;
    for (const key of Object.keys(plugin.image)) assert.ok(IMAGE_KEYS.includes(key), `image.${key}`);
  });

  it("render into a WorkloadAttestor k8s that the plugin's config builder accepts", () => {
    const agent = values()["spire-agent"];
    assert.equal(agent.workloadAttestors.k8s.enabled, false, "the built-in k8s would win the merge");
    const rendered = renderCustomPlugins(agent);
    assert.deepEqual(Object.keys(rendered), ["WorkloadAttestor"]);
    const k8s = rendered.WorkloadAttestor.k8s;
    assert.equal(k8s.plugin_cmd, "/plugins/workloadAttestor/k8s");
    assert.match(String(k8s.plugin_checksum), /^(PLUGIN_SHA256|[0-9a-f]{64})$/);
    const env = agent.extraEnvVars.find((e: Values) => e.valueFrom?.fieldRef?.fieldPath === "spec.nodeName");
    assert.equal(env.name, k8s.plugin_data.node_name_env);
    assert.deepEqual(
      agent.nodeSelector,
      { "kubernetes.io/arch": "amd64" },
      "the checksum is the amd64 binary's",
    );
    const { config, problems } = buildConfig(
      JSON.stringify(k8s.plugin_data),
      { trustDomain: "example.org" },
      {
        getenv: (name) => (name === env.name ? "node-1" : undefined),
      },
    );
    assert.deepEqual(problems, []);
    assert.equal(config?.nodeName, "node-1");
  });

  it("the render check refuses what the chart refuses", () => {
    const agent = values()["spire-agent"];
    const broken = structuredClone(agent);
    broken.customPlugins.workloadAttestor.k8s.plugin_args = ["--transport", "tcp"];
    assert.throws(() => renderCustomPlugins(broken), /Unknown plugin setting specified: plugin_args/);
    const noChecksum = structuredClone(agent);
    delete noChecksum.customPlugins.workloadAttestor.k8s.plugin_checksum;
    assert.throws(() => renderCustomPlugins(noChecksum), /plugin_checksum is a required field/);
  });

  it("copy the plugin from where the plugin image has it, and run the agent on the glibc agent image", () => {
    const agent = values()["spire-agent"];
    const plugin = agent.customPlugins.workloadAttestor.k8s;
    const pluginImagePaths = [...copyDestinations("deploy/images/plugin.Dockerfile").values()];
    assert.ok(pluginImagePaths.includes(plugin.plugin_cmd), `${plugin.plugin_cmd} is in the plugin image`);
    assert.equal(plugin.image.repository.split("/").at(-1), "k8s-attestor-plugin");
    assert.equal(agent.image.repository.split("/").at(-1), "k8s-attestor-agent");
    const linuxImage =
      findObject(manifestObjects("deploy/linux/spire-agent.yaml"), "DaemonSet").spec.template.spec
        .containers[0].image;
    assert.match(linuxImage, /\/k8s-attestor-agent:/);
  });
});

describe("deploy/images Dockerfiles", () => {
  const files = ["plugin", "agent", "agent-windows"].map((n) => `deploy/images/${n}.Dockerfile`);

  it("have no RUN step (the release builds them for other platforms without emulation)", () => {
    for (const file of files) {
      assert.deepEqual(dockerfileInstructions(file).filter((i) => i.op === "RUN"), [], file);
    }
  });

  it("the plugin image holds only the binary and its .sha256, runs as non-root", () => {
    const steps = dockerfileInstructions("deploy/images/plugin.Dockerfile");
    assert.deepEqual(steps.filter((s) => s.op === "FROM").map((s) => s.args), ["scratch"]);
    assert.deepEqual([...copyDestinations("deploy/images/plugin.Dockerfile").values()], [
      "/k8s-attestor",
      "/k8s-attestor.sha256",
    ]);
    const user = steps.find((s) => s.op === "USER")?.args ?? "";
    assert.match(user, /^[1-9]\d*:[1-9]\d*$/, "numeric non-root (the chart sets runAsNonRoot)");
  });

  it("the agent image puts spire-agent from the official image of the chart's version onto a glibc base", () => {
    const steps = dockerfileInstructions("deploy/images/agent.Dockerfile");
    const froms = steps.filter((s) => s.op === "FROM").map((s) => s.args);
    assert.equal(froms.length, 2);
    assert.equal(froms[0], "ghcr.io/spiffe/spire-agent:${SPIRE_VERSION} AS spire");
    assert.match(froms[1], /^gcr\.io\/distroless\/cc-/, "distroless cc: glibc and libgcc_s");
    assert.ok(steps.some((s) => s.op === "ARG" && s.args === `SPIRE_VERSION=${CHART_APP_VERSION}`));
    assert.ok(
      steps.some((s) => s.op === "COPY" && s.args.startsWith("--from=spire /opt/spire/bin/spire-agent ")),
    );
    const entry = steps.find((s) => s.op === "ENTRYPOINT")?.args;
    assert.equal(entry, '["/opt/spire/bin/spire-agent", "run"]', "the official image's entrypoint");
    const release = readRepoFile(".github/workflows/release.yml");
    assert.ok(release.includes(`SPIRE_VERSION: ${CHART_APP_VERSION}`), "the release builds the same version");
  });

  it("the Windows agent image holds spire-agent.exe and the plugin under plugins\\", () => {
    const copies = copyDestinations("deploy/images/agent-windows.Dockerfile");
    assert.equal(copies.get("windows/spire-agent.exe"), "/spire-agent.exe");
    assert.equal(copies.get("windows/k8s-attestor-windows-x64.exe"), "/plugins/k8s-attestor-windows-x64.exe");
    const ds = findObject(manifestObjects("deploy/windows/spire-agent-windows.yaml"), "DaemonSet");
    assert.equal(ds.spec.template.spec.containers[0].command[0], "spire-agent.exe");
  });
});
