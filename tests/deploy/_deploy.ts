/**
 * Test helper for deploy/: reads the manifests (YAML, every document), the agent configuration inside their
 * ConfigMaps (HCL, parsed with the same hashicorp/hcl v1 build the plugin uses), the Dockerfiles and the Helm
 * values, and validates Kubernetes objects with `kubernetes-models` (values) and its TypeScript types
 * (field names: the models' runtime validators accept unknown fields, `tsc` excess-property checks do not).
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import hcl from "js-hcl-parser";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { ServiceAccount } from "kubernetes-models/v1/ServiceAccount";
import { DaemonSet } from "kubernetes-models/apps/v1/DaemonSet";
import { ClusterRole } from "kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole";
import { ClusterRoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding";
import { REPO_ROOT } from "../../src/testing/plugin_process.ts";

/** A parsed Kubernetes object (as read from YAML). */
// deno-lint-ignore no-explicit-any
export type K8sObject = Record<string, any>;

/** The manifests under deploy/, relative to the repository root. */
export const MANIFEST_FILES = [
  "deploy/linux/spire-agent.yaml",
  "deploy/linux/rbac-nodes-proxy.yaml",
  "deploy/linux/rbac-nodes-pods.yaml",
  "deploy/linux/rbac-apiserver-features.yaml",
  "deploy/windows/spire-agent-windows.yaml",
] as const;

/** For each `apiVersion kind` the manifests may use: the model class and its type (module, interface). */
export const MODELS: Record<string, { model: { new (data: never): { validate(): void } }; types: string }> = {
  "v1 ServiceAccount": {
    model: ServiceAccount,
    types: "kubernetes-models/v1/ServiceAccount#IServiceAccount",
  },
  "v1 ConfigMap": { model: ConfigMap, types: "kubernetes-models/v1/ConfigMap#IConfigMap" },
  "apps/v1 DaemonSet": { model: DaemonSet, types: "kubernetes-models/apps/v1/DaemonSet#IDaemonSet" },
  "rbac.authorization.k8s.io/v1 ClusterRole": {
    model: ClusterRole,
    types: "kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole#IClusterRole",
  },
  "rbac.authorization.k8s.io/v1 ClusterRoleBinding": {
    model: ClusterRoleBinding,
    types: "kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding#IClusterRoleBinding",
  },
};

/** Reads a repository file as text. */
export function readRepoFile(path: string): string {
  return Deno.readTextFileSync(join(REPO_ROOT, path));
}

/**
 * Parses every YAML document of a text; any YAML error or warning fails.
 *
 * @param text YAML, one or more documents.
 * @param name Named in failures.
 * @returns The documents as plain values.
 */
export function parseYamlDocuments(text: string, name: string): unknown[] {
  return parseAllDocuments(text, { uniqueKeys: true, strict: true }).map((doc, i) => {
    const issues = [...doc.errors, ...doc.warnings].map((e) => e.message);
    assert.deepEqual(issues, [], `${name} document ${i + 1}`);
    return doc.toJS();
  });
}

/** The Kubernetes objects of a manifest file under deploy/. */
export function manifestObjects(path: string): K8sObject[] {
  return parseYamlDocuments(readRepoFile(path), path) as K8sObject[];
}

/** The one object of `kind` (and `name`, if given) in `objects`. */
export function findObject(objects: readonly K8sObject[], kind: string, name?: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata?.name === name));
  assert.equal(found.length, 1, `exactly one ${kind}${name ? ` ${name}` : ""}`);
  return found[0];
}

/**
 * Validates objects against the Kubernetes schemas: the model's own validator (types, required fields,
 * formats) for each, then one `deno check` of all of them typed with the models' interfaces, which rejects
 * any field name the API does not have.
 *
 * @param objects The objects.
 * @param label Named in failures.
 * @returns The problems; empty when every object is valid.
 */
export async function schemaProblems(objects: readonly K8sObject[], label: string): Promise<string[]> {
  const problems: string[] = [];
  const lines: string[] = [];
  const imports = new Set<string>();
  objects.forEach((object, i) => {
    const key = `${object.apiVersion} ${object.kind}`;
    const entry = MODELS[key];
    if (!entry) {
      problems.push(`${label} #${i + 1}: no schema for ${key}`);
      return;
    }
    try {
      new entry.model(object as never).validate();
    } catch (err) {
      problems.push(`${label} #${i + 1} ${key}: ${err instanceof Error ? err.message : err}`);
    }
    const [module, type] = entry.types.split("#");
    imports.add(`import type { ${type} } from "${module}";`);
    lines.push(`export const o${i}: ${type} = ${JSON.stringify(object)};`);
  });
  const dir = await Deno.makeTempDir({ prefix: "k8s-attestor-deploy-types-" });
  try {
    const file = join(dir, "objects.ts");
    await Deno.writeTextFile(file, [...imports, ...lines].join("\n") + "\n");
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["check", "--quiet", "--config", join(REPO_ROOT, "deno.json"), file],
      cwd: REPO_ROOT,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (out.code !== 0) {
      const text = new TextDecoder().decode(out.stderr);
      const errors = text.split("\n").filter((l) => /TS\d+/.test(l));
      problems.push(`${label}: field names: ${errors.join("; ") || text}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  return problems;
}

/** A spire-agent configuration (HCL) as hashicorp/hcl v1 decodes it. */
export interface AgentConf {
  /** The `agent` block. */
  readonly agent: Record<string, unknown>;
  /** `plugins`: type → name → plugin settings. */
  readonly plugins: Record<string, Record<string, Record<string, unknown>>>;
  /** The `health_checks` block, if any. */
  readonly healthChecks: Record<string, unknown> | undefined;
}

function single(value: unknown, what: string): Record<string, unknown> {
  assert.ok(Array.isArray(value) && value.length === 1, `${what} appears exactly once`);
  return value[0] as Record<string, unknown>;
}

/**
 * Parses a spire-agent configuration. `plugin_data` blocks come back as objects.
 *
 * @param text The HCL text of `agent.conf`.
 * @returns The agent block, plugins and health checks.
 */
export function parseAgentConf(text: string): AgentConf {
  const tree = JSON.parse(hcl.parse(text)) as Record<string, unknown>;
  const plugins: AgentConf["plugins"] = {};
  for (const [type, byName] of Object.entries(single(tree.plugins, "plugins"))) {
    plugins[type] = {};
    for (const entry of byName as Record<string, unknown[]>[]) {
      for (const [name, body] of Object.entries(entry)) {
        const settings = { ...single(body, `${type} "${name}"`) };
        if (settings.plugin_data !== undefined) {
          settings.plugin_data = single(settings.plugin_data, "plugin_data");
        }
        plugins[type][name] = settings;
      }
    }
  }
  const healthChecks = tree.health_checks === undefined
    ? undefined
    : single(tree.health_checks, "health_checks");
  return { agent: single(tree.agent, "agent"), plugins, healthChecks };
}

/** A Dockerfile's instructions, in order (continuation lines joined, comments dropped). */
export function dockerfileInstructions(path: string): { op: string; args: string }[] {
  const text = readRepoFile(path).replace(/\\\n/g, " ");
  return text.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#")).map((l) => {
    const [op, ...rest] = l.split(/\s+/);
    return { op: op.toUpperCase(), args: rest.join(" ") };
  });
}

/** The destination paths of a Dockerfile's COPY instructions, by source. */
export function copyDestinations(path: string): Map<string, string> {
  const copies = new Map<string, string>();
  for (const { op, args } of dockerfileInstructions(path)) {
    if (op !== "COPY") continue;
    const words = args.split(/\s+/).filter((w) => !w.startsWith("--"));
    assert.equal(words.length, 2, `${path}: COPY with one source: ${args}`);
    copies.set(words[0], words[1]);
  }
  return copies;
}
