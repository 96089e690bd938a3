import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createNativeHeapTrimmer, loadMallocTrim } from "../../src/memory/malloc_trim.ts";
import { createHclogLogger, nullLogger } from "../../src/log.ts";

const linux = Deno.build.os === "linux";

/** A child `deno run` of `code` with the given permission flags (only those); its stdout, trimmed. */
async function evalChild(flags: string[], code: string): Promise<{ ok: boolean; out: string; err: string }> {
  const dir = await Deno.makeTempDir({ prefix: "malloc-trim-test-" });
  const file = `${dir}/child.ts`;
  await Deno.writeTextFile(file, code);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--no-config", ...flags, file],
    stdout: "piped",
    stderr: "piped",
  }).output().finally(() => Deno.remove(dir, { recursive: true }));
  return {
    ok: out.success,
    out: new TextDecoder().decode(out.stdout).trim(),
    err: new TextDecoder().decode(out.stderr),
  };
}

const MODULE = new URL("../../src/memory/malloc_trim.ts", import.meta.url).href;

describe("malloc_trim", { skip: !linux && "glibc malloc_trim is Linux only" }, () => {
  /**
   * In a fresh child process (a heap of its own, so no hole left by an earlier test lets glibc shrink the
   * heap's top by itself): 48 MiB in 1 KiB blocks from glibc malloc, all freed but the last one, which keeps
   * glibc from shrinking the top; the freed pages stay resident until `fn` runs. Returns RssAnon before and
   * after `fn` (`trimNativeHeap`, `trimNativeHeapInBackground`, or none for the control).
   */
  async function freedThenTrimmed(
    fn: "trimNativeHeap" | "trimNativeHeapInBackground" | null,
  ): Promise<[number, number]> {
    const r = await evalChild(
      ["--allow-all"],
      `import { trimNativeHeap, trimNativeHeapInBackground } from "${MODULE}";
       const rss = () => Number(/^RssAnon:\\s+(\\d+) kB$/m.exec(Deno.readTextFileSync("/proc/self/status"))[1]);
       const libc = Deno.dlopen("libc.so.6", {
         malloc: { parameters: ["usize"], result: "pointer" },
         free: { parameters: ["pointer"], result: "void" },
       });
       const blocks = [];
       for (let i = 0; i < 48 * 1024; i++) {
         const p = libc.symbols.malloc(1024n);
         if (p === null) throw new Error("malloc failed");
         new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(p, 1024)).fill(1); // resident
         blocks.push(p);
       }
       const last = blocks.pop();
       for (const p of blocks) libc.symbols.free(p);
       const before = rss();
       const made = ${fn === null ? "true" : `await ${fn}()`};
       const after = rss();
       libc.symbols.free(last);
       console.log(JSON.stringify([made, before, after]));`,
    );
    assert.ok(r.ok, r.err);
    const [made, before, after] = JSON.parse(r.out);
    assert.equal(made, true);
    return [before, after];
  }

  it("without a trim, glibc keeps the freed pages (the control of the two tests below)", async () => {
    const [before, after] = await freedThenTrimmed(null);
    assert.ok(before - after < 24 * 1024, `RssAnon went from ${before} to ${after} KiB without a trim`);
  });

  it("gives the free pages that glibc keeps back to the system", async () => {
    const [before, after] = await freedThenTrimmed("trimNativeHeap");
    assert.ok(
      before - after >= 24 * 1024,
      `RssAnon went from ${before} to ${after} KiB: the ~48 MiB freed were not given back`,
    );
  });

  it("does the same on another thread, without holding up the event loop", async () => {
    const [before, after] = await freedThenTrimmed("trimNativeHeapInBackground");
    assert.ok(
      before - after >= 24 * 1024,
      `RssAnon went from ${before} to ${after} KiB: the ~48 MiB freed were not given back`,
    );
  });

  it("loads once and answers the same afterwards", () => {
    const a = loadMallocTrim();
    const b = loadMallocTrim();
    assert.equal(a.trim, b.trim);
    assert.equal(typeof a.trim, "function");
    assert.ok([0, 1].includes(a.trim!()));
  });

  it("without FFI permission, does nothing and says why (no prompt, no throw)", async () => {
    const r = await evalChild(
      ["--allow-read"],
      `import { loadMallocTrim, trimNativeHeap, trimNativeHeapInBackground } from "${MODULE}";
       console.log(JSON.stringify([trimNativeHeap(), await trimNativeHeapInBackground(), loadMallocTrim().reason]));`,
    );
    assert.ok(r.ok, r.err);
    assert.deepEqual(JSON.parse(r.out), [false, false, "no FFI permission"]);
  });
});

describe("native heap trimmer", () => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it("trims once per busy period, after the delay, and never while idle", async () => {
    let calls = 0;
    const t = createNativeHeapTrimmer({ logger: nullLogger, delayMs: 30, trim: () => (calls++, true) });
    try {
      await sleep(80);
      assert.equal(calls, 0, "no activity: no trim");
      for (let i = 0; i < 5; i++) t.noteActivity();
      assert.equal(calls, 0, "not at once");
      await sleep(100);
      assert.equal(calls, 1);
      await sleep(100);
      assert.equal(calls, 1, "idle again: no further trim");
      t.noteActivity();
      await sleep(100);
      assert.equal(calls, 2);
      assert.equal(t.trims, 2);
    } finally {
      t.stop();
    }
  });

  it("stop cancels a pending trim", async () => {
    let calls = 0;
    const t = createNativeHeapTrimmer({ logger: nullLogger, delayMs: 20, trim: () => (calls++, true) });
    t.noteActivity();
    t.stop();
    t.noteActivity();
    await sleep(60);
    assert.equal(calls, 0);
  });

  it("logs one debug line when the trim cannot be made, and keeps going", async () => {
    const lines: string[] = [];
    const logger = createHclogLogger({ write: (l) => lines.push(l) });
    const t = createNativeHeapTrimmer({ logger, delayMs: 5, trim: () => false });
    try {
      for (let i = 0; i < 3; i++) {
        t.noteActivity();
        await sleep(30);
      }
      assert.equal(t.trims, 0);
      assert.equal(lines.length, 1);
      const entry = JSON.parse(lines[0]);
      assert.equal(entry["@level"], "debug");
      assert.equal(entry["@message"], "not trimming the C heap");
    } finally {
      t.stop();
    }
  });

  it("does not keep the process alive", async () => {
    const r = await evalChild(
      ["--allow-all"],
      `import { createNativeHeapTrimmer } from "${MODULE}";
       import { nullLogger } from "${new URL("../../src/log.ts", import.meta.url).href}";
       const t0 = performance.now();
       createNativeHeapTrimmer({ logger: nullLogger, delayMs: 60_000 }).noteActivity();
       globalThis.addEventListener("unload", () => console.log(Math.round(performance.now() - t0)));`,
    );
    assert.ok(r.ok, r.err);
    assert.ok(Number(r.out) < 30_000, `the process lived ${r.out} ms`);
  });
});
