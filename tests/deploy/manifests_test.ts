/**
 * deploy/ manifests: every document parses and validates against the Kubernetes schemas, the agent
 * configuration in them is accepted by the plugin's own config builder, and names, paths and the plugin name
 * agree across manifests, Dockerfiles and RBAC.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { posix, win32 } from "node:path";
import { buildConfig } from "../../mod.ts";
import {
  type AgentConf,
  copyDestinations,
  findObject,
  type K8sObject,
  MANIFEST_FILES,
  manifestObjects,
  parseAgentConf,
  readRepoFile,
  schemaProblems,
} from "./_deploy.ts";

const LINUX = "deploy/linux/spire-agent.yaml";
const WINDOWS = "deploy/windows/spire-agent-windows.yaml";

/** The agent.conf of a manifest's ConfigMap, parsed. */
function agentConfOf(objects: readonly K8sObject[]): AgentConf {
  const data = findObject(objects, "ConfigMap").data;
  assert.equal(typeof data?.["agent.conf"], "string");
  return parseAgentConf(data["agent.conf"]);
}

/** The only container of a DaemonSet. */
function agentContainer(ds: K8sObject): K8sObject {
  assert.equal(ds.spec.template.spec.containers.length, 1);
  return ds.spec.template.spec.containers[0];
}

/** Checks the k8s WorkloadAttestor of an agent.conf with the plugin's own builder. */
function checkPluginDeclaration(conf: AgentConf): Record<string, unknown> {
  const plugin = conf.plugins.WorkloadAttestor?.k8s;
  assert.ok(plugin, 'the plugin is declared as WorkloadAttestor "k8s" (its selectors are k8s:…)');
  assert.deepEqual(Object.keys(conf.plugins.WorkloadAttestor), ["k8s"]);
  assert.equal(typeof plugin.plugin_cmd, "string");
  assert.equal(typeof plugin.plugin_checksum, "string", "plugin_checksum is set");
  const { config, problems } = buildConfig(JSON.stringify(plugin.plugin_data ?? {}), {
    trustDomain: String(conf.agent.trust_domain),
  }, { getenv: (name) => (name === "MY_NODE_NAME" ? "node-1" : undefined) });
  assert.deepEqual(problems, []);
  assert.equal(config?.nodeName, "node-1", "the node name comes from MY_NODE_NAME");
  return plugin;
}

/** The env var the DaemonSet fills from the downward API `spec.nodeName`. */
function nodeNameEnv(container: K8sObject): string[] {
  return (container.env ?? []).filter((e: K8sObject) => e.valueFrom?.fieldRef?.fieldPath === "spec.nodeName")
    .map((e: K8sObject) => e.name);
}

describe("deploy/ manifests", () => {
  for (const file of MANIFEST_FILES) {
    it(`${file} validates against the Kubernetes schemas`, async () => {
      const objects = manifestObjects(file);
      assert.ok(objects.length > 0);
      assert.deepEqual(await schemaProblems(objects, file), []);
    });
  }

  it("the schema check finds a wrong value type, a missing field and a misspelt field", async () => {
    const original = findObject(manifestObjects(LINUX), "DaemonSet");
    const cases: [(ds: K8sObject) => void, RegExp][] = [
      [(ds) => ds.spec.template.spec.hostPID = "true", /hostPID must be boolean/],
      [(ds) => delete agentContainer(ds).name, /containers\/0 must have required property name/],
      [(ds) => ds.spec.template.spec.hostNetwrok = true, /field names: .*'"hostNetwrok"' does not exist/],
      [(ds) => agentContainer(ds).securityContext.readOnlyRootFs = true, /'"readOnlyRootFs"' does not exist/],
    ];
    for (const [breakIt, expected] of cases) {
      const ds = structuredClone(original);
      breakIt(ds);
      assert.match((await schemaProblems([ds], "broken")).join("\n"), expected);
    }
  });

  it("the Linux agent: hostPID, node name from the downward API, probes on the health listener", () => {
    const objects = manifestObjects(LINUX);
    const ds = findObject(objects, "DaemonSet");
    const pod = ds.spec.template.spec;
    assert.equal(pod.hostPID, true, "the plugin reads /proc/<pid>/ of workloads");
    assert.equal(pod.nodeSelector["kubernetes.io/os"], "linux");
    // plugin_checksum is the hash of one architecture's binary: the DaemonSet is limited to it.
    assert.equal(pod.nodeSelector["kubernetes.io/arch"], "amd64");
    assert.ok(readRepoFile(LINUX).includes("k8s-attestor-linux-x64.sha256"));
    assert.equal(pod.serviceAccountName, findObject(objects, "ServiceAccount").metadata.name);
    const container = agentContainer(ds);
    const conf = agentConfOf(objects);
    const plugin = checkPluginDeclaration(conf);
    const data = plugin.plugin_data as Record<string, unknown>;
    assert.deepEqual(nodeNameEnv(container), [data.node_name_env]);

    const health = conf.healthChecks!;
    assert.equal(health.listener_enabled, true);
    const port = container.ports.find((p: K8sObject) => p.name === container.livenessProbe.httpGet.port);
    assert.equal(String(port.containerPort), String(health.bind_port));
    assert.equal(container.livenessProbe.httpGet.path, health.live_path);
    assert.equal(container.readinessProbe.httpGet.path, health.ready_path);

    // The config file the agent is told to read is the ConfigMap's agent.conf, mounted there.
    const configPath = container.args[container.args.indexOf("-config") + 1];
    const mount = container.volumeMounts.find((m: K8sObject) => m.mountPath === posix.dirname(configPath));
    const volume = pod.volumes.find((v: K8sObject) => v.name === mount.name);
    assert.equal(volume.configMap.name, findObject(objects, "ConfigMap").metadata.name);
    assert.equal(posix.basename(configPath), "agent.conf");
    // Every path the agent writes or reads is on a mounted volume (the root filesystem is read-only).
    assert.equal(container.securityContext.readOnlyRootFilesystem, true);
    for (const key of ["data_dir", "socket_path", "trust_bundle_path"]) {
      const path = String(conf.agent[key]);
      assert.ok(
        container.volumeMounts.some((m: K8sObject) =>
          path.startsWith(`${m.mountPath}/`) || path === m.mountPath
        ),
        `${key} ${path} is on a volume`,
      );
    }
    // The plugin is where the agent image puts it.
    const dest = copyDestinations("deploy/images/agent.Dockerfile").get("${TARGETPLATFORM}/k8s-attestor");
    assert.equal(plugin.plugin_cmd, dest);
  });

  it("the Windows agent: hostprocess as SYSTEM, hostNetwork, paths under CONTAINER_SANDBOX_MOUNT_POINT", () => {
    const objects = manifestObjects(WINDOWS);
    const ds = findObject(objects, "DaemonSet");
    const pod = ds.spec.template.spec;
    assert.equal(pod.hostNetwork, true);
    assert.equal(pod.nodeSelector["kubernetes.io/os"], "windows");
    assert.equal(pod.securityContext.windowsOptions.hostProcess, true);
    assert.equal(pod.securityContext.windowsOptions.runAsUserName, "NT AUTHORITY\\SYSTEM");
    assert.equal(pod.serviceAccountName, findObject(objects, "ServiceAccount").metadata.name);
    const container = agentContainer(ds);
    assert.ok(container.command.includes("-expandEnv"), "${CONTAINER_SANDBOX_MOUNT_POINT} is expanded");
    const conf = agentConfOf(objects);
    const plugin = checkPluginDeclaration(conf);
    const data = plugin.plugin_data as Record<string, unknown>;
    assert.deepEqual(nodeNameEnv(container), [data.node_name_env]);

    // spire-agent -expandEnv, with the sandbox mount point of one container.
    const sandbox = "C:\\C\\0123abcd";
    const expand = (value: unknown) => String(value).replaceAll("${CONTAINER_SANDBOX_MOUNT_POINT}", sandbox);
    for (const path of [plugin.plugin_cmd, conf.agent.data_dir, conf.agent.trust_bundle_path]) {
      assert.ok(expand(path).startsWith(`${sandbox}\\`), `${path} is under the sandbox mount`);
    }
    const imagePath = copyDestinations("deploy/images/agent-windows.Dockerfile")
      .get("windows/k8s-attestor-windows-x64.exe")!;
    assert.equal(expand(plugin.plugin_cmd), win32.join(sandbox, imagePath));
    // The config file and the bundle are the mounted ConfigMaps (mount paths relative to the sandbox).
    const configPath = container.command[container.command.indexOf("-config") + 1];
    const mount = container.volumeMounts.find((m: K8sObject) => m.mountPath === win32.dirname(configPath));
    assert.equal(
      pod.volumes.find((v: K8sObject) => v.name === mount.name).configMap.name,
      "spire-agent-windows",
    );
    const bundleDir = win32.dirname(expand(conf.agent.trust_bundle_path));
    assert.ok(container.volumeMounts.some((m: K8sObject) => win32.join(sandbox, m.mountPath) === bundleDir));
    const psatToken = expand(single(conf.plugins.NodeAttestor.k8s_psat.plugin_data).token_path);
    const tokenMount = container.volumeMounts.find((m: K8sObject) => m.name === "spire-token");
    assert.equal(win32.dirname(psatToken), win32.join(sandbox, tokenMount.mountPath));
  });

  it("RBAC: each mode grants get on the kubelet subresource it authorizes /pods with, to the agent", () => {
    const agentSa = findObject(manifestObjects(LINUX), "ServiceAccount");
    for (
      const [file, subresource] of [
        ["deploy/linux/rbac-nodes-proxy.yaml", "nodes/proxy"],
        ["deploy/linux/rbac-nodes-pods.yaml", "nodes/pods"],
      ] as const
    ) {
      const objects = manifestObjects(file);
      const role = findObject(objects, "ClusterRole");
      assert.deepEqual(role.rules, [{ apiGroups: [""], resources: [subresource, "nodes"], verbs: ["get"] }]);
      const binding = findObject(objects, "ClusterRoleBinding");
      assert.equal(binding.roleRef.name, role.metadata.name);
      assert.deepEqual(binding.subjects, [
        { kind: "ServiceAccount", name: agentSa.metadata.name, namespace: agentSa.metadata.namespace },
      ]);
    }
    const windows = manifestObjects(WINDOWS);
    const binding = findObject(windows, "ClusterRoleBinding");
    const sa = findObject(windows, "ServiceAccount");
    assert.deepEqual(binding.subjects, [{
      kind: "ServiceAccount",
      name: sa.metadata.name,
      namespace: "spire",
    }]);
    assert.ok(findObject(windows, "ClusterRole").rules[0].resources.includes("nodes/proxy"));
  });

  it("RBAC for the API server features: namespaces get, pods get/list, SubjectAccessReview create; the broker's own verb", () => {
    const agentSa = findObject(manifestObjects(LINUX), "ServiceAccount");
    const objects = manifestObjects("deploy/linux/rbac-apiserver-features.yaml");
    const role = findObject(objects, "ClusterRole", "spire-agent-k8s-attestor-apiserver");
    assert.deepEqual(role.rules, [
      { apiGroups: [""], resources: ["namespaces"], verbs: ["get"] },
      { apiGroups: [""], resources: ["pods"], verbs: ["get", "list"] },
      { apiGroups: ["authorization.k8s.io"], resources: ["subjectaccessreviews"], verbs: ["create"] },
    ]);
    const binding = findObject(objects, "ClusterRoleBinding", "spire-agent-k8s-attestor-apiserver");
    assert.equal(binding.roleRef.name, role.metadata.name);
    assert.deepEqual(binding.subjects, [
      { kind: "ServiceAccount", name: agentSa.metadata.name, namespace: agentSa.metadata.namespace },
    ]);
    const broker = findObject(objects, "ClusterRole", "spire-broker-impersonation");
    assert.deepEqual(broker.rules, [{
      apiGroups: [""],
      resources: ["pods"],
      verbs: ["impersonate-via-spire"],
    }]);
    assert.ok(!JSON.stringify(objects).includes('"impersonate"'), "never Kubernetes' own impersonate verb");
    const brokerBinding = findObject(objects, "ClusterRoleBinding", "spire-broker-impersonation");
    assert.deepEqual(brokerBinding.subjects, [
      { apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "spiffe://example.org/broker" },
    ]);
  });
});

function single(value: unknown): Record<string, unknown> {
  return value as Record<string, unknown>;
}
