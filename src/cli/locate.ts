/**
 * `locate`: a diagnosis command that runs the Linux container locator on one process and prints the result
 * as one JSON object on one line, for operators to paste into bug reports.
 *
 * ```
 * locate --pid <N> [--root <dir>] [--kubelet-cgroup-root <path>] [--legacy] [--verbose]
 * ```
 *
 * - success (exit 0): `{"podUid": string|null, "containerId": string|null}` (`null` where not found; both
 *   `null` means "not in a container", which the attestor answers with no selectors);
 * - failure (exit 1), including bad arguments: `{"error": "<message>"}`.
 *
 * `--root` reads `<dir>/proc/<N>/...` instead of `/proc/<N>/...`; `--legacy` selects the legacy matchers
 * (`use_new_container_locator = false`); `--kubelet-cgroup-root` is the `kubelet_cgroup_root` key (the only
 * kubelet `--cgroup-root` whose pod cgroups are trusted; by default `/`, `/kubelet` and `/kubepods`); `--verbose` writes the lines considered and the decision as hclog
 * JSON lines on stderr (`verbose_container_locator_logs = true`). stdout only ever holds the one object.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { clipText } from "../clip.ts";
import { writeAllSync } from "../io.ts";
import { parsePidOption } from "./pid.ts";
import { AttestorError } from "../errors.ts";
import { createHclogLogger, nullLogger } from "../log.ts";
import { parseCgroupRoot } from "../platform/unix/anchor.ts";
import { createUnixLocator } from "../platform/unix/locator.ts";

/** The usage line, also part of the error for bad arguments. */
export const LOCATE_USAGE =
  "usage: locate --pid <N> [--root <dir>] [--kubelet-cgroup-root <path>] [--legacy] [--verbose]";

/** Where {@linkcode runLocate} writes. Both default to the process's own streams. */
export interface LocateIo {
  /** Receives the one JSON line (with its newline). */
  stdout?: (s: string) => void;
  /** Receives verbose log lines (with `--verbose`). */
  stderr?: (s: string) => void;
}

function badArguments(reason: string): AttestorError {
  return new AttestorError("INVALID_ARGUMENT", `${reason}; ${LOCATE_USAGE}`);
}

interface LocateArgs {
  readonly pid: number;
  readonly root: string;
  readonly cgroupRoots: readonly string[] | undefined;
  readonly legacy: boolean;
  readonly verbose: boolean;
}

function parse(args: string[]): LocateArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        pid: { type: "string" },
        root: { type: "string" },
        "kubelet-cgroup-root": { type: "string" },
        legacy: { type: "boolean" },
        verbose: { type: "boolean" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw badArguments(err instanceof Error ? err.message : String(err));
  }
  const pid = parsePidOption(values.pid, badArguments);
  if (values.root === "") throw badArguments("--root must not be empty");
  const cgroupRoot = values["kubelet-cgroup-root"];
  if (cgroupRoot !== undefined) {
    try {
      parseCgroupRoot(cgroupRoot);
    } catch (err) {
      throw badArguments(`--kubelet-cgroup-root ${(err as Error).message}`);
    }
  }
  return {
    pid,
    root: values.root ?? "/",
    cgroupRoots: cgroupRoot === undefined ? undefined : [cgroupRoot],
    legacy: values.legacy ?? false,
    verbose: values.verbose ?? false,
  };
}

/**
 * Runs `locate` with the arguments after the subcommand name. Never throws.
 *
 * @example Locating a fixture
 * ```ts ignore
 * import { runLocate } from "./locate.ts";
 * let out = "";
 * const code = await runLocate(["--pid", "4242", "--root", "tests/testdata/proc/containerd-cgroupfs-v1-burstable"], {
 *   stdout: (s) => (out += s),
 * });
 * // code === 0, out === '{"podUid":"…","containerId":"…"}\n'
 * ```
 *
 * @param args Command-line arguments, e.g. `["--pid", "42", "--legacy"]`.
 * @param io Output sinks (for tests).
 * @returns The exit code: 0 on success, 1 on any error.
 */
export async function runLocate(args: string[], io: LocateIo = {}): Promise<number> {
  const stdout = io.stdout ?? ((s: string) => writeAllSync(Deno.stdout, s));
  try {
    const { pid, root, cgroupRoots, legacy, verbose } = parse(args);
    const logger = verbose
      ? createHclogLogger({ module: "k8s-attestor.locate", write: io.stderr })
      : nullLogger;
    const locator = createUnixLocator({
      root,
      useNewContainerLocator: !legacy,
      verbose,
      logger,
      cgroupRoots,
    });
    const { podUid, containerId } = await locator.locate(pid);
    stdout(JSON.stringify({ podUid, containerId }) + "\n");
    return 0;
  } catch (err) {
    const message = clipText(err instanceof Error ? err.message : String(err));
    try {
      stdout(JSON.stringify({ error: message }) + "\n");
    } catch {
      // stdout is gone (closed pipe); the exit code still reports the failure.
    }
    return 1;
  }
}

if (import.meta.main) {
  Deno.exitCode = await runLocate(Deno.args);
}
