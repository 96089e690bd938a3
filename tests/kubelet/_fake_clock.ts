/**
 * Test helper: a manual clock implementing {@linkcode FetcherClock}. Time moves only in {@linkcode FakeClock.advance}.
 *
 * @module
 */

import type { FetcherClock } from "../../src/kubelet/fetcher.ts";

interface Timer {
  id: number;
  at: number;
  fn: () => void;
}

/** A manual clock with timers that fire in time order during {@linkcode FakeClock.advance}. */
export class FakeClock implements FetcherClock {
  #now: number;
  #timers: Timer[] = [];
  #nextId = 1;

  /** @param start The initial time in milliseconds. */
  constructor(start = 1_000_000) {
    this.#now = start;
  }

  /** The current fake time. */
  now(): number {
    return this.#now;
  }

  /** Schedules `fn` at now + ms. */
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#nextId++;
    this.#timers.push({ id, at: this.#now + Math.max(0, ms), fn });
    return id;
  }

  /** Cancels a timer. */
  clearTimeout(handle: unknown): void {
    this.#timers = this.#timers.filter((t) => t.id !== handle);
  }

  /** Number of pending timers. */
  get pending(): number {
    return this.#timers.length;
  }

  /** Moves time forward, firing due timers in order and letting promise callbacks run after each. */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    for (;;) {
      await flush();
      this.#timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const next = this.#timers[0];
      if (!next || next.at > end) break;
      this.#timers.shift();
      this.#now = next.at;
      next.fn();
    }
    this.#now = end;
    await flush();
  }
}

/** Lets pending promise callbacks run (a few macrotask turns). */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setTimeout(resolve, 0));
}
