/**
 * The Linux (and other Unix) platform: unix-socket transport, the cgroup/mountinfo container locator, and
 * credential paths used as configured.
 *
 * @module
 */

import type { LocatorOptions, Platform } from "../types.ts";
import { createUnixLocator } from "./locator.ts";

export { createUnixLocator } from "./locator.ts";
export type { UnixLocatorOptions } from "./locator.ts";

/**
 * The Unix {@linkcode Platform}.
 *
 * @example Creating the default locator
 * ```ts
 * import assert from "node:assert/strict";
 * import { nullLogger } from "../../log.ts";
 * import { unixPlatform } from "./mod.ts";
 * const locator = unixPlatform.createLocator({ useNewContainerLocator: true, verbose: false, logger: nullLogger });
 * assert.equal(typeof locator.locate, "function");
 * ```
 */
export const unixPlatform: Platform = {
  name: "unix",
  transport: "unix",
  createLocator(options: LocatorOptions) {
    return createUnixLocator({
      procRoot: options.procRoot,
      useNewContainerLocator: options.useNewContainerLocator,
      verbose: options.verbose,
      logger: options.logger,
      cgroupRoots: options.kubeletCgroupRoot ? [options.kubeletCgroupRoot] : undefined,
    });
  },
  resolveConfigPath(path: string): string {
    return path;
  },
};
