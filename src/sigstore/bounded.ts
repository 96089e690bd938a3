/**
 * Runs async work over a list with at most `limit` calls in flight, keeping the input order in the result.
 *
 * @module
 */

/**
 * Maps `items` through `work` with at most `limit` calls running at once. The first rejection rejects the
 * result; calls not yet started are then not started.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mapBounded } from "./bounded.ts";
 * let running = 0, peak = 0;
 * const out = await mapBounded([1, 2, 3, 4, 5], 2, async (n) => {
 *   peak = Math.max(peak, ++running);
 *   await new Promise((r) => setTimeout(r, 1));
 *   running--;
 *   return n * 10;
 * });
 * assert.deepEqual(out, [10, 20, 30, 40, 50]);
 * assert.equal(peak, 2);
 * ```
 *
 * @param items The inputs.
 * @param limit Most calls in flight (at least 1).
 * @param work The call for one item (and its index).
 * @returns The results, in the order of `items`.
 */
export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const lane = async () => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await work(items[index], index);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const lanes = Array.from({ length: Math.max(1, Math.min(Math.floor(limit), items.length)) }, lane);
  await Promise.all(lanes);
  return results;
}
