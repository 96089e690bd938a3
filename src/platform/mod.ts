/**
 * The one place where the platform is chosen. Everything else receives a {@linkcode Platform}.
 *
 * @module
 */

import type { Platform } from "./types.ts";
import { unixPlatform } from "./unix/mod.ts";
import { windowsPlatform } from "./windows/mod.ts";

export type { ContainerLocation, ContainerLocator, LocatorOptions, Platform } from "./types.ts";

/**
 * Returns the platform for an operating system name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { platformFor } from "./mod.ts";
 * assert.equal(platformFor("windows").transport, "tcp");
 * assert.equal(platformFor("linux").transport, "unix");
 * ```
 *
 * @param os A `Deno.build.os` value. @default {Deno.build.os}
 * @returns The Windows platform for `"windows"`, the Unix platform otherwise.
 */
export function platformFor(os: typeof Deno.build.os = Deno.build.os): Platform {
  return os === "windows" ? windowsPlatform : unixPlatform;
}
