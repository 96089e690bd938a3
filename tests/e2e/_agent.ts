/**
 * Test helper for end-to-end tests, the agent side: the plugin loaded as spire-agent loads it (no
 * `MY_NODE_NAME` in its environment, trust domain `example.org`), and the checks every orderly unload must
 * pass.
 *
 * @module
 */

import assert from "node:assert/strict";
import { PluginHost } from "../../src/testing/plugin_host.ts";

/**
 * Starts the plugin and loads it with `hcl` (broker, stdio, Init, Configure).
 *
 * @param hcl The plugin configuration.
 * @param hosts The host is added here before it loads, so the caller disposes of it even when loading fails.
 * @returns The loaded plugin.
 */
export async function loadPlugin(hcl: string, hosts: PluginHost[]): Promise<PluginHost> {
  const host = await PluginHost.start({ env: { MY_NODE_NAME: undefined } });
  hosts.push(host);
  await host.load({ hcl, trustDomain: "example.org" });
  return host;
}

/**
 * Unloads the plugin as the agent does and checks the result: exit code 0 without SIGKILL, and every
 * stderr line a proper log entry.
 *
 * @param host A loaded plugin.
 */
export async function unloadCleanly(host: PluginHost): Promise<void> {
  const exit = await host.unload();
  assert.equal(exit.code, 0);
  assert.equal(exit.killed, false);
  assert.deepEqual(host.logProblems(), []);
}

/**
 * Disposes of every host (kills what still runs, closes clients and listeners).
 *
 * @param hosts From {@linkcode loadPlugin}.
 */
export async function disposeAll(hosts: readonly PluginHost[]): Promise<void> {
  for (const host of hosts) await host.dispose();
}

/**
 * Ends a suite that loaded one plugin in `before`: unloads it cleanly (when it got that far), then disposes
 * of every host, also when the unload checks fail.
 *
 * @param host The loaded plugin, or `undefined` when `before` did not get that far.
 * @param hosts From {@linkcode loadPlugin}.
 */
export async function unloadThenDispose(
  host: PluginHost | undefined,
  hosts: readonly PluginHost[],
): Promise<void> {
  try {
    if (host) await unloadCleanly(host);
  } finally {
    await disposeAll(hosts);
  }
}
