/**
 * When a new configuration must be a clean cut: it is, unless it describes the same identity source as the
 * running one (equal in every setting but the pacing ones). Compared structurally, maps by their entries, and
 * anything this cannot compare (an object of another class) counts as a difference.
 *
 * @module
 */

import { ImmutableMap } from "./immutable_map.ts";
import type { Config } from "./types.ts";

/**
 * The settings that only pace the work (how often and how long to ask, how often to re-read credential
 * files); a Configure that changes nothing else keeps the fetcher, its cache and its spacing.
 */
const PACING_KEYS: ReadonlySet<keyof Config> = new Set<keyof Config>([
  "maxPollAttempts",
  "pollRetryIntervalMs",
  "reloadIntervalMs",
]);

/** Marks a value `canonical` cannot compare: two configurations holding one are never the same. */
class Incomparable {}

/**
 * `value` with object keys sorted and maps (`Map`, `ImmutableMap`) as entry lists, for a structural
 * comparison. An object of any other class (a redacted secret, say) becomes an {@linkcode Incomparable},
 * which makes the comparison fail (a clean cut) rather than ignore what it holds.
 */
function canonical(value: unknown): unknown {
  // ImmutableMap (how buildConfig freezes maps) is not a Map and has no own enumerable keys: compare both by
  // their entries, or a change inside one (a broker removed, a sigstore subject) would read as no change.
  if (value instanceof Map || value instanceof ImmutableMap) {
    return { "<map>": [...value].map(([k, v]) => [canonical(k), canonical(v)]) };
  }
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === "object") {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return new Incomparable();
    const record = value as Record<string, unknown>;
    return Object.fromEntries(Object.keys(record).sort().map((k) => [k, canonical(record[k])]));
  }
  return value;
}

function containsIncomparable(value: unknown): boolean {
  if (value instanceof Incomparable) return true;
  if (Array.isArray(value)) return value.some(containsIncomparable);
  if (value !== null && typeof value === "object") return Object.values(value).some(containsIncomparable);
  return false;
}

/**
 * Whether two configurations describe the same identity source: equal in every setting but the pacing ones
 * (`max_poll_attempts`, `poll_retry_interval`, `reload_interval`). Anything else that differs (kubelet
 * ports, node name, credential paths, anonymous mode, `skip_kubelet_verification`, locator settings,
 * `disable_container_selectors`, the trust domain, settings added later) makes a new Configure a clean cut.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildConfig } from "./build.ts";
 * import { samePodSource } from "./same_pod_source.ts";
 * const config = buildConfig("", { trustDomain: "example.org" }).config!;
 * assert.equal(samePodSource(config, { ...config, pollRetryIntervalMs: 1000 }), true);
 * assert.equal(samePodSource(config, { ...config, kubeletSecurePort: 10251 }), false);
 * ```
 *
 * @param a One configuration.
 * @param b Another.
 * @returns True when only pacing settings differ.
 */
export function samePodSource(a: Config, b: Config): boolean {
  const strip = (config: Config) =>
    Object.fromEntries(Object.entries(config).filter(([key]) => !PACING_KEYS.has(key as keyof Config)));
  const ca = canonical(strip(a));
  const cb = canonical(strip(b));
  if (containsIncomparable(ca) || containsIncomparable(cb)) return false;
  return JSON.stringify(ca) === JSON.stringify(cb);
}
