/**
 * The `--help` text: usage, subcommands, plugin-mode environment and every `plugin_data` key with its
 * default (the key table comes from `src/config/keys.ts`, the same table the config builder uses).
 *
 * @module
 */

import { formatConfigHelp } from "../config/keys.ts";
import { ATTEST_USAGE } from "./attest.ts";
import { LOCATE_USAGE } from "./locate.ts";

/**
 * Renders the full `--help` text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { helpText } from "./help.ts";
 * assert.match(helpText("k8s-attestor"), /kubelet_secure_port/);
 * ```
 *
 * @param program The program name shown in the usage lines.
 * @returns The text, ending with a newline.
 */
export function helpText(program: string): string {
  return `${program}: a SPIRE WorkloadAttestor plugin for Kubernetes (selector type = the plugin name, e.g. k8s)

Usage:
  ${program}                      serve the plugin (started by spire-agent, see below)
  ${program} locate [options]     show how a PID maps to a pod and container
                                  (${LOCATE_USAGE})
  ${program} attest [options]     run the whole attestation for a PID with a config file
                                  (${ATTEST_USAGE})
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
    --proc-root <dir>      read <dir>/proc/<pid>/... instead of /proc/<pid>/... (Linux; for agents
                           that see the host's proc filesystem at another path)

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

${formatConfigHelp()}`;
}
