/**
 * The shared pod-list fetcher (upstream `podlistfetcher.go`, #7085): at most one kubelet request in flight,
 * request starts spaced at least `minIntervalMs` apart, results versioned and cached, every result (success or
 * error) delivered to every current waiter. A caller's cancellation only removes that caller. There is no
 * background polling: with no waiters nothing is fetched. All state lives on the one event loop.
 *
 * @module
 */

import { abortError, type AbortTexts, onAbort } from "../core/abort.ts";
import { AttestorError, toAttestorError } from "../errors.ts";
import { type Logger, nullLogger } from "../log.ts";
import { parsePodList } from "./pods.ts";
import type { PodListSnapshot, PodListSource } from "../core/types.ts";

/** Time source and timers, injectable for fake-time tests. */
export interface FetcherClock {
  /** Milliseconds, monotonic enough for spacing requests. */
  now(): number;
  /** Runs `fn` after `ms` milliseconds; returns a handle for {@linkcode FetcherClock.clearTimeout}. */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Cancels a pending timer. */
  clearTimeout(handle: unknown): void;
}

/** The real clock: `performance.now()` and the global timers. */
export const systemClock: FetcherClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Where pod lists come from and how often they may be requested; replaced by {@linkcode PodListFetcher.configure}. */
export interface PodListFetcherSource {
  /** Performs one kubelet request and returns the body text (for example `KubeletClient.fetchPods`). */
  fetchPods: (signal: AbortSignal) => Promise<string>;
  /** Minimum time between request starts, and how long a result is served from the cache (`poll_retry_interval`). */
  minIntervalMs: number;
  /**
   * Releases what the source holds (for example `KubeletClient.close`, its kept-alive connections). Called
   * once, when the source is replaced by {@linkcode PodListFetcher.configure} or the fetcher is closed, after
   * the source's in-flight request (if any) has settled.
   */
  close?: () => void;
}

/** Options of {@linkcode PodListFetcher}. */
export interface PodListFetcherOptions {
  /** The initial source; without it the fetcher waits for {@linkcode PodListFetcher.configure}. */
  fetchPods?: (signal: AbortSignal) => Promise<string>;
  /** Used with `fetchPods`. @default {500} */
  minIntervalMs?: number;
  /** Clock and timers. @default {systemClock} */
  clock?: FetcherClock;
  /** Body → snapshot with the assigned version. @default {parsePodList} */
  parse?: (body: string, version: number) => PodListSnapshot;
  /** Receives warnings about skipped pods and malformed container IDs. @default {nullLogger} */
  logger?: Logger;
}

interface Waiter {
  afterVersion: number;
  resolve(snapshot: PodListSnapshot): void;
  reject(err: AttestorError): void;
}

function checkInterval(ms: number): void {
  if (!Number.isFinite(ms) || ms < 0) {
    throw new RangeError(
      `Cannot configure pod list fetcher as 'minIntervalMs' must be >= 0: current value is ${ms}`,
    );
  }
}

/** The message of every call a closed fetcher refuses. */
const CLOSED_MESSAGE = "pod list fetcher is closed";

/** The error of every call a closed fetcher refuses: final, the core does not retry it. */
function closedError(): AttestorError {
  return new AttestorError("fetcher-closed", CLOSED_MESSAGE);
}

/** How a waiter's abort is worded (whatever the reason, also an `AttestorError`). */
const WAIT_ABORT_TEXTS: AbortTexts = {
  deadline: "deadline exceeded while waiting for the pod list",
  cancelled: "cancelled while waiting for the pod list",
  passAttestorError: false,
};

/**
 * The shared, versioned, single-flight pod-list source.
 *
 * @example Many callers, one request
 * ```ts ignore
 * import { PodListFetcher } from "./fetcher.ts";
 * const fetcher = new PodListFetcher({ fetchPods: (signal) => client.fetchPods(signal), minIntervalMs: 500 });
 * const lists = await Promise.all([fetcher.fetchNext(0), fetcher.fetchNext(0)]); // one kubelet request
 * const newer = await fetcher.fetchNext(lists[0].version); // waits for a strictly newer list
 * await fetcher.close();
 * ```
 */
export class PodListFetcher implements PodListSource {
  #source: PodListFetcherSource | null = null;
  #clock: FetcherClock;
  #parse: (body: string, version: number) => PodListSnapshot;
  #logger: Logger;
  #waiters = new Set<Waiter>();
  #timer: unknown = null;
  #inFlight: Promise<void> | null = null;
  /** The source of the in-flight request. */
  #inFlightSource: PodListFetcherSource | null = null;
  #inFlightAbort: AbortController | null = null;
  #lastFetchStart: number | null = null;
  #cached: PodListSnapshot | null = null;
  #cachedFetchStart = 0;
  #closed = false;

  /** @param options Initial source, clock, parser and logger. */
  constructor(options: PodListFetcherOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#parse = options.parse ?? parsePodList;
    this.#logger = options.logger ?? nullLogger;
    if (options.fetchPods) {
      this.configure({ fetchPods: options.fetchPods, minIntervalMs: options.minIntervalMs ?? 500 });
    } else if (options.minIntervalMs !== undefined) {
      checkInterval(options.minIntervalMs);
    }
  }

  /** The version of the cached list (0 before the first success). */
  get version(): number {
    return this.#cached?.version ?? 0;
  }

  /**
   * Installs a new source of the same kubelet (the runtime calls this for a Configure that changes only
   * pacing settings; a new pod source gets a new fetcher, see `createRuntime`). The cache is kept and its
   * freshness is judged with the new interval; a pending timer is dropped and waiters that arrived before are
   * served. An in-flight request from the old source still completes and is delivered; the old source is
   * closed (its `close`) once it has no request in flight.
   *
   * @param source The request function and the minimum interval.
   * @throws {AttestorError} `fetcher-closed` when the fetcher is closed. {@linkcode RangeError} for a
   * negative interval.
   */
  configure(source: PodListFetcherSource): void {
    if (this.#closed) throw closedError();
    checkInterval(source.minIntervalMs);
    const previous = this.#source;
    this.#source = { fetchPods: source.fetchPods, minIntervalMs: source.minIntervalMs, close: source.close };
    if (previous !== null && previous !== this.#inFlightSource) previous.close?.();
    this.#stopTimer();
    this.#schedule();
  }

  /**
   * Resolves with a snapshot whose version is greater than `afterVersion`: the cached one when it is newer
   * and younger than the interval (measured from its request start), otherwise the result of the next shared
   * request. Errors of that request are delivered to every waiter and never cached.
   *
   * @param afterVersion 0 for any list, else the version the caller already looked at.
   * @param signal Abandons this caller's wait only.
   * @returns The snapshot.
   * @throws {AttestorError} The request's error (`pod-list-failed` for one that is not an
   * {@linkcode AttestorError}); `cancelled`/`deadline-exceeded` when `signal` fires; `bad-request` for a
   * version never handed out; `fetcher-closed "pod list fetcher is closed"` after {@linkcode close}.
   */
  fetchNext(afterVersion: number, signal?: AbortSignal): Promise<PodListSnapshot> {
    if (this.#closed) return Promise.reject(closedError());
    if (signal?.aborted) return Promise.reject(abortError(signal, WAIT_ABORT_TEXTS));
    const latest = this.version;
    if (!Number.isInteger(afterVersion) || afterVersion < 0 || afterVersion > latest) {
      return Promise.reject(
        new AttestorError(
          "bad-request",
          `pod list version ${afterVersion} was never handed out (latest is ${latest})`,
        ),
      );
    }
    const cached = this.#cached;
    if (
      cached !== null && this.#source !== null && afterVersion < cached.version &&
      this.#clock.now() < this.#cachedFetchStart + this.#source.minIntervalMs
    ) {
      return Promise.resolve(cached);
    }
    return new Promise<PodListSnapshot>((resolve, reject) => {
      const waiter: Waiter = {
        afterVersion,
        resolve: (snapshot) => {
          stop();
          resolve(snapshot);
        },
        reject: (err) => {
          stop();
          reject(err);
        },
      };
      const stop = onAbort(signal, () => {
        if (!this.#waiters.delete(waiter)) return;
        if (this.#waiters.size === 0) this.#stopTimer();
        reject(abortError(signal!, WAIT_ABORT_TEXTS));
      });
      this.#waiters.add(waiter);
      this.#schedule();
    });
  }

  /**
   * Closes the fetcher: stops the timer, aborts the in-flight request, rejects every pending and future call
   * with `fetcher-closed "pod list fetcher is closed"`, and resolves once the in-flight request has settled
   * and the source is closed (its `close`). Idempotent.
   */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#stopTimer();
      this.#inFlightAbort?.abort(new AttestorError("cancelled", CLOSED_MESSAGE));
      const waiters = [...this.#waiters];
      this.#waiters.clear();
      for (const w of waiters) w.reject(closedError());
      const source = this.#source;
      // A source with a request in flight is closed when that request settles (#complete).
      if (source !== null && source !== this.#inFlightSource) source.close?.();
    }
    await this.#inFlight;
  }

  #stopTimer(): void {
    if (this.#timer !== null) {
      this.#clock.clearTimeout(this.#timer);
      this.#timer = null;
    }
  }

  #schedule(): void {
    const source = this.#source;
    if (this.#closed || source === null || this.#inFlight !== null || this.#timer !== null) return;
    if (this.#waiters.size === 0) return;
    const last = this.#lastFetchStart;
    const delay = last === null ? 0 : source.minIntervalMs - (this.#clock.now() - last);
    if (delay <= 0) {
      this.#start(source);
      return;
    }
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = null;
      this.#schedule();
    }, delay);
  }

  #start(source: PodListFetcherSource): void {
    const startedAt = this.#clock.now();
    this.#lastFetchStart = startedAt;
    const version = this.version + 1;
    const abort = new AbortController();
    this.#inFlightAbort = abort;
    this.#inFlightSource = source;
    const run = async (): Promise<PodListSnapshot> => {
      const body = await source.fetchPods(abort.signal);
      return this.#parse(body, version);
    };
    this.#inFlight = run().then(
      (snapshot) => this.#complete(startedAt, snapshot, null),
      (err) =>
        this.#complete(startedAt, null, toAttestorError(err, "pod-list-failed", "unable to fetch pod list")),
    );
  }

  #complete(startedAt: number, snapshot: PodListSnapshot | null, error: AttestorError | null): void {
    const source = this.#inFlightSource;
    this.#inFlight = null;
    this.#inFlightAbort = null;
    this.#inFlightSource = null;
    // Replaced (or closed) while its request was in flight: nothing uses it any more.
    if (source !== null && (this.#closed || source !== this.#source)) source.close?.();
    if (this.#closed) return;
    if (snapshot !== null) {
      this.#cached = snapshot;
      this.#cachedFetchStart = startedAt;
      this.#warnAboutSkipped(snapshot);
    }
    for (const waiter of [...this.#waiters]) {
      if (snapshot !== null) {
        if (waiter.afterVersion >= snapshot.version) continue; // not newer for this caller: keep waiting
        this.#waiters.delete(waiter);
        waiter.resolve(snapshot);
      } else {
        this.#waiters.delete(waiter);
        waiter.reject(error!);
      }
    }
    this.#schedule();
  }

  #warnAboutSkipped(snapshot: PodListSnapshot): void {
    const counters = snapshot as Partial<Record<"skippedWithoutUid" | "malformedContainerIds", number>>;
    if (counters.skippedWithoutUid) {
      this.#logger.warn("Pod has no UID", { skipped: counters.skippedWithoutUid, version: snapshot.version });
    }
    if (counters.malformedContainerIds) {
      this.#logger.warn("Malformed container id", {
        count: counters.malformedContainerIds,
        version: snapshot.version,
      });
    }
  }
}
