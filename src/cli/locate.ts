/**
 * `locate`: a diagnosis command that runs the platform's container locator (Linux: cgroups and mountinfo;
 * Windows: the container's job object) on one process and prints the result as one JSON object on one
 * line, for operators to paste into bug reports.
 *
 * ```
 * locate --pid <N> [--proc-root <dir>] [--kubelet-cgroup-root <path>] [--legacy] [--verbose]
 * ```
 *
 * - success (exit 0): `{"podUid": string|null, "containerId": string|null}` (`null` where not found; both
 *   `null` means "not in a container", which the attestor answers with no selectors);
 * - failure (exit 1), including bad arguments: `{"error": "<message>"}`.
 *
 * `--proc-root` reads `<dir>/proc/<N>/...` instead of `/proc/<N>/...` (Linux; the plugin's and `attest`'s
 * option of the same name); `--legacy` selects the legacy matchers
 * (`use_new_container_locator = false`); `--kubelet-cgroup-root` is the `kubelet_cgroup_root` key (the only
 * kubelet `--cgroup-root` whose pod cgroups are trusted; by default `/`, `/kubelet` and `/kubepods`); `--verbose` writes the lines considered and the decision as hclog
 * JSON lines on stderr (`verbose_container_locator_logs = true`). stdout only ever holds the one object.
 *
 * @module
 */

import { clipText } from "../clip.ts";
import { writeAllSync } from "../io.ts";
import { parsePidOption, parseProcRootOption, parseStrict, SHARED_OPTIONS } from "./pid.ts";
import { AttestorError, errorMessage } from "../errors.ts";
import { createHclogLogger, nullLogger } from "../log.ts";
import { platformFor } from "../platform/mod.ts";
import type { Platform } from "../platform/types.ts";
import { parseCgroupRoot } from "../platform/unix/anchor.ts";

/** The usage line, also part of the error for bad arguments. */
export const LOCATE_USAGE =
  "usage: locate --pid <N> [--proc-root <dir>] [--kubelet-cgroup-root <path>] [--legacy] [--verbose]";

/** Where {@linkcode runLocate} writes. Both default to the process's own streams. */
export interface LocateIo {
  /** Receives the one JSON line (with its newline). */
  stdout?: (s: string) => void;
  /** Receives verbose log lines (with `--verbose`). */
  stderr?: (s: string) => void;
  /** The platform whose locator runs. @default {platformFor()} */
  platform?: Platform;
}

function badArguments(reason: string): AttestorError {
  return new AttestorError("bad-request", `${reason}; ${LOCATE_USAGE}`);
}

interface LocateArgs {
  readonly pid: number;
  readonly procRoot: string;
  readonly kubeletCgroupRoot: string | null;
  readonly legacy: boolean;
  readonly verbose: boolean;
}

function parse(args: string[]): LocateArgs {
  const values = parseStrict(
    args,
    {
      ...SHARED_OPTIONS,
      "kubelet-cgroup-root": { type: "string" },
      legacy: { type: "boolean" },
      verbose: { type: "boolean" },
    },
    badArguments,
  );
  const pid = parsePidOption(values.pid, badArguments);
  const procRoot = parseProcRootOption(values["proc-root"], badArguments);
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
    procRoot,
    kubeletCgroupRoot: cgroupRoot ?? null,
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
 * const code = await runLocate(["--pid", "4242", "--proc-root", "tests/testdata/proc/containerd-cgroupfs-v1-burstable"], {
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
    const { pid, procRoot, kubeletCgroupRoot, legacy, verbose } = parse(args);
    const logger = verbose
      ? createHclogLogger({ module: "k8s-attestor.locate", write: io.stderr })
      : nullLogger;
    const platform = io.platform ?? platformFor();
    const locator = platform.createLocator({
      useNewContainerLocator: !legacy,
      kubeletCgroupRoot,
      verbose,
      logger,
      procRoot,
    });
    const { podUid, containerId } = await locator.locate(pid);
    stdout(JSON.stringify({ podUid, containerId }) + "\n");
    return 0;
  } catch (err) {
    const message = clipText(errorMessage(err));
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
