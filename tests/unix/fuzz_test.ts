/**
 * Property tests: random and mutated cgroup and mountinfo input never makes the parsers throw anything but
 * an AttestorError, every result satisfies the output invariants, and adversarial inputs at the size limits
 * finish (the iteration counts prove the loops ran; there are no timing assertions).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { AttestorError } from "../../src/errors.ts";
import { parseCgroupFile } from "../../src/platform/unix/cgroup.ts";
import { createPodPathMatcher } from "../../src/platform/unix/anchor.ts";
import { extractFromPath } from "../../src/platform/unix/extract.ts";
import { legacyMatchPath } from "../../src/platform/unix/legacy.ts";
import { parseMountinfo } from "../../src/platform/unix/mountinfo.ts";
import { decideFromCgroup, decideFromMountinfo, type DecideOptions } from "../../src/platform/unix/decide.ts";
import { nullLogger } from "../../src/log.ts";
import type { ContainerLocation } from "../../src/platform/types.ts";
import { MAX_LINE_BYTES } from "../../src/platform/unix/lines.ts";
import { createUnixLocator } from "../../src/platform/unix/locator.ts";
import { chars, int, pick, rng } from "../_rng.ts";

const PROC_ROOT = fileURLToPath(new URL("../testdata/proc/", import.meta.url));
const HEX64 = /^[0-9A-Fa-f]{64}$/;
const HASH32 = /^[0-9A-Fa-f]{32}$/;
const DASHED_UID = /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/;

const MATCHER = createPodPathMatcher();
const decide = (legacy: boolean): DecideOptions => ({
  matcher: MATCHER,
  legacy,
  verbose: false,
  logger: nullLogger,
});

/**
 * Runs the locator's own decisions (`decide.ts`, the same functions the locator calls) on a cgroup text
 * and a mountinfo text, for the new and the legacy locator, checking the invariants.
 */
function runPipelines(cgroup: string, mountinfo: string): { outcomes: number; errors: number } {
  let outcomes = 0, errors = 0;
  const attempt = (fn: () => void) => {
    try {
      fn();
      outcomes++;
    } catch (err) {
      if (!(err instanceof AttestorError)) throw err;
      assert.ok(["malformed-input", "id-conflict", "outside-pod-cgroups"].includes(err.reason), err.reason);
      errors++;
    }
  };
  for (const legacy of [false, true]) {
    attempt(() => {
      const d = decideFromCgroup({ path: "cgroup", text: cgroup }, decide(legacy));
      if (d.kind === "consult-mountinfo") {
        assert.equal(legacy, false, "only the new locator falls back");
        assert.ok(parseCgroupFile(cgroup, "cgroup").every((e) => e.path === "/"));
        return;
      }
      checkLocation(d.location, cgroup, () => parseCgroupFile(cgroup, "cgroup").map((e) => e.path));
    });
  }
  attempt(() =>
    checkLocation(
      decideFromMountinfo({ path: "mountinfo", text: mountinfo }, decide(false)).location,
      mountinfo,
      () => parseMountinfo(mountinfo, "mountinfo").map((m) => m.root),
    )
  );
  return { outcomes, errors };
}

/** A location's invariants: IDs in their shapes, taken from the input, and only from an anchored path. */
function checkLocation(loc: ContainerLocation, text: string, paths: () => string[]): void {
  checkNew(loc.podUid ?? "", loc.containerId ?? "", text);
  if (loc.containerId !== null) {
    const anchored = paths().some((p) => {
      const m = MATCHER.match(p);
      return m.kind === "container" && m.containerId === loc.containerId;
    });
    assert.ok(anchored, "the container ID comes from an anchored path");
  }
}

function checkNew(podUid: string, containerId: string, text: string): void {
  if (containerId === "") {
    assert.equal(podUid, "");
    return;
  }
  assert.match(containerId, HEX64);
  assert.ok(text.includes(containerId), "the container ID comes from the input");
  if (podUid !== "") {
    assert.ok(DASHED_UID.test(podUid) || HASH32.test(podUid), podUid); // legacy keeps a static pod's hash
    const rendered = new RegExp(`pod${podUid.replaceAll("-", "[-_]")}`);
    assert.ok(rendered.test(text), "the pod UID comes from the input, in - or _ form");
  }
}

const ALPHABET = "0123456789abcdefABCDEF:/-_. \r\t\n\u0000é\u2028podcrioslicescope";

function randomLine(r: () => number): string {
  switch (int(r, 4)) {
    case 0:
      return chars(r, ALPHABET, int(r, 120));
    case 1:
      return `${int(r, 14)}:${pick(r, ["", "pids", "name=systemd", "cpu,cpuacct"])}:` +
        chars(r, "/-_.:0123456789abcdefpod", int(r, 160));
    case 2:
      return `${int(r, 2000)} ${int(r, 2000)} 0:${int(r, 99)} ${
        chars(r, "/abcdef0123456789-_pod.", int(r, 120))
      } ` +
        `/m rw${pick(r, ["", " shared:1", " master:2"])} ${pick(r, ["-", "", "- "])} ` +
        `${pick(r, ["cgroup", "cgroup2", "tmpfs", ""])} ${pick(r, ["", "cgroup"])} rw`;
    default:
      return `0::/kubepods/pod${crypto.randomUUID()}/${chars(r, "0123456789abcdef", pick(r, [63, 64, 65]))}`;
  }
}

function mutate(r: () => number, text: string): string {
  const ops = 1 + int(r, 6);
  let s = text;
  for (let i = 0; i < ops; i++) {
    const at = int(r, s.length + 1);
    switch (int(r, 6)) {
      case 0:
        s = s.slice(0, at) + s.slice(at + 1 + int(r, 8)); // delete
        break;
      case 1:
        s = s.slice(0, at) + chars(r, ALPHABET, 1 + int(r, 4)) + s.slice(at); // insert
        break;
      case 2:
        s = s.slice(0, at) + pick(r, [":", "/", "\n", " - ", "\r\n", "_", "-"]) + s.slice(at + 1); // replace
        break;
      case 3: {
        const lines = s.split("\n"); // duplicate or swap lines
        const a = int(r, lines.length), b = int(r, lines.length);
        if (int(r, 2) === 0) lines.splice(a, 0, lines[b]);
        else [lines[a], lines[b]] = [lines[b], lines[a]];
        s = lines.join("\n");
        break;
      }
      case 4:
        s = s.slice(0, at) + s.slice(at).toUpperCase();
        break;
      default:
        s = s.slice(0, at); // truncate
    }
  }
  return s;
}

function fixtureTexts(): string[] {
  const texts: string[] = [];
  for (const dir of Deno.readDirSync(PROC_ROOT)) {
    const proc = join(PROC_ROOT, dir.name, "proc");
    for (const pid of Deno.readDirSync(proc)) {
      for (const name of ["cgroup", "mountinfo"]) {
        try {
          texts.push(Deno.readTextFileSync(join(proc, pid.name, name)));
        } catch { /* not every case has both files */ }
      }
    }
  }
  return texts;
}

describe("fuzz: parsers and extractors", () => {
  const seed = 20261127;
  it(`random lines (seed ${seed})`, () => {
    const r = rng(seed);
    let iterations = 0, outcomes = 0, errors = 0;
    for (let i = 0; i < 4000; i++) {
      const lines = Array.from({ length: int(r, 16) }, () => randomLine(r));
      const res = runPipelines(lines.join("\n"), lines.join(pick(r, ["\n", "\r\n", "\n\n"])));
      outcomes += res.outcomes;
      errors += res.errors;
      iterations++;
    }
    assert.equal(iterations, 4000);
    assert.ok(
      outcomes > 1000 && errors > 1000,
      `outcomes ${outcomes}, errors ${errors}: both paths exercised`,
    );
  });

  it(`mutated fixtures (seed ${seed + 1})`, () => {
    const r = rng(seed + 1);
    const texts = fixtureTexts();
    assert.ok(texts.length > 60);
    let iterations = 0, found = 0;
    for (let i = 0; i < 6000; i++) {
      const a = mutate(r, pick(r, texts)), b = mutate(r, pick(r, texts));
      runPipelines(a, b);
      iterations++;
      try {
        const d = decideFromCgroup({ path: "c", text: a }, decide(false));
        if (d.kind === "decided" && d.location.containerId !== null) found++;
      } catch { /* counted above */ }
    }
    assert.equal(iterations, 6000);
    assert.ok(found > 300, `mutations still yield anchored IDs (${found}), so the invariants were checked`);
  });

  it("adversarial inputs at the line limit finish (no catastrophic backtracking)", () => {
    const uid = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
    const max = MAX_LINE_BYTES - 32; // room for the mountinfo fields around the root
    const bytes = (s: string) => new TextEncoder().encode(s).length;
    const fill = (unit: string, tail = "") =>
      unit.repeat(Math.floor((max - bytes(tail)) / bytes(unit))) + tail;
    const hex = "f".repeat(64);
    const adversarial = [
      fill("a/"), // the shape that hangs a literal port of upstream's cri-o pattern
      fill("a/", "crio"),
      fill("a/", `crio-${hex}x`),
      fill(`/pod${uid}`, `/x${hex}`),
      fill(`/pod${uid}/`, `-/${hex}`),
      fill(`-pod${uid}.slice`, `::${hex}`),
      fill(`pod${uid}-`, `crio-${hex}`),
      fill("0"),
      fill("0", "/"),
      fill(`${hex}/`),
      fill("pod"),
      fill("/"),
      fill("/-"),
      fill("é/"),
    ];
    let iterations = 0;
    for (const path of adversarial) {
      assert.ok(bytes(path) <= max && bytes(path) > max - 200);
      for (let k = 0; k < 5; k++) {
        const r1 = legacyMatchPath(path);
        assert.ok(["match", "none", "ambiguous"].includes(r1.kind));
        const ids = extractFromPath(path);
        assert.ok(ids.containerId === "" || HEX64.test(ids.containerId));
        assert.ok(["container", "none", "outside"].includes(MATCHER.match(path).kind));
        const entries = parseCgroupFile(`0::${path}\n`, "c");
        assert.equal(entries.length, 1);
        for (const legacy of [false, true]) {
          try {
            decideFromCgroup({ path: "c", text: `0::${path}\n` }, decide(legacy));
          } catch (err) {
            assert.ok(err instanceof AttestorError, String(err));
          }
        }
        const mounts = parseMountinfo(`1 2 0:1 ${path} /m rw - cgroup2 c rw\n`, "m");
        assert.equal(mounts[0].root, path);
        iterations++;
      }
    }
    assert.equal(iterations, adversarial.length * 5);
  });
});

describe("fuzz: whole locator over files", () => {
  it("mutated fixture files through createUnixLocator never throw anything but AttestorError", async () => {
    const r = rng(77);
    const texts = fixtureTexts();
    const root = await Deno.makeTempDir({ prefix: "locator_fuzz_" });
    try {
      let iterations = 0, ok = 0, failed = 0;
      for (let i = 0; i < 150; i++) {
        const dir = join(root, "proc", String(1000 + i));
        await Deno.mkdir(dir, { recursive: true });
        if (int(r, 8) !== 0) await Deno.writeTextFile(join(dir, "cgroup"), mutate(r, pick(r, texts)));
        if (int(r, 8) !== 0) await Deno.writeTextFile(join(dir, "mountinfo"), mutate(r, pick(r, texts)));
        for (const useNewContainerLocator of [true, false]) {
          try {
            const loc = await createUnixLocator({ procRoot: root, useNewContainerLocator }).locate(1000 + i);
            assert.ok(loc.containerId === null || HEX64.test(loc.containerId));
            assert.ok(loc.containerId !== null || loc.podUid === null);
            ok++;
          } catch (err) {
            assert.ok(err instanceof AttestorError, String(err));
            failed++;
          }
        }
        iterations++;
      }
      assert.equal(iterations, 150);
      assert.ok(ok > 20 && failed > 20, `${ok} ok, ${failed} failed`);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  });
});
