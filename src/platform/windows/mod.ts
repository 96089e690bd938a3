/**
 * The Windows hostprocess platform: container IDs from job objects (`job_locator.ts`), go-plugin over TCP
 * on 127.0.0.1, and credential paths placed under `CONTAINER_SANDBOX_MOUNT_POINT`. Importing this module
 * is harmless on any OS; the Windows libraries are opened on the first lookup.
 *
 * @module
 */

import { win32 } from "node:path";
import { AttestorError } from "../../errors.ts";
import type { ContainerLocator, LocatorOptions, Platform } from "../types.ts";
import { JobContainerLocator } from "./job_locator.ts";
import type { WinApi } from "./winapi.ts";
import { createFfiWinApi } from "./winapi_ffi.ts";

export {
  CONTAINER_JOB_PREFIX,
  JobContainerLocator,
  type JobLocatorOptions,
  VMCOMPUTE_EXE,
} from "./job_locator.ts";
export type { WinApi } from "./winapi.ts";
export { WinApiError } from "./winapi.ts";

/** The environment variable a hostprocess container's volumes are mounted under. */
export const SANDBOX_MOUNT_ENV = "CONTAINER_SANDBOX_MOUNT_POINT";

/**
 * Places `path` under the sandbox mount point, with Windows path rules. Paths that name a drive
 * (`C:\…`, `C:…`) or a UNC/device path (`\\server\share`, `\\?\…`) are already host paths and are returned
 * unchanged, as are all paths when `mountPoint` is unset or empty.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveSandboxPath } from "./mod.ts";
 * assert.equal(
 *   resolveSandboxPath("/var/run/secrets/kubernetes.io/serviceaccount/token", "C:\\C\\abc"),
 *   "C:\\C\\abc\\var\\run\\secrets\\kubernetes.io\\serviceaccount\\token",
 * );
 * ```
 *
 * @param path The configured path.
 * @param mountPoint The value of `CONTAINER_SANDBOX_MOUNT_POINT`, if any.
 * @returns The path to open.
 */
export function resolveSandboxPath(path: string, mountPoint: string | undefined): string {
  if (!mountPoint || path === "") return path;
  if (/^[A-Za-z]:/.test(path) || /^[\\/]{2}/.test(path)) return path;
  return win32.join(mountPoint, path);
}

/** Options of {@linkcode createWindowsPlatform}, for tests. */
export interface WindowsPlatformOptions {
  /** Reads an environment variable. @default {Deno.env.get} */
  readonly getenv?: (name: string) => string | undefined;
  /** The Windows API (or a factory). @default {createFfiWinApi} */
  readonly api?: WinApi | (() => WinApi);
}

/**
 * Builds the Windows {@linkcode Platform}. Use {@linkcode windowsPlatform} in product code.
 *
 * @param options Injected environment and Windows API.
 * @returns The platform.
 */
export function createWindowsPlatform(options: WindowsPlatformOptions = {}): Platform {
  const getenv = options.getenv ?? ((name: string) => Deno.env.get(name));
  const api = options.api ?? createFfiWinApi;
  return {
    name: "windows",
    transport: "tcp",
    createLocator(locatorOptions: LocatorOptions): ContainerLocator {
      // use_new_container_locator only selects between the Linux locators; it is ignored here.
      return new JobContainerLocator({ api, logger: locatorOptions.logger, verbose: locatorOptions.verbose });
    },
    resolveConfigPath(path: string): string {
      let mount: string | undefined;
      try {
        mount = getenv(SANDBOX_MOUNT_ENV);
      } catch (err) {
        throw new AttestorError(
          "platform-unavailable",
          `cannot read ${SANDBOX_MOUNT_ENV} to resolve ${path}: ${err instanceof Error ? err.message : err}`,
          { cause: err },
        );
      }
      return resolveSandboxPath(path, mount);
    },
  };
}

/**
 * The Windows hostprocess platform.
 *
 * @example
 * ```ts ignore
 * import { windowsPlatform } from "./mod.ts";
 * const locator = windowsPlatform.createLocator({ useNewContainerLocator: true, verbose: false, logger });
 * const { containerId } = await locator.locate(pid);
 * ```
 */
export const windowsPlatform: Platform = createWindowsPlatform();
