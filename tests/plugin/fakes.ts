/**
 * Test doubles for the plugin tests: a stand-in for `src/config/build.ts`, a recording
 * `AttestorRuntime`, and a platform whose locator finds no container (for the real runtime).
 *
 * @module
 */
import type { Config } from "../../src/config/types.ts";
import type { ContainerLocation, Platform } from "../../src/platform/types.ts";
import type { BuildConfigFn } from "../../src/plugin/plugin.ts";
import type { AttestorRuntime, ReferenceRequest } from "../../src/plugin/types.ts";

/** A stand-in for src/config/build.ts: `problem:<text>` lines are problems, `node=<name>` sets nodeName. */
export const fakeBuildConfig: BuildConfigFn = (hcl, core, options) => {
  const problems = hcl.split("\n").filter((l) => l.startsWith("problem:")).map((l) => l.slice(8));
  if (problems.length > 0) return { config: null, problems };
  const node = /node=(\S+)/.exec(hcl)?.[1] ?? options?.getenv?.("MY_NODE_NAME") ?? "";
  return {
    config: { trustDomain: core?.trustDomain ?? "", nodeName: node } as unknown as Config,
    problems: [],
  };
};

/** Records applied configs; Attest answers `pid:<pid>` and `node:<nodeName>`, or waits for `hang`. */
export class FakeRuntime implements AttestorRuntime {
  applied: Config[] = [];
  closed = 0;
  failApply: Error | null = null;
  signals: AbortSignal[] = [];
  apply(config: Config): Promise<void> {
    if (this.failApply) return Promise.reject(this.failApply);
    this.applied.push(config);
    return Promise.resolve();
  }
  /** When set, Attest waits for the signal and rejects with its reason (recorded in `aborts`). */
  hang = false;
  aborts: unknown[] = [];
  /** When set, Attest rejects with it. */
  failAttest: unknown = null;
  attest(pid: number, signal: AbortSignal): Promise<string[]> {
    this.signals.push(signal);
    if (this.failAttest !== null) return Promise.reject(this.failAttest);
    if (this.hang) {
      return new Promise((_resolve, reject) => {
        signal.addEventListener("abort", () => {
          this.aborts.push(signal.reason);
          reject(signal.reason);
        }, { once: true });
      });
    }
    const node = this.applied.at(-1)?.nodeName;
    return Promise.resolve([`pid:${pid}`, `node:${node}`]);
  }
  /** Every reference request received, oldest first. */
  references: ReferenceRequest[] = [];
  /** Answers `ref:<typeUrl>` and `caller:<id>` for each broker caller ID. */
  attestReference(request: ReferenceRequest, signal: AbortSignal): Promise<string[]> {
    this.signals.push(signal);
    this.references.push(request);
    if (this.failAttest !== null) return Promise.reject(this.failAttest);
    return Promise.resolve([
      `ref:${request.reference?.typeUrl ?? "none"}`,
      ...request.brokerCallerIds.map((id) => `caller:${id}`),
    ]);
  }
  close(): Promise<void> {
    this.closed++;
    return Promise.resolve();
  }
}

/**
 * A platform whose locator finds every process outside any container (the core then answers `[]` without
 * asking the kubelet), recording the PIDs it was asked about.
 */
export function hostOnlyPlatform(located: number[] = []): Platform {
  const nowhere: ContainerLocation = { podUid: null, containerId: null };
  return {
    name: "unix",
    transport: "unix",
    createLocator: () => ({
      locate: (pid) => {
        located.push(pid);
        return Promise.resolve(nowhere);
      },
    }),
    resolveConfigPath: (p) => p,
  };
}
