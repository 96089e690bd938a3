/**
 * The `--help` text: usage, subcommands, plugin-mode environment and every `plugin_data` key with its
 * default.
 *
 * @module
 */

/** One documented configuration key. */
export interface HelpKey {
  /** The key as written in `plugin_data` (dotted for nested blocks). */
  readonly key: string;
  /** The HCL type. */
  readonly type: string;
  /** The default, as it would be written in HCL, or a phrase. */
  readonly default: string;
  /** What the key does. */
  readonly description: string;
}

/** The `plugin_data` keys, in the order of the upstream documentation. */
export const HELP_KEYS: readonly HelpKey[] = [
  {
    key: "disable_container_selectors",
    type: "bool",
    default: "false",
    description: "Produce pod selectors only, no container selectors.",
  },
  {
    key: "kubelet_read_only_port",
    type: "int",
    default: "unset",
    description: "Kubelet read-only port (plain HTTP on 127.0.0.1). Excludes kubelet_secure_port.",
  },
  {
    key: "kubelet_secure_port",
    type: "int",
    default: "10250",
    description: "Kubelet secure (HTTPS) port, used unless kubelet_read_only_port is set.",
  },
  {
    key: "kubelet_ca_path",
    type: "string",
    default: '"/run/secrets/kubernetes.io/serviceaccount/ca.crt"',
    description: "CA bundle that verifies the kubelet certificate (unless skip_kubelet_verification).",
  },
  {
    key: "skip_kubelet_verification",
    type: "bool",
    default: "false",
    description: "Do not verify the kubelet certificate.",
  },
  {
    key: "token_path",
    type: "string",
    default: '"/run/secrets/kubernetes.io/serviceaccount/token"',
    description: "Bearer token for kubelet authentication (used when no client certificate is set).",
  },
  {
    key: "certificate_path",
    type: "string",
    default: "unset",
    description: "Client certificate (PEM) for kubelet authentication; needs private_key_path.",
  },
  {
    key: "private_key_path",
    type: "string",
    default: "unset",
    description: "Client private key (PEM) for kubelet authentication; needs certificate_path.",
  },
  {
    key: "use_anonymous_authentication",
    type: "bool",
    default: "false",
    description: "Talk to the kubelet without credentials (discouraged).",
  },
  {
    key: "node_name_env",
    type: "string",
    default: '"MY_NODE_NAME"',
    description: "Environment variable that holds the node name.",
  },
  {
    key: "node_name",
    type: "string",
    default: "unset",
    description: "The node name; overrides node_name_env. Without one, the kubelet is reached on 127.0.0.1.",
  },
  {
    key: "max_poll_attempts",
    type: "int",
    default: "60",
    description: "How many times the kubelet pod list is polled for the workload's pod.",
  },
  {
    key: "poll_retry_interval",
    type: "duration",
    default: '"500ms"',
    description: "Time between polls (Go duration syntax: 300ms, 1.5s, 2m).",
  },
  {
    key: "reload_interval",
    type: "duration",
    default: '"1m"',
    description: "How often the CA, certificate, key and token files are re-read.",
  },
  {
    key: "use_new_container_locator",
    type: "bool",
    default: "true",
    description: "Use the new cgroup/mountinfo container locator (false: the legacy one). Linux only.",
  },
  {
    key: "verbose_container_locator_logs",
    type: "bool",
    default: "false",
    description: "Log what the container locator considered (debug level).",
  },
  {
    key: "experimental.sigstore.skip_signature_verification_image_list",
    type: "list(string)",
    default: "[]",
    description: "Image digests that skip signature verification.",
  },
  {
    key: "experimental.sigstore.allowed_subjects_list",
    type: "map(list(string))",
    default: "{}",
    description: "OIDC issuer URL -> subjects allowed to sign images.",
  },
  {
    key: "experimental.sigstore.rekor_url",
    type: "string",
    default: "required",
    description: "Rekor transparency log URL (https), e.g. https://rekor.sigstore.dev.",
  },
  {
    key: "experimental.sigstore.enforce_sct",
    type: "bool",
    default: "true",
    description: "Require a certificate transparency timestamp; false for private deployments.",
  },
];

/**
 * Renders the full `--help` text.
 *
 * @example
 * ```ts
 * import { helpText } from "./help.ts";
 * console.assert(helpText("k8s-attestor").includes("kubelet_secure_port"));
 * ```
 *
 * @param program The program name shown in the usage lines.
 * @returns The text, ending with a newline.
 */
export function helpText(program: string): string {
  const width = Math.max(...HELP_KEYS.map((k) => k.key.length));
  const keys = HELP_KEYS.map((k) =>
    `  ${k.key.padEnd(width)}  ${k.type}, default ${k.default}\n  ${" ".repeat(width)}  ${k.description}`
  ).join("\n");
  return `${program}: a SPIRE WorkloadAttestor plugin for Kubernetes (selector type = the plugin name, e.g. k8s)

Usage:
  ${program}                      serve the plugin (started by spire-agent, see below)
  ${program} locate [options]     show how a PID maps to a pod and container (run "${program} locate --help")
  ${program} --version            print version, Deno version, target and platform
  ${program} --help               print this help

Plugin mode:
  spire-agent starts the plugin itself; running it by hand only prints an explanation. The agent sets
  WorkloadAttestor=WorkloadAttestor (the go-plugin cookie) and PLUGIN_PROTOCOL_VERSIONS, PLUGIN_MIN_PORT,
  PLUGIN_MAX_PORT. The plugin also honours PLUGIN_UNIX_SOCKET_DIR (where its socket directory is created;
  else TMPDIR, else /tmp) and PLUGIN_UNIX_SOCKET_GROUP (group allowed to connect).

  Options in plugin mode (put them in plugin_args):
    --transport unix|tcp   how to listen: a unix socket (default on Linux and macOS) or 127.0.0.1 TCP
                           in PLUGIN_MIN_PORT..PLUGIN_MAX_PORT (default on Windows)

spire-agent configuration:
  plugins {
    WorkloadAttestor "k8s" {
      plugin_cmd      = "/opt/spire/plugins/k8s-attestor"
      plugin_checksum = "<sha256 of plugin_cmd>"
      plugin_data {
        node_name_env = "MY_NODE_NAME"
      }
    }
  }

plugin_data keys (HCL v1, or JSON from plugin_data_file):
${keys}
`;
}
