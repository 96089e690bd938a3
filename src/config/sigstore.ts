/**
 * Reads the `experimental { sigstore { ... } }` block into a frozen {@linkcode SigstoreConfig}: the image
 * list, the issuer → subjects map and the Rekor URL (https only, never echoed). Verification itself comes
 * later; this only validates the settings.
 *
 * @module
 */

import type { SigstoreConfig } from "./types.ts";
import type { ConfigEntry } from "./tree.ts";
import { type LevelReader, readStringList } from "./level_reader.ts";
import { occurrences, quoteValue } from "./problem_text.ts";
import { ImmutableMap } from "./immutable_map.ts";

/**
 * Validates a Rekor URL like SPIRE v1.9.6 does (https only, a host required, no user info); never echoes the
 * URL (it could hold credentials).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkRekorUrl } from "./sigstore.ts";
 * const problems: string[] = [];
 * assert.equal(checkRekorUrl("https://rekor.example", "rekor_url", problems), "https://rekor.example");
 * assert.equal(checkRekorUrl("http://rekor.example", "rekor_url", problems), undefined);
 * assert.deepEqual(problems, ['rekor_url: failed to set Rekor URL: invalid rekor URL Scheme "http"']);
 * ```
 *
 * @param url The URL, or undefined / "" when absent.
 * @param key The key's full name, for messages.
 * @param problems Where the problem is added.
 * @returns The URL, or undefined after a problem.
 */
export function checkRekorUrl(url: string | undefined, key: string, problems: string[]): string | undefined {
  if (url === undefined || url === "") {
    problems.push(`${key}: missing Rekor URL (required when the sigstore block is present)`);
    return undefined;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    problems.push(`${key}: failed to set Rekor URL: failed parsing rekor URI: not a valid URL`);
    return undefined;
  }
  const scheme = parsed.protocol.replace(/:$/, "");
  if (scheme !== "https") {
    problems.push(`${key}: failed to set Rekor URL: invalid rekor URL Scheme ${quoteValue(scheme)}`);
    return undefined;
  }
  if (parsed.hostname === "" || !/^https:\/\/[^/?#]/i.test(url)) {
    problems.push(`${key}: failed to set Rekor URL: host is required on rekor URL`);
    return undefined;
  }
  if (parsed.username !== "" || parsed.password !== "") {
    problems.push(`${key}: failed to set Rekor URL: the URL must not contain credentials`);
    return undefined;
  }
  return url;
}

/**
 * Reads the sigstore block: every problem is recorded (in key order: image list, subjects, Rekor URL,
 * `enforce_sct`), and the settings are returned only when there is none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LevelReader } from "./level_reader.ts";
 * import { readSigstore } from "./sigstore.ts";
 * const problems: string[] = [];
 * const level = new Map([["rekor_url", { kind: "string", value: "https://rekor.example" } as const]]);
 * const sigstore = readSigstore(new LevelReader(level, "experimental.sigstore", problems));
 * assert.equal(sigstore?.rekorUrl, "https://rekor.example");
 * assert.equal(sigstore?.enforceSct, true);
 * assert.deepEqual(problems, []);
 * ```
 *
 * @param r The block's level (path `experimental.sigstore`); its problems list receives the problems.
 * @returns The frozen settings, or undefined when the block has a problem.
 */
export function readSigstore(r: LevelReader): SigstoreConfig | undefined {
  const problems = r.problems;
  const before = problems.length;
  const skip = r.stringList("skip_signature_verification_image_list") ?? [];
  const subjects = new Map<string, readonly string[]>();
  const subjectsNode = r.block("allowed_subjects_list");
  if (subjectsNode) {
    const key = r.key("allowed_subjects_list");
    // Issuers are map keys: compared exactly (case matters), as hcl v1 decodes a map.
    const byIssuer = new Map<string, ConfigEntry[]>();
    for (const e of subjectsNode.entries) {
      const list = byIssuer.get(e.key);
      if (list) list.push(e);
      else byIssuer.set(e.key, [e]);
    }
    for (const [issuer, entries] of byIssuer) {
      const ik = `${key}[${quoteValue(issuer)}]`;
      if (issuer === "") problems.push(`${key}: an issuer must not be empty`);
      else if (entries.length > 1) {
        problems.push(`${ik} is set more than once ${occurrences(entries, issuer)}`);
      }
    }
    for (const e of subjectsNode.entries) {
      if (e.key === "" || byIssuer.get(e.key)!.length > 1) continue;
      const list = readStringList(e.value, `${key}[${quoteValue(e.key)}]`, problems);
      if (list) subjects.set(e.key, Object.freeze(list));
    }
  }
  const rekorRaw = r.string("rekor_url");
  // Present but unusable (wrong type, given twice): already reported.
  const rekorUrl = r.has("rekor_url") && rekorRaw === undefined
    ? undefined
    : checkRekorUrl(rekorRaw, r.key("rekor_url"), problems);
  const enforceSct = r.bool("enforce_sct") ?? true;
  if (problems.length > before || rekorUrl === undefined) return undefined;
  const sorted = [...subjects.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.freeze({
    skipSignatureVerificationImageList: Object.freeze(skip),
    allowedSubjects: new ImmutableMap(sorted),
    rekorUrl,
    enforceSct,
  });
}
