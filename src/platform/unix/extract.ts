/**
 * The current upstream container locator's core (`pkg/common/containerinfo`, SPIRE v1.15.3): the segment walk
 * that pulls a pod UID and a 64-hex container ID out of one cgroup path or mount root, and the state that
 * merges the results of all paths of one source file.
 *
 * @module
 */

import { AttestorError } from "../../errors.ts";
import { quote } from "./lines.ts";

/** A 64-hex container ID between ASCII word boundaries (no `u` flag, so `\b` is ASCII, as in Go). */
const CONTAINER_ID = /\b([0-9A-Fa-f]{64})\b/;

/** `pod<uid>` in the cgroupfs (`-`) or systemd (`_`) rendering, between ASCII word boundaries. */
const POD_UID =
  /\bpod([0-9A-Fa-f]{8}[-_][0-9A-Fa-f]{4}[-_][0-9A-Fa-f]{4}[-_][0-9A-Fa-f]{4}[-_][0-9A-Fa-f]{12})\b/;

/** What one path yields. Empty strings mean "not found". */
export interface PathIds {
  /** The pod UID in dashed form, or `""`. */
  readonly podUid: string;
  /** The container ID as found (case preserved), or `""`. */
  readonly containerId: string;
}

const NONE: PathIds = Object.freeze({ podUid: "", containerId: "" });

/** Go's `path.Split` followed by trimming one `/` from the directory part. */
function splitLast(p: string): [rest: string, segment: string] {
  const i = p.lastIndexOf("/");
  return i < 0 ? ["", p] : [p.slice(0, i), p.slice(i + 1)];
}

/**
 * Extracts the IDs from one cgroup path or mount root. Walks the segments from the end to the first one
 * holding a 64-hex container ID, then keeps walking back (from what precedes the ID in that segment) to the
 * first `pod<uid>`. An empty segment (the root, `//`, a trailing `/`) ends each walk. Without a container ID
 * nothing is returned, not even a pod UID.
 *
 * @example systemd driver, containerd
 * ```ts
 * import assert from "node:assert/strict";
 * import { extractFromPath } from "./extract.ts";
 * const cid = "f".repeat(64);
 * const ids = extractFromPath(
 *   `/kubepods.slice/kubepods-pod1a2b3c4d_0000_4000_8000_00000000abcd.slice/cri-containerd-${cid}.scope`,
 * );
 * assert.deepEqual(ids, { podUid: "1a2b3c4d-0000-4000-8000-00000000abcd", containerId: cid });
 * ```
 *
 * @param path A cgroup group path or a cgroup mount root.
 * @returns The pod UID (dashed) and container ID, `""` where not found.
 */
export function extractFromPath(path: string): PathIds {
  let [rest, segment] = splitLast(path);
  let containerId = "";
  while (segment !== "") {
    const m = CONTAINER_ID.exec(segment);
    if (m) {
      containerId = m[1];
      segment = segment.slice(0, m.index);
      break;
    }
    [rest, segment] = splitLast(rest);
  }
  if (containerId === "") return NONE;
  if (segment === "") [rest, segment] = splitLast(rest);
  while (segment !== "") {
    const m = POD_UID.exec(segment);
    if (m) return Object.freeze({ podUid: m[1].replaceAll("_", "-"), containerId });
    [rest, segment] = splitLast(rest);
  }
  return Object.freeze({ podUid: "", containerId });
}

/**
 * Returns {@linkcode extractFromPath} with a one-entry memo, for the paths of one file: a cgroup v1 file
 * repeats one path on most of its lines, so a 13-line file costs about one walk. Use one per file.
 *
 * @returns A function equivalent to {@linkcode extractFromPath}.
 */
export function createPathExtractor(): (path: string) => PathIds {
  let lastPath: string | undefined;
  let lastIds: PathIds = NONE;
  return (path) => {
    if (path !== lastPath) {
      lastIds = extractFromPath(path);
      lastPath = path;
    }
    return lastIds;
  };
}

/**
 * What {@linkcode IdMerger.add} did with an entry, for verbose logs: `ignored` (no pod UID after one was
 * seen), `replaced` (the first pod UID replaced what was found without one), `set` (the state changed) or
 * `unchanged`.
 */
export type MergeAction = "ignored" | "replaced" | "set" | "unchanged";

/**
 * Merges the per-path results of one source file (the cgroup file, or the mountinfo file), with upstream's
 * rules:
 *
 * 1. once a pod UID is known, entries without one are ignored;
 * 2. the first entry with a pod UID replaces whatever was found without one;
 * 3. a different pod UID is a conflict;
 * 4. a different container ID is a conflict, **including `""` after an ID while no pod UID is known** (the
 *    order-dependent quirk of upstream §2.2.4: `/docker/<id>` followed by `/` fails, the reverse succeeds).
 *
 * Conflicts throw `id-conflict` (upstream's code and message text).
 *
 * @example The quirk
 * ```ts
 * import assert from "node:assert/strict";
 * import { extractFromPath, IdMerger } from "./extract.ts";
 * const m = new IdMerger();
 * m.add(extractFromPath("/docker/" + "a".repeat(64)));
 * assert.throws(() => m.add(extractFromPath("/")), /, ""\)$/);
 * ```
 */
export class IdMerger {
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
   * Adds the result of one path.
   *
   * @param ids What the path yielded.
   * @returns What was done with it.
   * @throws {AttestorError} `id-conflict` on conflicting pod UIDs or container IDs.
   */
  add(ids: PathIds): MergeAction {
    const { podUid, containerId } = ids;
    if (this.#podUid !== "" && podUid === "") return "ignored";
    const replaced = this.#podUid === "" && podUid !== "";
    if (replaced) {
      this.#podUid = podUid;
      this.#containerId = containerId;
    }
    if (podUid !== "" && this.#podUid !== "" && podUid !== this.#podUid) {
      throw new AttestorError(
        "id-conflict",
        `multiple pod UIDs found (${quote(this.#podUid)}, ${quote(podUid)})`,
      );
    }
    if (this.#containerId !== "" && containerId !== this.#containerId) {
      throw new AttestorError(
        "id-conflict",
        `multiple container IDs found (${quote(this.#containerId)}, ${quote(containerId)})`,
      );
    }
    const changed = this.#containerId !== containerId || this.#podUid !== podUid;
    this.#containerId = containerId;
    this.#podUid = podUid;
    return replaced ? "replaced" : changed ? "set" : "unchanged";
  }
}
