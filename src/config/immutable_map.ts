/**
 * A read-only map for the frozen configuration: a plain `Map` is never really read-only (its `set` works
 * on a frozen instance), so `SigstoreConfig.allowedSubjects` is one of these.
 *
 * @module
 */

/**
 * A {@linkcode ReadonlyMap} that really is read-only: no `set`, `delete` or `clear`, and frozen.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ImmutableMap } from "./immutable_map.ts";
 * const m = new ImmutableMap([["issuer", ["subject"]]]);
 * assert.deepEqual(m.get("issuer"), ["subject"]);
 * assert.ok(Object.isFrozen(m) && !("set" in m));
 * ```
 */
export class ImmutableMap<K, V> implements ReadonlyMap<K, V> {
  readonly #map: Map<K, V>;
  /** Copies `entries` (later changes to the source do not show). */
  constructor(entries: Iterable<readonly [K, V]>) {
    this.#map = new Map(entries);
    Object.freeze(this);
  }
  /** The number of entries. */
  get size(): number {
    return this.#map.size;
  }
  /** The value of `key`, or undefined. */
  get(key: K): V | undefined {
    return this.#map.get(key);
  }
  /** True when `key` has a value. */
  has(key: K): boolean {
    return this.#map.has(key);
  }
  /** Calls `cb` for each entry, in insertion order. */
  forEach(cb: (value: V, key: K, map: ReadonlyMap<K, V>) => void, thisArg?: unknown): void {
    this.#map.forEach((v, k) => cb.call(thisArg, v, k, this));
  }
  /** The entries, in insertion order. */
  entries(): MapIterator<[K, V]> {
    return this.#map.entries();
  }
  /** The keys, in insertion order. */
  keys(): MapIterator<K> {
    return this.#map.keys();
  }
  /** The values, in insertion order. */
  values(): MapIterator<V> {
    return this.#map.values();
  }
  /** The entries, in insertion order. */
  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.#map.entries();
  }
  /** `"ImmutableMap"`. */
  get [Symbol.toStringTag](): string {
    return "ImmutableMap";
  }
}
