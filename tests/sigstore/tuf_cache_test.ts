/** The default TUF cache location: TUF_ROOT, then the plugin's own directory per platform; never relative. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { tufCachePath } from "../../src/sigstore/tuf_cache.ts";

const env = (vars: Record<string, string>) => (name: string) => vars[name];

describe("tufCachePath", () => {
  const cases: [Record<string, string>, "unix" | "windows", string][] = [
    [{ TUF_ROOT: "/srv/tuf", XDG_CACHE_HOME: "/x", HOME: "/root" }, "unix", "/srv/tuf"],
    [{ TUF_ROOT: "relative/tuf", HOME: "/root" }, "unix", "/root/.cache/k8s-attestor/sigstore-tuf"],
    [{ XDG_CACHE_HOME: "/var/xdg/", HOME: "/root" }, "unix", "/var/xdg/k8s-attestor/sigstore-tuf"],
    [{ XDG_CACHE_HOME: "xdg", HOME: "/home/a" }, "unix", "/home/a/.cache/k8s-attestor/sigstore-tuf"],
    [{ HOME: "" }, "unix", "/var/cache/k8s-attestor/sigstore-tuf"],
    [{}, "unix", "/var/cache/k8s-attestor/sigstore-tuf"],
    [{ TUF_ROOT: "D:\\tuf" }, "windows", "D:\\tuf"],
    [
      { LOCALAPPDATA: "C:\\Users\\a\\AppData\\Local\\" },
      "windows",
      "C:\\Users\\a\\AppData\\Local\\k8s-attestor\\sigstore-tuf",
    ],
    [
      { LOCALAPPDATA: "Local", ProgramData: "C:\\ProgramData" },
      "windows",
      "C:\\ProgramData\\k8s-attestor\\sigstore-tuf",
    ],
    [{ HOME: "/root" }, "windows", "C:\\ProgramData\\k8s-attestor\\sigstore-tuf"],
  ];
  for (const [vars, os, expected] of cases) {
    it(`${os} ${JSON.stringify(vars)}`, () => assert.equal(tufCachePath(env(vars), os), expected));
  }
});
