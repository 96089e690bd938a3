/**
 * The legacy container locator (`use_new_container_locator = false`, SPIRE's `k8s_posix.go`): two regular
 * expressions over each cgroup path, re-implemented as hand-written linear-time matchers.
 *
 * Upstream's patterns, with `P` = ASCII punctuation (Go `[[:punct:]]`), `N` = its negation, `X` = a hex digit
 * and `UID = X{8}P?X{4}P?X{4}P?X{4}P?X{12}`:
 *
 * - **R1** `P pod (UID) P (?:N+P)* (X{64})$`
 * - **R2** `(pod UID P)? (?:N*\/*)* crio P (X{64})$`, where a match counts only when the optional
 *   `mustnotmatch` group is empty.
 *
 * A literal JavaScript port of R2 backtracks exponentially on ordinary paths without `crio`. The matchers
 * below compute the same answer (match or not, and the leftmost-first captures RE2 reports) in one or two
 * passes over the path, so no input can make them slow. `legacy_test.ts` checks them against the regular
 * expressions on many random short inputs.
 *
 * @module
 */

import { AttestorError } from "../../errors.ts";

/** Go `[[:punct:]]`: ``!-/ :-@ [-` {-~``. */
function isPunct(c: number): boolean {
  return (c >= 0x21 && c <= 0x2f) || (c >= 0x3a && c <= 0x40) || (c >= 0x5b && c <= 0x60) ||
    (c >= 0x7b && c <= 0x7e);
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

const SLASH = 0x2f;
const UID_GROUPS = [8, 4, 4, 4, 12];

/**
 * Matches `UID` at `i`. The optional separators are decided greedily, which is exact here: a hex digit is
 * never punctuation, so at most one choice can succeed.
 *
 * @returns The index after the UID, or -1.
 */
function matchUid(s: string, i: number): number {
  for (let g = 0; g < UID_GROUPS.length; g++) {
    if (g > 0 && i < s.length && isPunct(s.charCodeAt(i))) i++;
    const end = i + UID_GROUPS[g];
    if (end > s.length) return -1;
    for (; i < end; i++) if (!isHex(s.charCodeAt(i))) return -1;
  }
  return i;
}

/** Whether `s` ends in 64 hex digits preceded by punctuation; returns the ID's start or -1. */
function trailingContainerId(s: string): number {
  const start = s.length - 64;
  if (start < 1 || !isPunct(s.charCodeAt(start - 1))) return -1;
  for (let i = start; i < s.length; i++) if (!isHex(s.charCodeAt(i))) return -1;
  return start;
}

/** A match of R1. */
export interface R1Match {
  /** The `poduid` capture, before canonicalisation. */
  readonly podUid: string;
  /** The `containerid` capture. */
  readonly containerId: string;
}

/**
 * R1: `P pod (UID) P (?:N+P)* (X{64})$`, leftmost-first. Every `(?:N+P)*` iteration ends in punctuation, so
 * the character before the container ID is punctuation, and the text between the UID's closing punctuation
 * and the ID must start with a non-punctuation character and hold no two adjacent punctuation characters.
 *
 * @param s A cgroup path (with `.scope` already trimmed).
 * @returns The captures, or `null`.
 */
export function matchR1(s: string): R1Match | null {
  const cidStart = trailingContainerId(s);
  if (cidStart < 0) return null;
  // The last i with s[i] and s[i+1] both punctuation, inside the text before the ID.
  let lastPair = -1;
  for (let i = cidStart - 2; i >= 0; i--) {
    if (isPunct(s.charCodeAt(i)) && isPunct(s.charCodeAt(i + 1))) {
      lastPair = i;
      break;
    }
  }
  for (let start = 0; start + 4 < cidStart; start++) {
    if (!isPunct(s.charCodeAt(start)) || !s.startsWith("pod", start + 1)) continue;
    const uidEnd = matchUid(s, start + 4);
    if (uidEnd < 0 || uidEnd >= cidStart || !isPunct(s.charCodeAt(uidEnd))) continue;
    const tail = uidEnd + 1;
    if (tail === cidStart || (!isPunct(s.charCodeAt(tail)) && tail > lastPair)) {
      return { podUid: s.slice(start + 4, uidEnd), containerId: s.slice(cidStart) };
    }
  }
  return null;
}

/** A match of R2. */
export interface R2Match {
  /** The `containerid` capture. */
  readonly containerId: string;
  /** Whether the `mustnotmatch` group captured text (then the match does not count). */
  readonly mustNotMatch: boolean;
}

/**
 * R2: `(pod UID P)? S* crio P (X{64})$` with `S` = non-punctuation or `/` (the flattened, equivalent form of
 * upstream's `(?:N*\/*)*`), leftmost-first. The suffix `crio P X{64}` is fixed by the anchor; the match
 * starts at the leftmost position from which either the optional group and then only `S` characters, or only
 * `S` characters, reach `crio`. At each start the group is tried first, as RE2 does.
 *
 * @param s A cgroup path (with `.scope` already trimmed).
 * @returns The captures, or `null`.
 */
export function matchR2(s: string): R2Match | null {
  const cidStart = trailingContainerId(s);
  if (cidStart < 0) return null;
  const crioStart = cidStart - 5;
  if (crioStart < 0 || !s.startsWith("crio", crioStart)) return null;
  let firstS = crioStart;
  while (firstS > 0) {
    const c = s.charCodeAt(firstS - 1);
    if (isPunct(c) && c !== SLASH) break;
    firstS--;
  }
  const containerId = s.slice(cidStart);
  for (let start = 0; start <= firstS; start++) {
    if (!s.startsWith("pod", start)) continue;
    const uidEnd = matchUid(s, start + 3);
    if (uidEnd < 0 || uidEnd >= s.length || !isPunct(s.charCodeAt(uidEnd))) continue;
    const groupEnd = uidEnd + 1;
    if (groupEnd >= firstS && groupEnd <= crioStart) return { containerId, mustNotMatch: true };
  }
  return { containerId, mustNotMatch: false };
}

/**
 * Characters Go's `unicode.IsPunct` accepts among ASCII punctuation; the others (``$ + < = > ^ ` | ~``) are
 * symbols and are kept by upstream's canonicalisation.
 */
const GO_PUNCT = /[!"#%&'()*,\-./:;?@[\\\]_{}]/g;

/**
 * Canonicalises a legacy pod UID: every character in Go's Unicode `P` category becomes `-`.
 *
 * @param uid The `poduid` capture.
 * @returns The canonical UID.
 */
export function canonicalizeLegacyPodUid(uid: string): string {
  return uid.replace(GO_PUNCT, "-");
}

/** The legacy result for one cgroup path. */
export type LegacyPathResult =
  | {
    readonly kind: "match";
    readonly podUid: string;
    readonly containerId: string;
    readonly rule: "R1" | "R2";
  }
  | { readonly kind: "none" }
  | { readonly kind: "ambiguous"; readonly containerId: string };

/**
 * Applies upstream's legacy rules to one cgroup group path: trim one trailing `.scope`, try R1 and R2, and
 * treat the path as not matching when both count.
 *
 * @example cgroupfs driver
 * ```ts
 * import assert from "node:assert/strict";
 * import { legacyMatchPath } from "./legacy.ts";
 * const r = legacyMatchPath("/kubepods/besteffort/pod0f3e8a1c-5b2d-4c6e-9a7f-1d2c3b4a5e6f/" + "b".repeat(64));
 * assert.ok(r.kind === "match");
 * assert.equal(r.podUid, "0f3e8a1c-5b2d-4c6e-9a7f-1d2c3b4a5e6f");
 * ```
 *
 * @param path The cgroup group path.
 * @returns A match, no match, or an ambiguous path (both rules matched; upstream ignores it).
 */
export function legacyMatchPath(path: string): LegacyPathResult {
  const p = path.endsWith(".scope") ? path.slice(0, -".scope".length) : path;
  const r1 = matchR1(p);
  const r2 = matchR2(p);
  const r2Counts = r2 !== null && !r2.mustNotMatch;
  if (r1 && r2Counts) return { kind: "ambiguous", containerId: r1.containerId };
  if (r1) {
    return {
      kind: "match",
      podUid: canonicalizeLegacyPodUid(r1.podUid),
      containerId: r1.containerId,
      rule: "R1",
    };
  }
  if (r2Counts) return { kind: "match", podUid: "", containerId: r2.containerId, rule: "R2" };
  return { kind: "none" };
}

/**
 * Merges legacy matches in file order: the first match wins; a later different container ID, or the same
 * container ID with a different pod UID (`""` included), is a conflict with upstream's message text.
 */
export class LegacyMerger {
  #podUid = "";
  #containerId = "";

  /** The merged pod UID, or `""`. */
  get podUid(): string {
    return this.#podUid;
  }

  /** The merged container ID, or `""`. */
  get containerId(): string {
    return this.#containerId;
  }

  /**
   * Adds one matching path.
   *
   * @param podUid The canonical pod UID, or `""`.
   * @param containerId The container ID.
   * @throws {AttestorError} `id-conflict` on a conflict.
   */
  add(podUid: string, containerId: string): void {
    if (this.#containerId === "") {
      this.#podUid = podUid;
      this.#containerId = containerId;
    } else if (this.#containerId !== containerId) {
      throw new AttestorError(
        "id-conflict",
        `multiple container IDs found in cgroups (${this.#containerId}, ${containerId})`,
      );
    } else if (this.#podUid !== podUid) {
      throw new AttestorError(
        "id-conflict",
        `multiple pod UIDs found in cgroups (${this.#podUid}, ${podUid})`,
      );
    }
  }
}
