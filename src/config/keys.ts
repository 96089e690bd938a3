/**
 * The table of `plugin_data` keys: name, type, default and a one-line description. The config builder
 * takes the set of known keys from here and `--help` prints it with {@linkcode formatConfigHelp}.
 *
 * @module
 */

/** The value type of a configuration key, as written in HCL. */
export type ConfigKeyType =
  | "bool"
  | "int"
  | "string"
  | "duration"
  | "list(string)"
  | "map(string => list(string))"
  | "block"
  | "list(block)"
  | "map(string => {username, password})";

/** One configuration key. Nested keys use a dotted path, e.g. `experimental.sigstore.rekor_url`. */
export interface ConfigKeySpec {
  /** The dotted key path (lowercase; keys are matched case-insensitively). */
  readonly name: string;
  /** The HCL value type. */
  readonly type: ConfigKeyType;
  /** The default, as text ("" when there is none). */
  readonly default: string;
  /** One line of documentation. */
  readonly doc: string;
}

/** Every key the plugin accepts, in documentation order. */
export const CONFIG_KEYS: readonly ConfigKeySpec[] = Object.freeze(
  ([
    {
      name: "disable_container_selectors",
      type: "bool",
      default: "false",
      doc: "Produce pod selectors only (no container selectors).",
    },
    {
      name: "disable_kubelet_client",
      type: "bool",
      default: "false",
      doc:
        "Never contact the kubelet (broker-only agents): PID attestation and agent_node pod references then fail; excludes every kubelet key.",
    },
    {
      name: "enable_namespace_labels",
      type: "bool",
      default: "false",
      doc:
        "Add ns-label:<key>:<value> selectors from the pod's namespace (API server; RBAC get on namespaces).",
    },
    {
      name: "kubelet_read_only_port",
      type: "int",
      default: "",
      doc: "Kubelet read-only port (plain HTTP on 127.0.0.1); excludes kubelet_secure_port.",
    },
    {
      name: "kubelet_secure_port",
      type: "int",
      default: "10250",
      doc: "Kubelet secure (HTTPS) port; used when kubelet_read_only_port is not set.",
    },
    {
      name: "kubelet_ca_path",
      type: "string",
      default: "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
      doc: "CA bundle (PEM) that verifies the kubelet certificate.",
    },
    {
      name: "skip_kubelet_verification",
      type: "bool",
      default: "false",
      doc: "Do not verify the kubelet certificate (insecure).",
    },
    {
      name: "token_path",
      type: "string",
      default: "/var/run/secrets/kubernetes.io/serviceaccount/token",
      doc: "Bearer token file used to authenticate to the kubelet.",
    },
    {
      name: "certificate_path",
      type: "string",
      default: "",
      doc: "Client certificate (PEM) for kubelet mTLS; needs private_key_path.",
    },
    {
      name: "private_key_path",
      type: "string",
      default: "",
      doc: "Client private key (PEM) for kubelet mTLS; needs certificate_path.",
    },
    {
      name: "use_anonymous_authentication",
      type: "bool",
      default: "false",
      doc: "Send no credentials to the kubelet; excludes token_path and the certificate/key.",
    },
    {
      name: "node_name_env",
      type: "string",
      default: "MY_NODE_NAME",
      doc: "Environment variable that holds the node name.",
    },
    {
      name: "node_name",
      type: "string",
      default: "",
      doc: "Node name; overrides node_name_env. Without one the kubelet is reached on 127.0.0.1.",
    },
    {
      name: "max_poll_attempts",
      type: "int",
      default: "60",
      doc: "How many times to look for the workload's pod before failing (> 0).",
    },
    {
      name: "poll_retry_interval",
      type: "duration",
      default: "500ms",
      doc: "Wait between pod look-ups (Go duration, > 0).",
    },
    {
      name: "reload_interval",
      type: "duration",
      default: "1m",
      doc: "How often the CA, certificate, key and token files are re-read (Go duration, > 0).",
    },
    {
      name: "use_new_container_locator",
      type: "bool",
      default: "true",
      doc: "Find container IDs with the new cgroup/mountinfo locator (false: legacy regexes).",
    },
    {
      name: "kubelet_cgroup_root",
      type: "string",
      default: "",
      doc:
        "The kubelet's --cgroup-root (cgroupfs form, e.g. /kubelet): pod and container IDs are taken only from cgroup paths under its pod cgroups (unset: /, /kubelet and /kubepods).",
    },
    {
      name: "verbose_container_locator_logs",
      type: "bool",
      default: "false",
      doc: "Log what the container locator enumerates (debug level).",
    },
    {
      name: "experimental",
      type: "block",
      default: "",
      doc: "Experimental options, subject to change or removal.",
    },
    {
      name: "experimental.sigstore",
      type: "block",
      default: "",
      doc: "Sigstore image-signature options; the block's presence enables them.",
    },
    {
      name: "experimental.sigstore.skip_signature_verification_image_list",
      type: "list(string)",
      default: "[]",
      doc: "Image IDs (digests) that skip signature verification.",
    },
    {
      name: "experimental.sigstore.allowed_subjects_list",
      type: "map(string => list(string))",
      default: "{}",
      doc: "OIDC issuer => subjects allowed to sign images.",
    },
    {
      name: "experimental.sigstore.rekor_url",
      type: "string",
      default: "",
      doc: "Rekor transparency log URL (https, required when the sigstore block is present).",
    },
    {
      name: "experimental.sigstore.enforce_sct",
      type: "bool",
      default: "true",
      doc: "Require a certificate transparency timestamp (false for private deployments).",
    },
    {
      name: "experimental.api_server",
      type: "block",
      default: "",
      doc: "Kubernetes API server options.",
    },
    {
      name: "experimental.api_server.cache",
      type: "block",
      default: "",
      doc: "API server lookup cache.",
    },
    {
      name: "experimental.api_server.cache.enabled",
      type: "bool",
      default: "false",
      doc: "Accepted as upstream; object lookups stay live here (no watch-backed cache; see README).",
    },
    {
      name: "experimental.broker",
      type: "block",
      default: "",
      doc: "SPIFFE Broker API (AttestReference) options; needed when a broker calls.",
    },
    {
      name: "experimental.broker.access_policy",
      type: "string",
      default: "",
      doc: 'Required: "enforced" (a SubjectAccessReview for every resolved object) or "permissive" (none).',
    },
    {
      name: "experimental.broker.brokers",
      type: "list(block)",
      default: "",
      doc: "The brokers allowed to call, at least one: [{ id = ..., pod_reference_scope = ... }].",
    },
    {
      name: "experimental.broker.brokers.id",
      type: "string",
      default: "",
      doc: "The broker's SPIFFE ID (required, unique).",
    },
    {
      name: "experimental.broker.brokers.pod_reference_scope",
      type: "string",
      default: "agent_node",
      doc: 'Where pod references resolve: "agent_node" (the kubelet\'s pod list) or "cluster" (API server).',
    },
    {
      name: "sigstore",
      type: "block",
      default: "",
      doc: "Sigstore image verification, current SPIRE form; excludes experimental.sigstore.",
    },
    {
      name: "sigstore.allowed_identities",
      type: "map(string => list(string))",
      default: "",
      doc:
        "Required. OIDC issuer => subjects allowed to sign; a string with any of *+?^${}[]|() is a Go regex, matched unanchored.",
    },
    {
      name: "sigstore.skipped_images",
      type: "list(string)",
      default: "[]",
      doc: "Image IDs that skip verification (they get no sigstore selectors).",
    },
    {
      name: "sigstore.rekor_url",
      type: "string",
      default: "https://rekor.sigstore.dev",
      doc: "Rekor transparency log URL (https).",
    },
    {
      name: "sigstore.ignore_sct",
      type: "bool",
      default: "false",
      doc: "Do not require a certificate transparency timestamp.",
    },
    {
      name: "sigstore.ignore_tlog",
      type: "bool",
      default: "false",
      doc: "Verify without the Rekor log (no log selectors); logged as a warning.",
    },
    {
      name: "sigstore.ignore_attestations",
      type: "bool",
      default: "false",
      doc: "Do not verify attestations (no image-attestations:verified).",
    },
    {
      name: "sigstore.registry_credentials",
      type: "map(string => {username, password})",
      default: "{}",
      doc: "Registry host => credentials; precede the docker config.json for that registry.",
    },
  ] satisfies ConfigKeySpec[]).map((k) => Object.freeze(k)),
);

/**
 * Returns the names of the keys directly under `parent` ("" for the top level), in table order.
 *
 * @param parent A dotted block path, or "" for the top level.
 * @returns The child key names (last path segment only).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { childKeys } from "./keys.ts";
 * assert.deepEqual(childKeys("experimental"), ["sigstore", "api_server", "broker"]);
 * ```
 */
export function childKeys(parent: string): string[] {
  const prefix = parent === "" ? "" : `${parent}.`;
  return CONFIG_KEYS
    .filter((k) => k.name.startsWith(prefix) && !k.name.slice(prefix.length).includes("."))
    .map((k) => k.name.slice(prefix.length));
}

/**
 * Formats the key table for `--help`: one line per key with its type, default and description.
 *
 * @returns Multi-line text, ending with a newline.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatConfigHelp } from "./keys.ts";
 * assert.match(formatConfigHelp(), /kubelet_secure_port/);
 * ```
 */
export function formatConfigHelp(): string {
  const rows = CONFIG_KEYS.map((k) => {
    const depth = k.name.split(".").length - 1;
    const name = "  ".repeat(depth) + k.name.split(".").at(-1)!;
    const def = k.default === "" ? "" : ` (default ${k.default})`;
    return { name, type: k.type, rest: `${k.doc}${def}` };
  });
  const nameWidth = Math.max(...rows.map((r) => r.name.length));
  const typeWidth = Math.max(...rows.map((r) => r.type.length));
  const lines = [
    "Configuration keys (plugin_data, HCL v1 or JSON; keys are case-insensitive):",
    ...rows.map((r) => `  ${r.name.padEnd(nameWidth)}  ${r.type.padEnd(typeWidth)}  ${r.rest}`),
    "",
    "Durations use Go syntax (e.g. 500ms, 1m30s; units ns, us, ms, s, m, h).",
    'Blocks: experimental { sigstore { rekor_url = "https://..." ... } } (seed form) or',
    '  sigstore { allowed_identities = { "<issuer>" = ["<subject>"] } ... } (current form); not both.',
    'experimental { broker { access_policy = "enforced", brokers = [{ id = "spiffe://..." }] } }.',
  ];
  return lines.join("\n") + "\n";
}
