/**
 * A real OCI registry for tests: Debian's `docker-registry` (distribution 2.8,
 * `/usr/bin/docker-registry serve <config.yml>`), started on 127.0.0.1 with a free port and a temporary
 * storage directory, optionally with htpasswd (bcrypt) Basic auth, and stopped cleanly. `.ci/run` installs
 * it (and `apache2-utils` for `htpasswd`); tests use {@linkcode registryTestGate} to skip loudly on a
 * developer's machine without it and to fail in CI (`CI=true`).
 *
 * @module
 */

import { join } from "node:path";
import { type RegistryPusher, registryPusher } from "./registry_push.ts";

/** Where Debian installs the registry. */
export const DOCKER_REGISTRY_BINARY = "/usr/bin/docker-registry";

/** Where Debian's `apache2-utils` installs `htpasswd` (bcrypt hashes for the registry's htpasswd auth). */
export const HTPASSWD_BINARY = "/usr/bin/htpasswd";

/** One line of the registry's access log. */
export interface RegistryAccess {
  /** The HTTP method. */
  readonly method: string;
  /** The request URI (path and query). */
  readonly uri: string;
  /** The status answered. */
  readonly status: number;
}

/** Options of {@linkcode startTestRegistry}. */
export interface TestRegistryOptions {
  /** Basic auth with these credentials (htpasswd, bcrypt); anonymous when absent. */
  readonly auth?: { readonly username: string; readonly password: string };
  /** How long to wait for `/v2/` to answer. @default {20000} */
  readonly startTimeoutMs?: number;
}

/** A running registry. */
export interface TestRegistry extends RegistryPusher, AsyncDisposable {
  /** The registry as image references name it: `127.0.0.1:<port>`. */
  readonly host: string;
  /** `http://127.0.0.1:<port>`. */
  readonly baseUrl: string;
  /** The storage directory (removed by `stop`). */
  readonly storageDir: string;
  /**
   * The requests logged so far (the access log; a line is written once its response is complete, so the
   * last request may appear a moment after its answer).
   */
  requests(): readonly RegistryAccess[];
  /** Stops the registry (SIGTERM, then SIGKILL after 5 s) and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    const info = await Deno.stat(path);
    return info.isFile && (info.mode === null || (info.mode & 0o111) !== 0);
  } catch {
    return false;
  }
}

/**
 * Whether tests needing the registry can run here: `skip` is a loud message when they cannot (the caller
 * prints it and skips), and `mustFail` is set when they cannot but must (`CI=true`): the caller adds one
 * failing test with that text.
 *
 * @example
 * ```ts ignore
 * const gate = await registryTestGate();
 * if (gate.mustFail) it("docker-registry is installed (CI requires it)", () => assert.fail(gate.mustFail!));
 * describe("against docker-registry", { skip: gate.skip }, () => {});
 * ```
 *
 * @param needHtpasswd Whether the tests also need `htpasswd` (auth mode).
 * @param where The binaries' paths and the environment (for tests of the gate itself).
 * @returns The gate.
 */
export async function registryTestGate(
  needHtpasswd = false,
  where: {
    readonly registry?: string;
    readonly htpasswd?: string;
    readonly getEnv?: (name: string) => string | undefined;
  } = {},
): Promise<{ readonly skip: string | false; readonly mustFail: string | null }> {
  const missing: string[] = [];
  if (Deno.build.os !== "linux") {
    return { skip: "SKIPPED: the docker-registry tests run on Linux only", mustFail: null };
  }
  const registry = where.registry ?? DOCKER_REGISTRY_BINARY;
  const htpasswd = where.htpasswd ?? HTPASSWD_BINARY;
  if (!await isExecutable(registry)) missing.push(`${registry} (apt package docker-registry)`);
  if (needHtpasswd && !await isExecutable(htpasswd)) missing.push(`${htpasswd} (apt package apache2-utils)`);
  if (missing.length === 0) return { skip: false, mustFail: null };
  const text = `missing ${missing.join(" and ")}; run scripts/registry_setup.sh (.ci/run does)`;
  console.error(`\n*** registry tests SKIPPED: ${text} ***\n`);
  const ci = (where.getEnv ?? ((name) => Deno.env.get(name)))("CI") === "true";
  return { skip: `SKIPPED: ${text}`, mustFail: ci ? text : null };
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Keeps the last `limit` characters of a stream, and hands every complete line to `onLine`. */
function drain(
  stream: ReadableStream<Uint8Array>,
  limit: number,
  onLine?: (line: string) => void,
): { text: () => string; done: Promise<void> } {
  let tail = "";
  let partial = "";
  const decoder = new TextDecoder();
  const done = (async () => {
    try {
      for await (const chunk of stream) {
        const text = decoder.decode(chunk, { stream: true });
        tail = (tail + text).slice(-limit);
        if (onLine) {
          const lines = (partial + text).split("\n");
          partial = lines.pop()!;
          for (const line of lines) onLine(line);
        }
      }
    } catch {
      // the process went away
    }
  })();
  return { text: () => tail, done };
}

// Combined log format: 127.0.0.1 - - [date] "GET /v2/ HTTP/1.1" 200 2 "" "agent"
const ACCESS_LINE = /"([A-Z]+) (\S+) HTTP\/[\d.]+" (\d{3}) /;

async function htpasswdLine(username: string, password: string): Promise<string> {
  const out = await new Deno.Command(HTPASSWD_BINARY, {
    args: ["-nbB", username, password],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`htpasswd failed: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout).trim();
}

/**
 * Starts `docker-registry` on 127.0.0.1 (a free port; retried on a port race) with a temporary storage
 * directory, and waits until `/v2/` answers.
 *
 * @example
 * ```ts ignore
 * import { startTestRegistry } from "./registry.ts";
 * await using registry = await startTestRegistry();
 * const image = await registry.pushImage("team/app", "v1");
 * console.log(registry.host, image.digest);
 * ```
 *
 * @param options Auth and start timeout.
 * @returns The running registry.
 * @throws {Error} When the registry cannot be started (its stderr is quoted).
 */
export async function startTestRegistry(options: TestRegistryOptions = {}): Promise<TestRegistry> {
  const dir = await Deno.makeTempDir({ prefix: "k8s-attestor-registry-" });
  try {
    let authBlock = "";
    if (options.auth) {
      const file = join(dir, "htpasswd");
      await Deno.writeTextFile(file, `${await htpasswdLine(options.auth.username, options.auth.password)}\n`);
      authBlock = `auth:\n  htpasswd:\n    realm: k8s-attestor-test\n    path: ${JSON.stringify(file)}\n`;
    }
    let lastError = "";
    for (let attempt = 0; attempt < 4; attempt++) {
      const started = await tryStart(dir, authBlock, options);
      if (typeof started !== "string") return started;
      lastError = started;
    }
    throw new Error(`docker-registry did not start: ${lastError}`);
  } catch (err) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw err;
  }
}

async function tryStart(
  dir: string,
  authBlock: string,
  options: TestRegistryOptions,
): Promise<TestRegistry | string> {
  const port = freePort();
  const storageDir = join(dir, `storage-${port}`);
  const configPath = join(dir, `config-${port}.yml`);
  await Deno.writeTextFile(
    configPath,
    [
      "version: 0.1",
      "log:",
      "  level: warn",
      "  accesslog:",
      "    disabled: false",
      "storage:",
      "  filesystem:",
      `    rootdirectory: ${JSON.stringify(storageDir)}`,
      "  delete:",
      "    enabled: true",
      "  maintenance:",
      "    uploadpurging:",
      "      enabled: false",
      "http:",
      `  addr: 127.0.0.1:${port}`,
      `  secret: ${crypto.randomUUID()}`,
      authBlock,
    ].join("\n"),
  );
  const child = new Deno.Command(DOCKER_REGISTRY_BINARY, {
    args: ["serve", configPath],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const accesses: RegistryAccess[] = [];
  const stdout = drain(child.stdout, 4096, (line) => {
    const m = ACCESS_LINE.exec(line);
    if (m) accesses.push({ method: m[1], uri: m[2], status: Number(m[3]) });
  });
  const stderr = drain(child.stderr, 16 * 1024);
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });

  const baseUrl = `http://127.0.0.1:${port}`;
  let stopped: Promise<void> | null = null;
  const stop = (removeDir: boolean) => {
    stopped ??= (async () => {
      if (!exited) {
        try {
          child.kill("SIGTERM");
        } catch {
          // already gone
        }
        const timer = setTimeout(() => {
          try {
            if (!exited) child.kill("SIGKILL");
          } catch {
            // already gone
          }
        }, 5000);
        await status;
        clearTimeout(timer);
      }
      await Promise.all([stdout.done, stderr.done]);
      if (removeDir) await Deno.remove(dir, { recursive: true }).catch(() => {});
    })();
    return stopped;
  };

  const deadline = performance.now() + (options.startTimeoutMs ?? 20_000);
  for (;;) {
    if (exited) {
      await stop(false);
      return `exited at start (port ${port}): ${stderr.text().slice(-2000)}`;
    }
    try {
      const res = await fetch(`${baseUrl}/v2/`, { signal: AbortSignal.timeout(2000) });
      await res.body?.cancel();
      if (res.status === 200 || res.status === 401) break;
    } catch {
      // not listening yet
    }
    if (performance.now() > deadline) {
      await stop(false);
      return `no answer on ${baseUrl}/v2/ in time: ${stderr.text().slice(-2000)}`;
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  const pusher = registryPusher(baseUrl, options.auth);
  return {
    ...pusher,
    host: `127.0.0.1:${port}`,
    baseUrl,
    storageDir,
    requests: () => accesses.slice(),
    stop: () => stop(true),
    [Symbol.asyncDispose]: () => stop(true),
  };
}
