/**
 * The selectors of a non-pod object reference: upstream's uniform vocabulary over an object's metadata
 * (`getSelectorValuesFromObjectMeta`, SPIRE v1.15.3), independent of the resource's kind. Annotations are
 * never exposed.
 *
 * @module
 */

import { AttestorError } from "../errors.ts";
import { type Label, labelsOf } from "../apiserver/namespace_labels.ts";

/** One `metadata.ownerReferences` entry. */
export interface OwnerReference {
  /** `apiVersion`, e.g. `apps/v1` or `v1`. */
  readonly apiVersion: string;
  /** `kind`. */
  readonly kind: string;
  /** `name`. */
  readonly name: string;
  /** `uid`. */
  readonly uid: string;
  /** `controller` is true. */
  readonly controller: boolean;
}

/** The metadata fields the selectors use. */
export interface ObjectMeta {
  /** `metadata.uid`. */
  readonly uid: string;
  /** `metadata.name`. */
  readonly name: string;
  /** `metadata.namespace` ("" for cluster-scoped objects). */
  readonly namespace: string;
  /** `metadata.labels`. */
  readonly labels: readonly Label[];
  /** `metadata.ownerReferences`. */
  readonly ownerReferences: readonly OwnerReference[];
}

/** The resource an object was resolved as. */
export interface ResolvedType {
  /** The plural, as referenced. */
  readonly plural: string;
  /** The group as referenced (`core` for the core group). */
  readonly group: string;
  /** The discovered (preferred) version. */
  readonly version: string;
  /** `v1` for core, `<group>/<version>` otherwise. */
  readonly apiVersion: string;
  /** The kind from discovery. */
  readonly kind: string;
}

const str = (v: unknown): v is string => typeof v === "string";

/**
 * Reads the metadata of a `PartialObjectMetadata` (or a full object).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseObjectMeta } from "./object_selectors.ts";
 * const meta = parseObjectMeta({ metadata: { name: "web", namespace: "a", uid: "u1" } }, "GET /x");
 * assert.deepEqual([meta.name, meta.namespace, meta.uid], ["web", "a", "u1"]);
 * assert.throws(() => parseObjectMeta({ metadata: { name: 1 } }, "GET /x"), { reason: "apiserver-failed" });
 * ```
 *
 * @param object The JSON object.
 * @param what For messages (`GET <path>`).
 * @returns The metadata.
 * @throws {AttestorError} `apiserver-failed` when a used field is of the wrong type.
 */
export function parseObjectMeta(object: unknown, what: string): ObjectMeta {
  const labels = labelsOf(object, what);
  const m = (object as { metadata: Record<string, unknown> }).metadata;
  const field = (name: string): string => {
    const v = m[name];
    if (v === undefined || v === null) return "";
    if (!str(v)) throw new AttestorError("apiserver-failed", `${what}: metadata.${name} is not a string`);
    return v;
  };
  const owners: OwnerReference[] = [];
  const refs = m.ownerReferences;
  if (refs !== undefined && refs !== null) {
    if (!Array.isArray(refs)) {
      throw new AttestorError("apiserver-failed", `${what}: metadata.ownerReferences is not a list`);
    }
    for (const r of refs) {
      const o = r as Record<string, unknown> | null;
      if (
        o === null || typeof o !== "object" || !str(o.apiVersion ?? "") || !str(o.kind ?? "") ||
        !str(o.name ?? "") || !str(o.uid ?? "") ||
        !["boolean", "undefined"].includes(typeof (o.controller ?? undefined))
      ) {
        throw new AttestorError(
          "apiserver-failed",
          `${what}: metadata.ownerReferences has a malformed entry`,
        );
      }
      owners.push({
        apiVersion: (o.apiVersion ?? "") as string,
        kind: (o.kind ?? "") as string,
        name: (o.name ?? "") as string,
        uid: (o.uid ?? "") as string,
        controller: o.controller === true,
      });
    }
  }
  return {
    uid: field("uid"),
    name: field("name"),
    namespace: field("namespace"),
    labels,
    ownerReferences: owners,
  };
}

/**
 * The selector values of an object, in upstream's order: `uid`, `resource`, `plural`, `group`, `version`,
 * `apiVersion`, `kind`, `name`, `namespace` (namespaced objects only), `key`, one `label` per label, and
 * per owner `owner-key`/`owner-uid` (`<group>/<Kind>/<name|uid>`, `core` for the core group, no version),
 * plus `controller-key`/`controller-uid` for the controller.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { objectMetaSelectors } from "./object_selectors.ts";
 * const values = objectMetaSelectors(
 *   { plural: "deployments", group: "apps", version: "v1", apiVersion: "apps/v1", kind: "Deployment" },
 *   { uid: "u1", name: "web", namespace: "a", labels: [["app", "web"]], ownerReferences: [] },
 * );
 * assert.deepEqual(values, [
 *   "uid:u1", "resource:deployments.apps", "plural:deployments", "group:apps", "version:v1",
 *   "apiVersion:apps/v1", "kind:Deployment", "name:web", "namespace:a", "key:a/web", "label:app:web",
 * ]);
 * ```
 *
 * @param type The resolved resource.
 * @param meta The object's metadata.
 * @returns The values.
 */
export function objectMetaSelectors(type: ResolvedType, meta: ObjectMeta): string[] {
  const values = [
    `uid:${meta.uid}`,
    `resource:${type.plural}.${type.group}`,
    `plural:${type.plural}`,
    `group:${type.group}`,
    `version:${type.version}`,
    `apiVersion:${type.apiVersion}`,
    `kind:${type.kind}`,
    `name:${meta.name}`,
  ];
  let key = meta.name;
  if (meta.namespace !== "") {
    key = `${meta.namespace}/${meta.name}`;
    values.push(`namespace:${meta.namespace}`);
  }
  values.push(`key:${key}`);
  for (const [k, v] of meta.labels) values.push(`label:${k}:${v}`);
  for (const owner of meta.ownerReferences) {
    // schema.ParseGroupVersion: "v1" → group "", "apps/v1" → "apps", more slashes → an error, read as "" by
    // upstream; the version is not part of the identity.
    const parts = owner.apiVersion.split("/");
    const group = (parts.length === 2 ? parts[0] : "") || "core";
    const gk = `${group}/${owner.kind}`;
    values.push(`owner-key:${gk}/${owner.name}`, `owner-uid:${gk}/${owner.uid}`);
    if (owner.controller) {
      values.push(`controller-key:${gk}/${owner.name}`, `controller-uid:${gk}/${owner.uid}`);
    }
  }
  return values;
}
