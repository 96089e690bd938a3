/**
 * Test helper: a complete {@linkcode Config} with upstream defaults, overridable per test.
 *
 * @module
 */

import { buildConfig } from "../../src/config/build.ts";
import type { Config } from "../../src/config/types.ts";

/**
 * Returns a configuration with every default applied and `overrides` on top.
 *
 * @param overrides Fields to change.
 * @returns The configuration.
 */
export function testConfig(overrides: Partial<Config> = {}): Config {
  // The defaults come from the config builder itself (tests/config/ checks them against a written-out list).
  const { config, problems } = buildConfig("", { trustDomain: "example.org" }, { getenv: () => undefined });
  if (config === null) throw new Error(`the empty configuration was rejected: ${problems.join("; ")}`);
  return { ...config, ...overrides };
}
