/**
 * Anchored cgroup paths: a pod UID and a container ID are taken from a cgroup path (or a cgroup mount root)
 * only when the path lies under the kubelet's pod cgroups, with the pod and container segments exactly where
 * the kubelet and the container runtimes put them.
 *
 * Why: cgroup directory *names* are chosen by whoever creates the directory. systemd delegates writable
 * cgroup subtrees to every logged-in user (`user@<uid>.service`), to `Delegate=yes` services and to rootless
 * container runtimes, so an unprivileged user can create `…/kubepods.slice/…-pod<U>.slice/cri-containerd-<C>.scope`
 * inside its own subtree and move itself there. The kernel shows such a process at its real place, for
 * example `/user.slice/user-1000.slice/user@1000.service/…`, so a path is trusted only from its *start*: the
 * first segments must be the kubelet's pod cgroup root, which only root can create directories in.
 *
 * The layouts accepted, for every accepted kubelet `--cgroup-root` R (by default `/`, `/kubelet` as in kind,
 * and `/kubepods` as in Docker Desktop; or exactly the configured `kubelet_cgroup_root`):
 *
 * | driver | path |
 * |---|---|
 * | cgroupfs | `R/kubepods[/burstable\|/besteffort]/pod<uid>/<container>` |
 * | systemd | `R.slice…/K.slice[/K-burstable.slice\|/K-besteffort.slice]/K[-qos]-pod<uid_>.slice/<container>` with `K` = `[R-]kubepods` |
 * | systemd name used as a cgroupfs path | `R/K[-qos]-pod<uid_>.slice:<runtime>:<id>` (containerd with a mismatched cgroup driver) |
 *
 * - `<uid>` is a dashed UUID (underscores in the systemd form) or a 32-hex static-pod hash; a hash yields
 *   no pod UID (as upstream), so the container is matched by its ID alone.
 * - `<container>` is `[<runtime>-]<64 hex>[.scope]`: `cri-containerd-…scope`, `crio-…scope`, `docker-…scope`,
 *   cgroupfs `<id>` or `crio-<id>`, and cri-o's `crio-conmon-<id>.scope` monitor.
 * - Segments below the container (a container that manages its own cgroup subtree) are allowed and never read.
 * - A nested node container, `/docker/<64 hex>` (kind and minikube on cgroup v1 without cgroup namespaces),
 *   may precede an absolute layout only when it is the agent's own node container (`nodeContainers`, read
 *   by the locator from the agent's own `/proc/self/cgroup`): what lies inside another docker container's
 *   cgroup is made by whoever can write that container's cgroupfs, not by a kubelet we trust.
 * - A path that starts with `..` comes from a process outside the reader's cgroup namespace; the kernel
 *   renders it relative to the reader's namespace root. What follows the `..` run must be a whole layout or
 *   its tail from any level down (`burstable/pod<uid>/<id>`, `pod<uid>/<id>`, `crio-<id>.scope`): its first
 *   segment is a child of one of the reader's own ancestors, which the kubelet or the runtime created. This
 *   assumes that the agent itself does not run inside a delegated subtree.
 *
 * A path with an empty segment (`//`, a trailing `/`) is never accepted: the kernel does not write one.
 *
 * @module
 */

/** What the kubelet would be started with as `--cgroup-root`, split into segments (`[]` for `/`). */
export type CgroupRoot = readonly string[];

/** The result of {@linkcode PodPathMatcher.match}. */
export type PodPathMatch =
  | {
    /** Anchored, with a container segment at the container position. */
    readonly kind: "container";
    /** The pod UID (dashed, case preserved), or `""` when the layout does not name one. */
    readonly podUid: string;
    /** The container ID, case preserved. */
    readonly containerId: string;
    /**
     * The UID text of the pod segment as written (dashed, or a 32-hex static-pod hash), `""` when the layout
     * has no pod segment (a relative path from the container level).
     */
    readonly podKey: string;
    /** The layout that matched, for verbose logs (e.g. `systemd /kubelet burstable`). */
    readonly layout: string;
  }
  | {
    /** Under the kubelet's pod cgroups (or `/`) but not inside a container: no IDs. */
    readonly kind: "none";
  }
  | {
    /** Not under the kubelet's pod cgroups: no IDs may be taken from it. */
    readonly kind: "outside";
  };

/** Matches cgroup paths against the accepted kubelet layouts. */
export interface PodPathMatcher {
  /** The accepted kubelet cgroup roots, as `/`-joined paths, for messages. */
  readonly roots: readonly string[];
  /** The node containers (`/docker/<id>`) accepted in front of a layout. */
  readonly nodeContainers: readonly string[];
  /**
   * Classifies one cgroup path (the third field of a `/proc/<pid>/cgroup` line) or cgroup mount root.
   *
   * @param path The path, starting with `/`.
   * @returns Where the path lies and, inside a container, its IDs.
   */
  match(path: string): PodPathMatch;
}

/** The kubelet cgroup roots accepted when `kubelet_cgroup_root` is not configured. */
export const DEFAULT_CGROUP_ROOTS: readonly string[] = Object.freeze(["/", "/kubelet", "/kubepods"]);

const CONTAINER_SEGMENT = /^(?:[a-z][a-z0-9-]*-)?([0-9A-Fa-f]{64})(?:\.scope)?$/;
const UUID_DASHED = "[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}";
const UUID_UNDERSCORED = "[0-9A-Fa-f]{8}_[0-9A-Fa-f]{4}_[0-9A-Fa-f]{4}_[0-9A-Fa-f]{4}_[0-9A-Fa-f]{12}";
const HASH32 = "[0-9A-Fa-f]{32}";
const CGROUPFS_POD = new RegExp(`^pod(?:(${UUID_DASHED})|(${HASH32}))$`);
const SEGMENT_OF_ROOT = /^[A-Za-z0-9_][A-Za-z0-9_.]*$/;
const QOS_CLASSES = ["", "burstable", "besteffort"] as const;

/** What a pod segment names: the dashed UID (`""` for a static pod's hash) and the UID text as written. */
interface PodSegment {
  readonly podUid: string;
  readonly podKey: string;
}

/** One position of a layout: a literal segment, the pod segment or the container segment. */
type Slot =
  | { readonly kind: "literal"; readonly text: string }
  | { readonly kind: "pod"; readonly test: (segment: string) => PodSegment | null }
  | { readonly kind: "container" }
  | {
    readonly kind: "colon";
    readonly test: (segment: string) => (PodSegment & { containerId: string }) | null;
  };

interface Layout {
  readonly name: string;
  readonly slots: readonly Slot[];
}

/**
 * Validates a `kubelet_cgroup_root` value: an absolute path (`/` alone, or `/`-separated segments of letters,
 * digits, `_` and `.`), as given to the kubelet's `--cgroup-root` in cgroupfs form.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCgroupRoot } from "./anchor.ts";
 * assert.deepEqual(parseCgroupRoot("/kubelet"), ["kubelet"]);
 * assert.throws(() => parseCgroupRoot("kubelet"));
 * ```
 *
 * @param text The configured value.
 * @returns Its segments (`[]` for `/`).
 * @throws {Error} With a message that says what is wrong.
 */
export function parseCgroupRoot(text: string): CgroupRoot {
  if (!text.startsWith("/")) throw new Error('must be an absolute cgroup path such as "/" or "/kubelet"');
  if (text === "/") return [];
  if (text.length > 1024) throw new Error(`must be at most 1024 characters (got ${text.length})`);
  const segments = text.slice(1).split("/");
  for (const segment of segments) {
    if (segment === "") throw new Error('must not contain empty segments or end in "/"');
    if (segment === "." || segment === "..") throw new Error('must not contain "." or ".." segments');
    if (!SEGMENT_OF_ROOT.test(segment)) {
      throw new Error(
        'segments may hold only letters, digits, "_" and "." (give the cgroupfs form, e.g. "/kubelet", ' +
          "not the systemd slice name)",
      );
    }
  }
  return Object.freeze(segments);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The systemd pod slice name test: `<parent>-pod<uid_>.slice`. */
function systemdPodTest(parent: string): (segment: string) => PodSegment | null {
  const re = new RegExp(`^${escapeRegExp(parent)}-pod(?:(${UUID_UNDERSCORED})|(${HASH32}))\\.slice$`);
  return (segment) => {
    const m = re.exec(segment);
    if (!m) return null;
    return m[1] === undefined
      ? { podUid: "", podKey: m[2] }
      : { podUid: m[1].replaceAll("_", "-"), podKey: m[1] };
  };
}

function cgroupfsPodTest(segment: string): PodSegment | null {
  const m = CGROUPFS_POD.exec(segment);
  if (!m) return null;
  return m[1] === undefined ? { podUid: "", podKey: m[2] } : { podUid: m[1], podKey: m[1] };
}

function layoutsFor(root: CgroupRoot): Layout[] {
  const rootText = "/" + root.join("/");
  const layouts: Layout[] = [];
  const literal = (text: string): Slot => ({ kind: "literal", text });
  // cgroupfs driver: R/kubepods[/qos]/pod<uid>/<container>
  for (const qos of QOS_CLASSES) {
    layouts.push({
      name: `cgroupfs ${rootText} ${qos || "guaranteed"}`,
      slots: [
        ...root.map(literal),
        literal("kubepods"),
        ...(qos ? [literal(qos)] : []),
        { kind: "pod", test: cgroupfsPodTest },
        { kind: "container" },
      ],
    });
  }
  // systemd driver: each slice's name spells its whole path, joined with "-".
  const rootSlices = root.map((_, i) => `${root.slice(0, i + 1).join("-")}.slice`);
  const kubepods = root.length === 0 ? "kubepods" : `${root.join("-")}-kubepods`;
  for (const qos of QOS_CLASSES) {
    const parent = qos ? `${kubepods}-${qos}` : kubepods;
    const podTest = systemdPodTest(parent);
    layouts.push({
      name: `systemd ${rootText} ${qos || "guaranteed"}`,
      slots: [
        ...rootSlices.map(literal),
        literal(`${kubepods}.slice`),
        ...(qos ? [literal(`${parent}.slice`)] : []),
        { kind: "pod", test: podTest },
        { kind: "container" },
      ],
    });
    // The systemd cgroupsPath "<pod slice>:<runtime>:<id>" taken literally by a cgroupfs manager.
    const colon = new RegExp(
      `^(${
        escapeRegExp(parent)
      }-pod(?:${UUID_UNDERSCORED}|${HASH32})\\.slice):[a-z][a-z0-9-]*:([0-9A-Fa-f]{64})$`,
    );
    layouts.push({
      name: `systemd-name-as-cgroupfs ${rootText} ${qos || "guaranteed"}`,
      slots: [...root.map(literal), {
        kind: "colon",
        test: (segment) => {
          const m = colon.exec(segment);
          if (!m) return null;
          const pod = podTest(m[1]);
          return pod === null ? null : { ...pod, containerId: m[2] };
        },
      }],
    });
  }
  return layouts;
}

/**
 * Matches `segments` against `layout` starting at slot `first`. Returns the IDs when the container slot is
 * reached, `"none"` when the segments end at or after the pod slot without reaching the container slot (or
 * end at a literal), `null` on any mismatch.
 */
function matchLayout(
  layout: Layout,
  segments: readonly string[],
  first: number,
): { podUid: string; podKey: string; containerId: string } | "none" | null {
  let pod: PodSegment = { podUid: "", podKey: "" };
  let s = 0;
  for (let i = first; i < layout.slots.length; i++, s++) {
    if (s >= segments.length) return "none";
    const slot = layout.slots[i];
    const segment = segments[s];
    switch (slot.kind) {
      case "literal":
        if (segment !== slot.text) return null;
        break;
      case "pod": {
        const found = slot.test(segment);
        if (found === null) return null;
        pod = found;
        break;
      }
      case "container": {
        const m = CONTAINER_SEGMENT.exec(segment);
        return m ? { ...pod, containerId: m[1] } : null;
      }
      case "colon":
        return slot.test(segment);
    }
  }
  return null;
}

/**
 * Creates a matcher for the given kubelet cgroup roots.
 *
 * @example A forged path in a delegated subtree is outside; the real one is not
 * ```ts
 * import assert from "node:assert/strict";
 * import { createPodPathMatcher } from "./anchor.ts";
 * const m = createPodPathMatcher();
 * const cid = "c".repeat(64);
 * const pod = "kubepods-besteffort-pod1a2b3c4d_0000_4000_8000_00000000abcd.slice";
 * const real = `/kubepods.slice/kubepods-besteffort.slice/${pod}/cri-containerd-${cid}.scope`;
 * assert.deepEqual(m.match(real), {
 *   kind: "container",
 *   podUid: "1a2b3c4d-0000-4000-8000-00000000abcd",
 *   containerId: cid,
 *   podKey: "1a2b3c4d_0000_4000_8000_00000000abcd",
 *   layout: "systemd / besteffort",
 * });
 * assert.equal(m.match(`/user.slice/user-1000.slice/user@1000.service${real}`).kind, "outside");
 * ```
 *
 * @param roots Accepted kubelet `--cgroup-root` values (cgroupfs form). @default {DEFAULT_CGROUP_ROOTS}
 * @param nodeContainers The IDs of docker node containers accepted in front of an absolute layout: only the
 * agent's own (kind on cgroup v1). @default {[]}
 * @returns The matcher.
 * @throws {Error} When a root is not valid (see {@linkcode parseCgroupRoot}).
 */
export function createPodPathMatcher(
  roots: readonly string[] = DEFAULT_CGROUP_ROOTS,
  nodeContainers: readonly string[] = [],
): PodPathMatcher {
  const layouts = roots.flatMap((r) => layoutsFor(parseCgroupRoot(r)));

  function matchFrom(segments: readonly string[], relative: boolean): PodPathMatch | null {
    let sawNone = false;
    for (const layout of layouts) {
      const starts = relative ? layout.slots.length : 1;
      for (let first = 0; first < starts; first++) {
        const r = matchLayout(layout, segments, first);
        if (r === null) continue;
        if (r === "none") {
          sawNone = true;
          continue;
        }
        return {
          kind: "container",
          podUid: r.podUid,
          containerId: r.containerId,
          podKey: r.podKey,
          layout: layout.name,
        };
      }
    }
    return sawNone ? NONE : null;
  }

  function match(path: string): PodPathMatch {
    if (path === "/") return NONE;
    if (!path.startsWith("/")) return OUTSIDE;
    const segments = path.slice(1).split("/");
    if (segments.includes("")) return OUTSIDE;
    let up = 0;
    while (up < segments.length && segments[up] === "..") up++;
    if (up === segments.length) return NONE; // an ancestor of our own namespace root
    if (segments.slice(up).some((s) => s === "." || s === "..")) return OUTSIDE;
    const rest = up > 0 ? segments.slice(up) : segments;
    const direct = matchFrom(rest, up > 0);
    if (direct !== null) return direct;
    // The agent's own node container (/docker/<id>) in front of an absolute layout.
    if (up === 0 && rest.length > 2 && rest[0] === "docker" && nodeContainers.includes(rest[1])) {
      const nested = matchFrom(rest.slice(2), false);
      if (nested !== null) return nested;
    }
    return OUTSIDE;
  }

  return { roots: Object.freeze([...roots]), nodeContainers: Object.freeze([...nodeContainers]), match };
}

/**
 * The docker node container the agent itself runs in, from the agent's own cgroup file: the `<id>` of
 * `/docker/<64 hex>/…` when every path that starts so names the same one (kind on cgroup v1), else none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ownNodeContainers } from "./anchor.ts";
 * const id = "e".repeat(64);
 * assert.deepEqual(ownNodeContainers(`1:name=systemd:/docker/${id}/kubepods/pod1/x\n0::/\n`), [id]);
 * assert.deepEqual(ownNodeContainers("0::/kubepods.slice/x\n"), []);
 * ```
 *
 * @param ownCgroupFile The text of the agent's `/proc/self/cgroup`.
 * @returns `[id]`, or `[]`.
 */
export function ownNodeContainers(ownCgroupFile: string): string[] {
  const ids = new Set<string>();
  for (const line of ownCgroupFile.split("\n")) {
    const path = line.split(":").slice(2).join(":");
    const m = /^\/docker\/([0-9A-Fa-f]{64})(?:\/|$)/.exec(path);
    if (m) ids.add(m[1]);
  }
  return ids.size === 1 ? [...ids] : [];
}

const NONE: PodPathMatch = Object.freeze({ kind: "none" });
const OUTSIDE: PodPathMatch = Object.freeze({ kind: "outside" });
