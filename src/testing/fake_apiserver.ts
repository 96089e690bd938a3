/**
 * A fake Kubernetes API server for tests, built on hono and served by `node:https` through
 * `@hono/node-server`. It authenticates `Authorization: Bearer <token>` against a token file (re-read on
 * every request), serves discovery (`/api/v1`, `/apis/<group>`, `/apis/<group>/<version>`), objects and
 * lists of any registered resource (namespaces, pods, CRDs: `GET` by name, list cluster-wide or in a
 * namespace), and answers `SubjectAccessReview`s with a policy function. Faults (delays, statuses,
 * oversized answers) can be injected; every request is recorded.
 *
 * @module
 */

import { Hono } from "hono";
import { getRequestListener } from "@hono/node-server";
import type * as http from "node:http";
import * as https from "node:https";
import { createSleeper, listenFakeServer } from "./fake_server.ts";

/** A resource type the fake serves. */
export interface FakeResource {
  /** The API group; "" for core. */
  readonly group: string;
  /** The version served (the group's preferred one). */
  readonly version: string;
  /** The plural resource name. */
  readonly plural: string;
  /** The kind. */
  readonly kind: string;
  /** Whether objects live in namespaces. */
  readonly namespaced: boolean;
}

/** The resources every fake serves: namespaces and pods. */
export const CORE_RESOURCES: readonly FakeResource[] = [
  { group: "", version: "v1", plural: "namespaces", kind: "Namespace", namespaced: false },
  { group: "", version: "v1", plural: "pods", kind: "Pod", namespaced: true },
];

/** The `spec` of a `SubjectAccessReview` the fake received. */
export interface FakeReviewSpec {
  /** `spec.user`. */
  readonly user?: string;
  /** `spec.groups`. */
  readonly groups?: readonly string[];
  /** `spec.resourceAttributes`. */
  readonly resourceAttributes?: {
    readonly group?: string;
    readonly resource?: string;
    readonly namespace?: string;
    readonly name?: string;
    readonly verb?: string;
  };
}

/**
 * The answer to a review: `allowed` as a boolean, or the whole `status` object of the answer (to send
 * malformed or contradictory answers, e.g. `{ allowed: true, denied: true }`).
 */
export type FakeReviewPolicy = (spec: FakeReviewSpec) => boolean | Record<string, unknown>;

/** A fault applied to every following request (of the matching paths) until cleared. */
export interface FakeApiServerFault {
  /** Only requests whose path starts with this. @default {every path} */
  readonly pathPrefix?: string;
  /** Wait this long before answering. */
  readonly delayMs?: number;
  /** Answer with this status and a Kubernetes `Status` body with `message`. */
  readonly status?: number;
  /** The `Status` message. @default {"fault injected"} */
  readonly message?: string;
  /** Answer 200 with a JSON body of about this many bytes. */
  readonly oversizeBytes?: number;
  /** Answer 200 with this JSON body (a hostile or buggy API server, e.g. another object than asked for). */
  readonly body?: unknown;
}

/** What the fake saw of one request. */
export interface FakeApiServerRequest {
  /** `GET` or `POST`. */
  readonly method: string;
  /** Path and query. */
  readonly path: string;
  /** The `Accept` header. */
  readonly accept: string | null;
  /** The `Authorization` header. */
  readonly authorization: string | null;
  /** The status answered. */
  readonly status: number;
}

/** Options of {@linkcode startFakeApiServer}. */
export interface FakeApiServerOptions {
  /** Server certificate and key PEM. */
  readonly tls: { readonly cert: string; readonly key: string };
  /** The file holding the one accepted bearer token (trimmed, read per request). */
  readonly tokenPath: string;
  /** Resources served besides {@linkcode CORE_RESOURCES}. */
  readonly resources?: readonly FakeResource[];
  /** The answer to each review. @default {deny all} */
  readonly review?: FakeReviewPolicy;
}

/** A running fake API server. */
export interface FakeApiServer extends AsyncDisposable {
  /** The port on 127.0.0.1. */
  readonly port: number;
  /** Every request, oldest first. */
  readonly requests: readonly FakeApiServerRequest[];
  /** Every review spec received, oldest first. */
  readonly reviews: readonly FakeReviewSpec[];
  /** Adds or replaces an object (by group, plural, namespace and name); `metadata` must hold `name`. */
  put(group: string, plural: string, object: Record<string, unknown>): void;
  /** Removes every object. */
  clear(): void;
  /** Replaces the review policy. */
  setReview(review: FakeReviewPolicy): void;
  /** Sets or clears (null) the injected fault. */
  setFault(fault: FakeApiServerFault | null): void;
  /** Stops listening and closes every connection. Idempotent. */
  stop(): Promise<void>;
}

type Env = { Bindings: { incoming: http.IncomingMessage } };

interface Meta {
  name?: string;
  namespace?: string;
  uid?: string;
}

const status = (code: number, message: string) => ({
  kind: "Status",
  apiVersion: "v1",
  status: "Failure",
  message,
  code,
});

/**
 * Starts a fake API server on 127.0.0.1 (any free port).
 *
 * @example
 * ```ts ignore
 * await using api = await startFakeApiServer({ tls: { cert, key }, tokenPath });
 * api.put("", "namespaces", { metadata: { name: "default", labels: { team: "a" } } });
 * ```
 *
 * @param options TLS, token file, resources and review policy.
 * @returns The running server.
 */
export async function startFakeApiServer(options: FakeApiServerOptions): Promise<FakeApiServer> {
  const resources = [...CORE_RESOURCES, ...(options.resources ?? [])];
  const objects = new Map<string, Record<string, unknown>>();
  const requests: FakeApiServerRequest[] = [];
  const reviews: FakeReviewSpec[] = [];
  let review = options.review ?? (() => false);
  let fault: FakeApiServerFault | null = null;
  const sleeper = createSleeper();
  const sleep = sleeper.sleep;

  const keyOf = (group: string, plural: string, namespace: string, name: string) =>
    JSON.stringify([group, plural, namespace, name]);

  const resourceList = (group: string, version: string) => ({
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: group === "" ? version : `${group}/${version}`,
    resources: resources.filter((r) => r.group === group && r.version === version).map((r) => ({
      name: r.plural,
      singularName: r.kind.toLowerCase(),
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: ["get", "list"],
    })),
  });

  function listOrGet(group: string, version: string, segs: string[], accept: string): [number, unknown] {
    let namespace = "";
    let rest = segs;
    if (segs[0] === "namespaces" && segs.length >= 3) {
      namespace = segs[1];
      rest = segs.slice(2);
    }
    const [plural, name, ...more] = rest;
    const resource = resources.find((r) => r.group === group && r.version === version && r.plural === plural);
    if (!resource || more.length > 0) {
      return [404, status(404, "the server could not find the requested resource")];
    }
    const apiVersion = group === "" ? version : `${group}/${version}`;
    const metadataOnly = accept.includes("as=PartialObjectMetadata");
    const shape = (o: Record<string, unknown>) =>
      metadataOnly
        ? { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: o.metadata }
        : { kind: resource.kind, apiVersion, ...o };
    if (name !== undefined) {
      const o = objects.get(keyOf(group, plural, resource.namespaced ? namespace : "", name));
      if (!o) return [404, status(404, `${plural} "${name}" not found`)];
      return [200, shape(o)];
    }
    const items = [...objects.entries()]
      .filter(([k]) => {
        const [g, p, ns] = JSON.parse(k) as string[];
        return g === group && p === plural && (namespace === "" || ns === namespace);
      })
      .map(([, o]) => shape(o));
    return [200, {
      kind: metadataOnly ? "PartialObjectMetadataList" : `${resource.kind}List`,
      apiVersion: metadataOnly ? "meta.k8s.io/v1" : apiVersion,
      metadata: {},
      items,
    }];
  }

  const app = new Hono<Env>();
  app.all("*", async (c) => {
    const incoming = c.env.incoming;
    const path = incoming.url ?? "/";
    const authorization = incoming.headers.authorization ?? null;
    const accept = incoming.headers.accept ?? null;
    const reply = (code: number, body: unknown) => {
      requests.push({ method: c.req.method, path, accept, authorization, status: code });
      return c.json(body, code as 200);
    };
    let expected = "";
    try {
      expected = (await Deno.readTextFile(options.tokenPath)).trim();
    } catch {
      expected = "";
    }
    if (expected === "" || authorization !== `Bearer ${expected}`) {
      return reply(401, status(401, "Unauthorized"));
    }
    const current = fault;
    if (current && (current.pathPrefix === undefined || path.startsWith(current.pathPrefix))) {
      if (current.delayMs) await sleep(current.delayMs);
      if (current.status !== undefined) {
        return reply(current.status, status(current.status, current.message ?? "fault injected"));
      }
      if (current.oversizeBytes !== undefined) {
        return reply(200, { kind: "Status", padding: "x".repeat(current.oversizeBytes) });
      }
      if (current.body !== undefined) return reply(200, current.body);
    }
    const url = new URL(path, "https://fake");
    const segs = url.pathname.split("/").filter((s) => s !== "");
    if (c.req.method === "POST") {
      if (url.pathname === "/apis/authorization.k8s.io/v1/subjectaccessreviews") {
        const body = await c.req.json() as { spec?: FakeReviewSpec };
        const spec = body.spec ?? {};
        reviews.push(spec);
        const answer = review(spec);
        return reply(201, {
          kind: "SubjectAccessReview",
          apiVersion: "authorization.k8s.io/v1",
          spec,
          status: typeof answer === "boolean" ? { allowed: answer } : answer,
        });
      }
      return reply(405, status(405, "method not allowed"));
    }
    const a = accept ?? "";
    if (segs[0] === "api" && segs[1] === "v1") {
      if (segs.length === 2) return reply(200, resourceList("", "v1"));
      return reply(...listOrGet("", "v1", segs.slice(2), a));
    }
    if (segs[0] === "apis" && segs.length >= 2) {
      const group = segs[1];
      const versions = [...new Set(resources.filter((r) => r.group === group).map((r) => r.version))];
      if (versions.length === 0) {
        return reply(404, status(404, "the server could not find the requested resource"));
      }
      if (segs.length === 2) {
        const gv = (v: string) => ({ groupVersion: `${group}/${v}`, version: v });
        return reply(200, {
          kind: "APIGroup",
          apiVersion: "v1",
          name: group,
          versions: versions.map(gv),
          preferredVersion: gv(versions[0]),
        });
      }
      const version = segs[2];
      if (!versions.includes(version)) {
        return reply(404, status(404, "the server could not find the requested resource"));
      }
      if (segs.length === 3) return reply(200, resourceList(group, version));
      return reply(...listOrGet(group, version, segs.slice(3), a));
    }
    return reply(404, status(404, "the server could not find the requested resource"));
  });

  const server = https.createServer(
    { cert: options.tls.cert, key: options.tls.key },
    getRequestListener((req, env) => app.fetch(req, env)),
  );
  const listening = await listenFakeServer(server, { sleeper });
  const port = listening.address.port;

  const stop = listening.stop;

  return {
    port,
    get requests() {
      return requests;
    },
    get reviews() {
      return reviews;
    },
    put(group, plural, object) {
      const meta = (object.metadata ?? {}) as Meta;
      const resource = resources.find((r) => r.group === group && r.plural === plural);
      if (!resource) throw new RangeError(`Cannot store ${plural}.${group} as it is not a served resource`);
      objects.set(
        keyOf(group, plural, resource.namespaced ? meta.namespace ?? "" : "", meta.name ?? ""),
        object,
      );
    },
    clear() {
      objects.clear();
    },
    setReview(r) {
      review = r;
    },
    setFault(f) {
      fault = f;
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
