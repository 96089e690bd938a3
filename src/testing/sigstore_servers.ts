/**
 * Local servers for the offline sigstore tests: a TUF repository (`@tufjs/repo-mock`) and a fake Rekor API,
 * both on 127.0.0.1.
 *
 * @module
 */

import type { FixtureRekorEntry } from "./sigstore_fixtures.ts";

/** A local HTTP server (TUF repository, fake Rekor). */
export interface LocalServer extends AsyncDisposable {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** Requests seen, as `METHOD path`. */
  readonly requests: string[];
  /** Stops the server. */
  close(): Promise<void>;
}

function serve(handler: (req: Request, path: string) => Response | Promise<Response>): LocalServer {
  const requests: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const path = new URL(req.url).pathname;
    requests.push(`${req.method} ${path}`);
    return handler(req, path);
  });
  const close = async () => {
    try {
      await server.shutdown();
    } catch {
      // already closed
    }
  };
  return { url: `http://127.0.0.1:${server.addr.port}`, requests, close, [Symbol.asyncDispose]: close };
}

/**
 * Serves a TUF repository (made by `@tufjs/repo-mock`) holding the given targets on 127.0.0.1, and writes its
 * initial `root.json` to `rootPath` (what `@sigstore/tuf` takes as `rootPath`).
 *
 * @param targets The targets (e.g. `trusted_root.json`).
 * @param rootPath Where to write the initial root.
 * @returns The server (its URL is the mirror URL).
 */
export async function startTufRepository(
  targets: readonly { name: string; content: string }[],
  rootPath: string,
): Promise<LocalServer> {
  const { initializeTUFRepo } = await import("@tufjs/repo-mock/dist/repo.js");
  const { tufHandlers } = await import("@tufjs/repo-mock/dist/handler.js");
  const repo = initializeTUFRepo(targets.map((t) => ({ ...t })));
  const handlers: { path: string; fn: () => { statusCode: number; response: string | Uint8Array } }[] =
    tufHandlers(repo, { metadataPathPrefix: "" });
  await Deno.writeTextFile(rootPath, JSON.stringify(repo.rootMeta.toJSON()));
  return serve((_req, path) => {
    const h = handlers.find((x) => x.path === path);
    if (!h) return new Response("not found", { status: 404 });
    const r = h.fn();
    return new Response(r.response as BodyInit, { status: r.statusCode });
  });
}

/**
 * A fake Rekor API on 127.0.0.1: `POST /api/v1/index/retrieve` answers the UUIDs of the entries whose body hash
 * is the requested payload hash; `GET /api/v1/log/entries/<uuid>` answers the entry.
 *
 * @param entries The entries it knows, with the sha256 hex of the payload each one logs.
 * @returns The server.
 */
export function startFakeRekor(
  entries: readonly { payloadSha256: string; entry: FixtureRekorEntry }[],
): LocalServer {
  return serve(async (req, path) => {
    if (req.method === "POST" && path === "/api/v1/index/retrieve") {
      const body = await req.json() as { hash?: string };
      const uuids = entries.filter((e) => `sha256:${e.payloadSha256}` === body.hash).map((e) => e.entry.uuid);
      return Response.json(uuids);
    }
    const m = /^\/api\/v1\/log\/entries\/([0-9a-f]+)$/.exec(path);
    const found = m && entries.find((e) => e.entry.uuid === m[1]);
    if (req.method === "GET" && found) return Response.json({ [found.entry.uuid]: found.entry.entry });
    return new Response("not found", { status: 404 });
  });
}
