/**
 * The Linux locator's decisions, as pure functions over file contents: which pod and container a process's
 * `cgroup` file names, whether its `mountinfo` may be consulted, and what that file names. No I/O happens
 * here; `locator.ts` reads `/proc` and calls these in order, and the property tests call them directly.
 *
 * @module
 */

import { AttestorError } from "../../errors.ts";
import type { Logger } from "../../log.ts";
import type { ContainerLocation } from "../types.ts";
import type { PodPathMatcher } from "./anchor.ts";
import { parseCgroupFile } from "./cgroup.ts";
import { extractFromPath, IdMerger, type MergeAction, type PathIds } from "./extract.ts";
import { legacyMatchPath, LegacyMerger } from "./legacy.ts";
import { quote } from "./lines.ts";
import { isCandidateCgroupMount, parseMountinfo } from "./mountinfo.ts";

/** A file as read: its path (for messages) and its text, or `null` when it does not exist. */
export interface FileText {
  /** The path the text was read from. */
  readonly path: string;
  /** The text, or `null` for a missing file. */
  readonly text: string | null;
}

/** What the decisions need besides the files. */
export interface DecideOptions {
  /** The accepted kubelet layouts (`anchor.ts`). */
  readonly matcher: PodPathMatcher;
  /** `use_new_container_locator = false`: the legacy patterns, gated by the same anchoring. */
  readonly legacy: boolean;
  /** `verbose_container_locator_logs`: log every line considered at debug level. */
  readonly verbose: boolean;
  /** Where verbose lines and warnings go (read only when something is logged: it may be made on demand). */
  readonly logger: Logger;
}

/** Where a location came from, for the verbose decision log. */
export type LocationSource = "cgroup" | "mountinfo" | "none";

/** The outcome of {@linkcode decideFromCgroup}. */
export type CgroupDecision =
  | {
    /** Decided: the location (possibly "not in a container"). */
    readonly kind: "decided";
    /** Where it came from. */
    readonly source: LocationSource;
    /** The location, without a start time. */
    readonly location: ContainerLocation;
  }
  | {
    /** Every cgroup path is `/`: the mountinfo fallback may apply (new locator only). */
    readonly kind: "consult-mountinfo";
  };

/** The error prefix for the cgroup file, upstream's wording. */
export const CGROUP_ERROR_PREFIX = "unable to obtain cgroups";

const NOT_IN_CONTAINER: ContainerLocation = Object.freeze({ podUid: null, containerId: null });
const NO_IDS: PathIds = Object.freeze({ podUid: "", containerId: "" });

function location(podUid: string, containerId: string): ContainerLocation {
  if (containerId === "") return NOT_IN_CONTAINER;
  return { podUid: podUid === "" ? null : podUid, containerId };
}

/**
 * Decides from the `cgroup` file. New locator: every path through the anchoring and upstream's merge rules
 * (`IdMerger`); a file whose paths are all `/` asks for the mountinfo fallback; a missing file is "not in a
 * container". Legacy: the legacy patterns, on anchored paths only; a missing file is an error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nullLogger } from "../../log.ts";
 * import { createPodPathMatcher } from "./anchor.ts";
 * import { decideFromCgroup } from "./decide.ts";
 * const options = { matcher: createPodPathMatcher(), legacy: false, verbose: false, logger: nullLogger };
 * const cid = "a".repeat(64);
 * const text = `0::/kubepods/besteffort/pod0d8f6f6a-1b2c-4d5e-8f90-123456789abc/${cid}\n`;
 * assert.deepEqual(decideFromCgroup({ path: "cgroup", text }, options), {
 *   kind: "decided",
 *   source: "cgroup",
 *   location: { podUid: "0d8f6f6a-1b2c-4d5e-8f90-123456789abc", containerId: cid },
 * });
 * assert.deepEqual(decideFromCgroup({ path: "cgroup", text: "0::/\n" }, options), { kind: "consult-mountinfo" });
 * ```
 *
 * @param file The cgroup file.
 * @param options The matcher, algorithm, verbosity and logger.
 * @returns The decision.
 * @throws {AttestorError} `malformed-input` for a malformed file (or, legacy, a missing one), `id-conflict`
 * for conflicting IDs, `outside-pod-cgroups` for a path that names a pod outside the kubelet's pod cgroups.
 */
export function decideFromCgroup(file: FileText, options: DecideOptions): CgroupDecision {
  return options.legacy ? decideLegacy(file, options) : decideNew(file, options);
}

function decideNew(file: FileText, options: DecideOptions): CgroupDecision {
  const { verbose } = options;
  if (file.text === null) {
    if (verbose) options.logger.debug("cgroup file not found; treating as no container", { file: file.path });
    return { kind: "decided", source: "none", location: NOT_IN_CONTAINER };
  }
  const entries = parseCgroupFile(file.text, file.path);
  const merger = new IdMerger();
  const classify = createClassifier(options.matcher, upstreamPodUid);
  for (const entry of entries) {
    const { ids, layout } = classify(entry.path, { file: file.path, line: entry.line });
    const fields = () => ({
      file: file.path,
      line: entry.line,
      total: entries.length,
      cgroup_path: entry.path,
      layout,
    });
    addLogged(merger, ids, fields, "PID cgroup entry considered", options);
  }
  if (merger.containerId !== "") {
    return { kind: "decided", source: "cgroup", location: location(merger.podUid, merger.containerId) };
  }
  // The mountinfo fallback exists for a process at the root of our own cgroup namespace (every path is
  // "/": the agent's container, or a caller sharing it), whose cgroup file cannot name a container. Any
  // other process (a host service, a login session) has a real cgroup path without IDs and is not in a
  // container; its mountinfo is never trusted.
  if (entries.length > 0 && entries.every((e) => e.path === "/")) return { kind: "consult-mountinfo" };
  if (verbose) {
    options.logger.debug("cgroup paths name no container; mountinfo not consulted", { file: file.path });
  }
  return { kind: "decided", source: "none", location: NOT_IN_CONTAINER };
}

function decideLegacy(file: FileText, options: DecideOptions): CgroupDecision {
  const { verbose } = options;
  if (file.text === null) {
    throw new AttestorError(
      "malformed-input",
      `${CGROUP_ERROR_PREFIX}: open ${quote(file.path)}: no such file or directory`,
    );
  }
  const entries = parseCgroupFile(file.text, file.path);
  const merger = new LegacyMerger();
  for (const entry of entries) {
    const fields = { file: file.path, line: entry.line, total: entries.length, cgroup_path: entry.path };
    // The same anchoring as the new locator gates the legacy patterns.
    const anchored = anchoredIds(
      options.matcher,
      entry.path,
      { file: file.path, line: entry.line },
      legacyPodUid,
    );
    if (anchored.ids.containerId === "") {
      if (verbose) {
        options.logger.debug("PID cgroup entry considered", {
          ...fields,
          layout: anchored.layout,
          action: "no match",
        });
      }
      continue;
    }
    const r = legacyMatchPath(entry.path);
    if (r.kind === "ambiguous") {
      options.logger.warn("More than one regex matches for cgroup; ignoring it", fields);
      continue;
    }
    if (r.kind === "none") {
      if (verbose) options.logger.debug("PID cgroup entry considered", { ...fields, action: "no match" });
      continue;
    }
    // The legacy patterns read the whole path, segments below the container included; they must find the
    // very pod and container at the kubelet's positions, or a container could nest another pod's name.
    const podKey = anchored.podKey.replaceAll("_", "-");
    if (r.containerId !== anchored.ids.containerId || r.podUid !== podKey) {
      throw new AttestorError(
        "id-conflict",
        `cgroup path ${quote(entry.path)} (${file.path}:${entry.line}): the legacy patterns find pod ` +
          `${quote(r.podUid)} and container ${r.containerId}, but the kubelet layout has pod ${
            quote(podKey)
          } ` +
          `and container ${anchored.ids.containerId}`,
      );
    }
    const logged = { ...fields, rule: r.rule, pod_uid: r.podUid, container_id: r.containerId };
    try {
      merger.add(r.podUid, r.containerId);
      if (verbose) options.logger.debug("PID cgroup entry considered", { ...logged, action: "matched" });
    } catch (err) {
      if (verbose) options.logger.debug("PID cgroup entry considered", { ...logged, action: "conflict" });
      throw err;
    }
  }
  const found = merger.containerId !== "";
  return {
    kind: "decided",
    source: found ? "cgroup" : "none",
    location: location(merger.podUid, merger.containerId),
  };
}

/** What {@linkcode userNamespaceVerdict} looks at. */
export interface UserNamespaceEvidence {
  /** The process's `uid_map`. */
  readonly uidMap: FileText;
  /** The process's `ns/user` link target, or `null` when it cannot be read. */
  readonly ownUserNs: string | null;
  /** PID 1's `ns/user` link target, or `null` when it cannot be read. */
  readonly initUserNs: string | null;
}

/**
 * Whether mounts in the process's mountinfo can be trusted: `null` when the process is in the initial user
 * namespace, else the reason they cannot. Two tests, both required where they can run:
 * - its `uid_map` is the identity map of all uids (`0 0 4294967295`): a namespace made by an unprivileged
 *   user can map only its own uid (or its `/etc/subuid` range through `newuidmap`), never all of them;
 * - its `ns/user` link equals PID 1's (the initial namespace on a node with `hostPID`); skipped when PID
 *   1's link cannot be read (some sandboxes deny it even to root), never when the process's own cannot.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { userNamespaceVerdict } from "./decide.ts";
 * const initial = { path: "uid_map", text: "         0          0 4294967295\n" };
 * assert.equal(userNamespaceVerdict({ uidMap: initial, ownUserNs: "user:[1]", initUserNs: "user:[1]" }), null);
 * const mine = { path: "uid_map", text: "         0      65534          1\n" };
 * assert.ok(userNamespaceVerdict({ uidMap: mine, ownUserNs: "user:[2]", initUserNs: null }));
 * ```
 *
 * @param evidence The files and links read for the process and PID 1.
 * @returns `null`, or why mountinfo must not be consulted.
 */
export function userNamespaceVerdict(evidence: UserNamespaceEvidence): string | null {
  const { uidMap, ownUserNs, initUserNs } = evidence;
  if (uidMap.text === null) return `${uidMap.path} cannot be read`;
  if (!isIdentityUidMap(uidMap.text)) {
    return `the process is not in the initial user namespace (${uidMap.path}: ${
      JSON.stringify(uidMap.text.trim())
    })`;
  }
  if (ownUserNs === null) return "the process's user namespace (ns/user) cannot be read";
  if (initUserNs !== null && ownUserNs !== initUserNs) {
    return `the process is in user namespace ${ownUserNs}, not PID 1's (${initUserNs})`;
  }
  return null;
}

/** `uid_map` holds at most 340 lines (the kernel's limit) of three numbers. */
export const MAX_UID_MAP_BYTES = 64 * 1024;

/** Whether a `uid_map` maps every uid to itself: one line `0 0 4294967295`. */
function isIdentityUidMap(text: string): boolean {
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  return lines.length === 1 && /^0\s+0\s+4294967295$/.test(lines[0]);
}

/**
 * Decides from the `mountinfo` file (the fallback; call only after {@linkcode decideFromCgroup} asked for it
 * and {@linkcode userNamespaceVerdict} allowed it): the anchored roots of `cgroup`/`cgroup2` mounts whose
 * root is not `/`, merged with upstream's rules. A missing file is "not in a container".
 *
 * @param file The mountinfo file.
 * @param options The matcher, verbosity and logger (`legacy` is not consulted).
 * @returns Where the location came from, and the location.
 * @throws {AttestorError} As {@linkcode decideFromCgroup}, for the mountinfo file.
 */
export function decideFromMountinfo(
  file: FileText,
  options: DecideOptions,
): { source: LocationSource; location: ContainerLocation } {
  const { verbose } = options;
  if (file.text === null) {
    if (verbose) {
      options.logger.debug("mountinfo file not found; treating as no container", { file: file.path });
    }
    return { source: "none", location: NOT_IN_CONTAINER };
  }
  const mounts = parseMountinfo(file.text, file.path);
  const merger = new IdMerger();
  const classify = createClassifier(options.matcher, upstreamPodUid);
  for (const mount of mounts) {
    const base = { file: file.path, line: mount.line, type: mount.fsType, mount_info_root: mount.root };
    if (!isCandidateCgroupMount(mount)) {
      if (verbose) {
        const cgroup = mount.fsType === "cgroup" || mount.fsType === "cgroup2";
        options.logger.debug("PID mount skipped", {
          ...base,
          reason: cgroup ? "cgroup mount at /" : "not a cgroup mount",
        });
      }
      continue;
    }
    const { ids, layout } = classify(mount.root, { file: file.path, line: mount.line });
    addLogged(merger, ids, () => ({ ...base, layout }), "PID mount considered", options);
  }
  if (merger.containerId !== "") {
    return { source: "mountinfo", location: location(merger.podUid, merger.containerId) };
  }
  return { source: "none", location: NOT_IN_CONTAINER };
}

/** Where a path was read, for messages. */
interface Origin {
  readonly file: string;
  readonly line: number;
}

/**
 * The IDs of one cgroup path or mount root: only from a path under the kubelet's pod cgroups. A path
 * outside them yields nothing; one that would name a pod there is refused outright (a forged layout, or a
 * kubelet with a `--cgroup-root` that is not configured).
 */
function anchoredIds(
  matcher: PodPathMatcher,
  path: string,
  origin: Origin,
  namesPod: (path: string) => string,
): Anchored {
  const m = matcher.match(path);
  if (m.kind === "container") {
    return { ids: { podUid: m.podUid, containerId: m.containerId }, podKey: m.podKey, layout: m.layout };
  }
  if (m.kind === "outside") {
    const podUid = namesPod(path);
    if (podUid !== "") throw outsideError(path, podUid, origin, matcher);
    return { ids: NO_IDS, podKey: "", layout: "outside kubelet pod cgroups" };
  }
  return { ids: NO_IDS, podKey: "", layout: "no container" };
}

/** What {@linkcode anchoredIds} found: the IDs, the pod segment's UID text and the layout's name. */
interface Anchored {
  readonly ids: PathIds;
  readonly podKey: string;
  readonly layout: string;
}

/** One-entry memo over {@linkcode anchoredIds}: a cgroup v1 file repeats one path on most lines. */
function createClassifier(matcher: PodPathMatcher, namesPod: (path: string) => string) {
  let lastPath: string | undefined;
  let last: Anchored = { ids: NO_IDS, podKey: "", layout: "" };
  return (path: string, origin: Origin) => {
    if (path !== lastPath) {
      last = anchoredIds(matcher, path, origin, namesPod);
      lastPath = path;
    }
    return last;
  };
}

/** The pod UID upstream's segment walk would take from an unanchored path (`""` for none). */
const upstreamPodUid = (path: string) => extractFromPath(path).podUid;

/** The pod UID the legacy patterns would take from an unanchored path (`""` for none). */
function legacyPodUid(path: string): string {
  const r = legacyMatchPath(path);
  return r.kind === "match" ? r.podUid : "";
}

function addLogged(
  merger: IdMerger,
  ids: PathIds,
  fields: () => Record<string, string | number>,
  message: string,
  options: DecideOptions,
): MergeAction {
  const logged = () => ({ ...fields(), pod_uid: ids.podUid, container_id: ids.containerId });
  try {
    const action = merger.add(ids);
    if (options.verbose) options.logger.debug(message, { ...logged(), action });
    return action;
  } catch (err) {
    if (options.verbose) {
      options.logger.debug(message, {
        ...logged(),
        action: "conflict",
        previous_pod_uid: merger.podUid,
        previous_container_id: merger.containerId,
      });
    }
    throw err;
  }
}

/** The error for a path that names a pod outside the kubelet's pod cgroups. */
function outsideError(path: string, podUid: string, origin: Origin, matcher: PodPathMatcher): AttestorError {
  return new AttestorError(
    "outside-pod-cgroups",
    `cgroup path ${quote(path)} (${origin.file}:${origin.line}) names pod ${podUid} but is not under the ` +
      `kubelet's pod cgroups (accepted kubelet cgroup roots: ${matcher.roots.join(", ")}); no identity is ` +
      `given to a process outside them. If the kubelet runs with another --cgroup-root, set kubelet_cgroup_root`,
  );
}
