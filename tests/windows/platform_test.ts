import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { AttestorError } from "../../src/errors.ts";
import { nullLogger } from "../../src/log.ts";
import {
  createWindowsPlatform,
  resolveSandboxPath,
  SANDBOX_MOUNT_ENV,
  windowsPlatform,
} from "../../src/platform/windows/mod.ts";
import { createFfiWinApi } from "../../src/platform/windows/winapi_ffi.ts";
import { defaultCreationTime, FakeWindows, ID_A } from "./fake_winapi.ts";

describe("windowsPlatform", () => {
  it("is the Windows platform over TCP", () => {
    assert.equal(windowsPlatform.name, "windows");
    assert.equal(windowsPlatform.transport, "tcp");
  });

  it("places credential paths under CONTAINER_SANDBOX_MOUNT_POINT with Windows rules", () => {
    const env: Record<string, string> = { [SANDBOX_MOUNT_ENV]: "C:\\C\\0eb4a5b1" };
    const p = createWindowsPlatform({ getenv: (n) => env[n] });
    assert.equal(
      p.resolveConfigPath("/var/run/secrets/kubernetes.io/serviceaccount/token"),
      "C:\\C\\0eb4a5b1\\var\\run\\secrets\\kubernetes.io\\serviceaccount\\token",
    );
    assert.equal(p.resolveConfigPath("certs\\ca.crt"), "C:\\C\\0eb4a5b1\\certs\\ca.crt");
    assert.equal(p.resolveConfigPath("\\etc\\ca.crt"), "C:\\C\\0eb4a5b1\\etc\\ca.crt");
    // host paths stay as they are
    assert.equal(p.resolveConfigPath("D:\\spire\\ca.crt"), "D:\\spire\\ca.crt");
    assert.equal(p.resolveConfigPath("c:/spire/ca.crt"), "c:/spire/ca.crt");
    assert.equal(p.resolveConfigPath("\\\\server\\share\\ca.crt"), "\\\\server\\share\\ca.crt");
    assert.equal(p.resolveConfigPath("\\\\?\\C:\\ca.crt"), "\\\\?\\C:\\ca.crt");
    assert.equal(p.resolveConfigPath(""), "");
  });

  it("leaves paths unchanged when the variable is unset or empty", () => {
    assert.equal(createWindowsPlatform({ getenv: () => undefined }).resolveConfigPath("/var/x"), "/var/x");
    assert.equal(createWindowsPlatform({ getenv: () => "" }).resolveConfigPath("/var/x"), "/var/x");
    assert.equal(resolveSandboxPath("/a/../b", "C:\\m"), "C:\\m\\b");
  });

  it("reports an unreadable environment as platform-unavailable", () => {
    const p = createWindowsPlatform({
      getenv: () => {
        throw new Error("Requires env access");
      },
    });
    assert.throws(() => p.resolveConfigPath("/var/x"), (err: unknown) => {
      assert.ok(err instanceof AttestorError);
      assert.equal(err.reason, "platform-unavailable");
      assert.match(
        err.message,
        /cannot read CONTAINER_SANDBOX_MOUNT_POINT to resolve \/var\/x: Requires env access/,
      );
      return true;
    });
  });

  it("creates a job-object locator whatever use_new_container_locator says", async () => {
    for (const useNewContainerLocator of [true, false]) {
      const fake = new FakeWindows({
        processes: [{ pid: 3, exe: "vmcompute.exe" }, { pid: 42, exe: "w.exe" }],
        objects: { job: { type: "Job", name: `\\Container_${ID_A}`, members: [42] } },
        handles: [{ owner: 3, handle: 0x10n, object: "job" }],
      });
      const locator = createWindowsPlatform({ api: fake }).createLocator({
        useNewContainerLocator,
        verbose: false,
        logger: nullLogger,
      });
      assert.deepEqual(await locator.locate(42), {
        podUid: null,
        containerId: ID_A,
        startTime: String(defaultCreationTime(42)),
      });
      assert.equal(fake.openHandles, 0);
    }
  });

  it("opens the Windows libraries only on Windows, on first use", () => {
    if (Deno.build.os === "windows") {
      const api = createFfiWinApi();
      assert.equal(api.currentProcessId(), Deno.pid);
    } else {
      assert.throws(() => createFfiWinApi(), /only available on Windows \(this is linux\)/);
    }
  });
});
