/**
 * Gives the C heap's free pages back to the system: glibc's `malloc_trim(0)`, called through Deno FFI.
 *
 * Deno's native side (V8's compiler zones, rustls, the tokio threads) allocates with glibc malloc, which
 * keeps freed memory in its arenas: after the start-up (compiling the bundle and the HCL parser) and after a
 * burst of concurrent calls, tens of MiB of free but resident pages stay in the process's RSS for good.
 * `malloc_trim(0)` returns every whole free page of every arena (`madvise(MADV_DONTNEED)`); nothing that is
 * in use moves. It exists on Linux with glibc only: elsewhere (Windows, macOS, musl) this module does
 * nothing, and a process without FFI permission or without the symbol logs one debug line and carries on.
 * Trimming never affects what an Attest answers; it only costs a little CPU when it runs.
 *
 * @module
 */

import type { Logger } from "../log.ts";

/** A loaded `malloc_trim`: returns 1 when memory was given back, 0 when there was none. */
export type MallocTrim = () => number;

/** Why no `malloc_trim` could be loaded, or `null` once it is loaded. */
let unavailable: string | null = null;
let loaded: MallocTrim | null = null;
/** The same function, run on a thread of Deno's blocking pool (it can take a few ms with a large heap). */
let loadedInBackground: (() => Promise<number>) | null = null;
let tried = false;

/**
 * Loads glibc's `malloc_trim` (once; later calls give the same answer).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadMallocTrim } from "./malloc_trim.ts";
 * const trim = loadMallocTrim();
 * if (Deno.build.os === "linux" && trim.trim) assert.ok([0, 1].includes(trim.trim()));
 * else assert.equal(typeof trim.reason, "string");
 * ```
 *
 * @returns The function, or why there is none (not Linux, no FFI permission, no glibc).
 */
export function loadMallocTrim(): { trim: MallocTrim; reason: null } | { trim: null; reason: string } {
  if (!tried) {
    tried = true;
    try {
      if (Deno.build.os !== "linux") {
        unavailable = `not Linux (${Deno.build.os})`;
      } else if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
        unavailable = "no FFI permission";
      } else {
        const lib = Deno.dlopen("libc.so.6", {
          malloc_trim: { parameters: ["usize"], result: "i32" },
          malloc_trim_nonblocking: {
            name: "malloc_trim",
            parameters: ["usize"],
            result: "i32",
            nonblocking: true,
          },
        });
        loaded = () => lib.symbols.malloc_trim(0n);
        loadedInBackground = () => lib.symbols.malloc_trim_nonblocking(0n);
      }
    } catch (err) {
      unavailable = err instanceof Error ? err.message.split("\n")[0] : String(err);
    }
  }
  return loaded ? { trim: loaded, reason: null } : { trim: null, reason: unavailable ?? "unavailable" };
}

/**
 * Calls `malloc_trim(0)` if it is available. Never throws.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { trimNativeHeap } from "./malloc_trim.ts";
 * assert.equal(typeof trimNativeHeap(), "boolean");
 * ```
 *
 * @returns Whether the call was made.
 */
export function trimNativeHeap(): boolean {
  const { trim } = loadMallocTrim();
  if (!trim) return false;
  try {
    trim();
    return true;
  } catch {
    return false;
  }
}

/**
 * Calls `malloc_trim(0)` on another thread, if it is available, so that the event loop does not wait for it
 * (giving back ~100 MiB takes ~7 ms). Never rejects.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { trimNativeHeapInBackground } from "./malloc_trim.ts";
 * assert.equal(typeof await trimNativeHeapInBackground(), "boolean");
 * ```
 *
 * @returns Whether the call was made.
 */
export async function trimNativeHeapInBackground(): Promise<boolean> {
  loadMallocTrim();
  if (!loadedInBackground) return false;
  try {
    await loadedInBackground();
    return true;
  } catch {
    return false;
  }
}

/** Options of {@linkcode createNativeHeapTrimmer}. */
export interface TrimmerOptions {
  /** Logs the one debug line when no `malloc_trim` is available. */
  readonly logger: Logger;
  /** How long after the first activity of a busy period the trim runs. @default {2000} */
  readonly delayMs?: number;
  /** The trim; its answer says whether it was made. @default {trimNativeHeapInBackground} */
  readonly trim?: () => boolean | Promise<boolean>;
}

/** Trims the C heap a little while after activity, at most once per `delayMs`. */
export interface NativeHeapTrimmer {
  /** Notes activity (a Configure, an Attest): a trim runs `delayMs` later unless one is due already. */
  noteActivity(): void;
  /** Cancels a pending trim (at shutdown). */
  stop(): void;
  /** Trims done so far. */
  readonly trims: number;
}

/**
 * A trimmer that runs {@linkcode trimNativeHeapInBackground} `delayMs` after activity: once after the Configure and the
 * first calls, then at most once per `delayMs` while calls keep coming, and never while the plugin is idle.
 * Its timer never keeps the process alive.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createNativeHeapTrimmer } from "./malloc_trim.ts";
 * import { nullLogger } from "../log.ts";
 * let calls = 0;
 * const t = createNativeHeapTrimmer({ logger: nullLogger, delayMs: 10, trim: () => (calls++, true) });
 * t.noteActivity();
 * t.noteActivity(); // the same pending trim
 * await new Promise((r) => setTimeout(r, 50));
 * assert.equal(calls, 1);
 * assert.equal(t.trims, 1);
 * t.stop();
 * ```
 *
 * @param options Logger, delay and trim function.
 * @returns The trimmer.
 */
export function createNativeHeapTrimmer(options: TrimmerOptions): NativeHeapTrimmer {
  const delayMs = options.delayMs ?? 2000;
  const trim = options.trim ?? trimNativeHeapInBackground;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let trims = 0;
  let stopped = false;
  let reported = false;
  let running = false;
  const run = async () => {
    if (stopped || running) {
      timer = undefined;
      return;
    }
    running = true;
    let made = false;
    try {
      made = await trim();
    } catch {
      made = false;
    } finally {
      running = false;
      // Activity during the trim waits for the next period: at most one trim per delay.
      timer = undefined;
    }
    if (made) {
      trims++;
    } else if (!reported) {
      reported = true;
      options.logger.debug("not trimming the C heap", {
        reason: options.trim ? "the trim was not made" : loadMallocTrim().reason ?? "the call failed",
      });
    }
  };
  return {
    noteActivity() {
      if (stopped || timer !== undefined) return;
      timer = setTimeout(run, delayMs);
      Deno.unrefTimer(timer as unknown as number);
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
      timer = undefined;
    },
    get trims() {
      return trims;
    },
  };
}
