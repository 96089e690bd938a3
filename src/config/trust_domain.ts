/**
 * Checks the agent's core configuration: its trust domain must be a valid SPIFFE trust domain name.
 *
 * @module
 */

import type { CoreConfiguration } from "./types.ts";

const TRUST_DOMAIN_RE = /^[a-z0-9._-]+$/;

/**
 * Checks the trust domain of the core configuration, recording SPIRE's problem text when it is missing or
 * malformed. A null `core` (the CLI, which has none) is not checked.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkCore } from "./trust_domain.ts";
 * const problems: string[] = [];
 * assert.equal(checkCore({ trustDomain: "example.org" }, problems), "example.org");
 * assert.equal(checkCore({ trustDomain: "" }, problems), "");
 * assert.deepEqual(problems, ["server core configuration must contain trust_domain"]);
 * ```
 *
 * @param core The core configuration, or null.
 * @param problems Where problems are added.
 * @returns The trust domain, or "" (null core, or after a problem).
 */
export function checkCore(core: CoreConfiguration | null, problems: string[]): string {
  if (core === null) return "";
  const td = core.trustDomain;
  if (typeof td !== "string" || td === "") {
    problems.push("server core configuration must contain trust_domain");
    return "";
  }
  if (!TRUST_DOMAIN_RE.test(td)) {
    problems.push(
      "server core configuration trust_domain is malformed: trust domain characters are limited to " +
        "lowercase letters, numbers, dots, dashes, and underscores",
    );
    return "";
  }
  return td;
}
