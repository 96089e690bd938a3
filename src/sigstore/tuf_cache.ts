/**
 * Where the TUF cache of the public Sigstore trust root lives (used only when the `SIGSTORE_*` trust files
 * do not give every part).
 *
 * Order: `TUF_ROOT` (the variable cosign and sigstore-go read for the same purpose; cosign's default is
 * `$HOME/.sigstore/root`, sigstore-js's `$XDG_DATA_HOME/sigstore-js`); then a directory of this plugin, so
 * that its cache format (sigstore-js) never mixes with a cosign cache:
 * - Unix: `$XDG_CACHE_HOME/k8s-attestor/sigstore-tuf`, else `$HOME/.cache/k8s-attestor/sigstore-tuf`, else
 *   `/var/cache/k8s-attestor/sigstore-tuf` (spire-agent often runs without `HOME`);
 * - Windows: `%LOCALAPPDATA%\k8s-attestor\sigstore-tuf`, else `%ProgramData%\k8s-attestor\sigstore-tuf`,
 *   else `C:\ProgramData\k8s-attestor\sigstore-tuf`.
 *
 * Relative values are ignored (the XDG rule), so the working directory never decides. The shared temporary
 * directory is never used: another local user could plant files there first.
 *
 * @module
 */

/** The subdirectory of the plugin under a cache or data root. */
const SUBDIR = ["k8s-attestor", "sigstore-tuf"];

function isAbsolute(path: string, windows: boolean): boolean {
  return windows ? /^(?:[A-Za-z]:[\\/]|\\\\)/.test(path) : path.startsWith("/");
}

/**
 * The TUF cache directory.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tufCachePath } from "./tuf_cache.ts";
 * const env = (vars: Record<string, string>) => (name: string) => vars[name];
 * assert.equal(tufCachePath(env({ TUF_ROOT: "/srv/tuf", HOME: "/root" }), "unix"), "/srv/tuf");
 * assert.equal(tufCachePath(env({ HOME: "/root" }), "unix"), "/root/.cache/k8s-attestor/sigstore-tuf");
 * assert.equal(tufCachePath(env({}), "unix"), "/var/cache/k8s-attestor/sigstore-tuf");
 * assert.equal(
 *   tufCachePath(env({ LOCALAPPDATA: "C:\\Users\\a\\AppData\\Local" }), "windows"),
 *   "C:\\Users\\a\\AppData\\Local\\k8s-attestor\\sigstore-tuf",
 * );
 * ```
 *
 * @param env Reads an environment variable.
 * @param os The platform family.
 * @returns An absolute directory path.
 */
export function tufCachePath(env: (name: string) => string | undefined, os: "unix" | "windows"): string {
  const windows = os === "windows";
  const usable = (name: string) => {
    const value = env(name);
    return value !== undefined && value !== "" && isAbsolute(value, windows) ? value : null;
  };
  const tufRoot = usable("TUF_ROOT");
  if (tufRoot !== null) return tufRoot;
  if (windows) {
    const base = usable("LOCALAPPDATA") ?? usable("ProgramData") ?? "C:\\ProgramData";
    return [base.replace(/[\\/]+$/, ""), ...SUBDIR].join("\\");
  }
  const xdg = usable("XDG_CACHE_HOME");
  if (xdg !== null) return [xdg.replace(/\/+$/, ""), ...SUBDIR].join("/");
  const home = usable("HOME");
  if (home !== null) return [home.replace(/\/+$/, ""), ".cache", ...SUBDIR].join("/");
  return ["/var/cache", ...SUBDIR].join("/");
}
