/**
 * Reads the top-level `sigstore { … }` block, the current SPIRE form (`pkg/agent/common/sigstore/config.go`
 * at v1.15.3), into a frozen {@linkcode SigstoreCurrentConfig}: `allowed_identities` (issuer → subjects, each a
 * literal or a Go regular expression, compiled here so that a bad one is a Configure error naming it),
 * `skipped_images`, `rekor_url` (the public Rekor by default), `ignore_sct`, `ignore_tlog`,
 * `ignore_attestations` and `registry_credentials` (registry → `{ username, password }`; secrets, never
 * echoed). Verification itself lives in `src/sigstore/`.
 *
 * Stricter than upstream, on purpose: unknown keys and keys given twice are errors at every level (also in a
 * credentials entry); `allowed_identities` must name at least one issuer and subject, none empty (upstream
 * reads an empty map, an empty issuer or an empty subject as "any signer"); a registry key must be a
 * registry host with optional port (upstream silently never matches anything else); `rekor_url` must be https.
 * As upstream: a credentials entry with only one of `username` and `password` is ignored with a warning.
 *
 * @module
 */

import type { RegistryCredential, SigstoreCurrentConfig } from "./types.ts";
import type { ConfigEntry, ConfigNode, ConfigObject } from "./tree.ts";
import { type LevelReader, readStringList } from "./level_reader.ts";
import { describeNode, occurrences, quoteValue } from "./problem_text.ts";
import { ImmutableMap } from "./immutable_map.ts";
import { checkRekorUrl } from "./sigstore.ts";
import { compileRe2, Re2SyntaxError } from "../sigstore/re2.ts";
import { isIdentityPattern } from "../sigstore/identity.ts";
import { credentialKey } from "../oci/docker_config.ts";
import { registryBaseUrl } from "../oci/http.ts";

/** The Rekor instance used when `rekor_url` is absent or "" (upstream's `publicRekorURL`). */
export const PUBLIC_REKOR_URL = "https://rekor.sigstore.dev";

const REDACTED = "[redacted]";

/**
 * A user name and password for one registry. The password never shows when the object is logged,
 * inspected or turned into JSON; read the field itself to use it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SecretCredential } from "./sigstore_current.ts";
 * const c = new SecretCredential("robot", "s3cret");
 * assert.equal(c.password, "s3cret");
 * assert.equal(JSON.stringify(c), '{"username":"robot","password":"[redacted]"}');
 * assert.ok(!Deno.inspect(c).includes("s3cret"));
 * ```
 */
export class SecretCredential implements RegistryCredential {
  /**
   * @param username The user name.
   * @param password The password or access token.
   */
  constructor(readonly username: string, readonly password: string) {
    Object.freeze(this);
  }

  /** The credential for JSON, the password redacted. */
  toJSON(): { username: string; password: string } {
    return { username: this.username, password: REDACTED };
  }

  /** Deno's `console.log` / `Deno.inspect`: the password redacted. */
  [Symbol.for("Deno.customInspect")](): string {
    return this.#describe();
  }

  /** Node's `util.inspect`: the password redacted. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.#describe();
  }

  /** `String(credential)`: the password redacted. */
  toString(): string {
    return this.#describe();
  }

  #describe(): string {
    return `SecretCredential { username: ${JSON.stringify(this.username)}, password: ${REDACTED} }`;
  }
}

/** Groups entries by key exactly as written (map keys are case-sensitive, as hcl v1 decodes a map). */
function byKey(entries: readonly ConfigEntry[]): Map<string, ConfigEntry[]> {
  const out = new Map<string, ConfigEntry[]>();
  for (const e of entries) {
    const list = out.get(e.key);
    if (list) list.push(e);
    else out.set(e.key, [e]);
  }
  return out;
}

/** The problem text of a pattern Go refuses. */
function patternProblem(text: string): string | null {
  if (!isIdentityPattern(text)) return null;
  try {
    compileRe2(text);
    return null;
  } catch (err) {
    if (err instanceof Re2SyntaxError) return err.message;
    throw err;
  }
}

/** Reads `allowed_identities`; undefined after a problem. */
function readAllowedIdentities(r: LevelReader): Map<string, readonly string[]> | undefined {
  const problems = r.problems;
  const key = r.key("allowed_identities");
  const hint = 'to accept any signer on purpose, write ".*" = [".*"]';
  if (!r.has("allowed_identities")) {
    problems.push(
      `${key}: required: list the OIDC issuers and the subjects allowed to sign (upstream accepts any signer ` +
        `when it is absent; ${hint})`,
    );
    return undefined;
  }
  const node = r.block("allowed_identities");
  if (node === undefined) return undefined; // wrong type or given twice: already reported
  const before = problems.length;
  if (node.entries.length === 0) {
    problems.push(
      `${key}: must list at least one issuer (upstream accepts any signer when it is empty; ${hint})`,
    );
    return undefined;
  }
  const grouped = byKey(node.entries);
  const out = new Map<string, readonly string[]>();
  for (const [issuer, entries] of grouped) {
    const ik = `${key}[${quoteValue(issuer)}]`;
    if (issuer === "") {
      problems.push(`${key}: an issuer must not be empty (upstream would read it as any issuer)`);
      continue;
    }
    if (entries.length > 1) {
      problems.push(`${ik} is set more than once ${occurrences(entries, issuer)}`);
      continue;
    }
    const issuerProblem = patternProblem(issuer);
    if (issuerProblem !== null) problems.push(`${ik}: issuer: ${issuerProblem}`);
    const subjects = readStringList(entries[0].value, ik, problems);
    if (subjects === undefined) continue;
    if (subjects.length === 0) {
      problems.push(`${ik}: must list at least one subject (upstream ignores an issuer without subjects)`);
      continue;
    }
    subjects.forEach((subject, i) => {
      const p = patternProblem(subject);
      if (p !== null) problems.push(`${ik}[${i}]: ${p}`);
    });
    out.set(issuer, Object.freeze(subjects));
  }
  return problems.length > before ? undefined : out;
}

/** Reads one `{ username, password }` entry; values are secrets and never appear in a problem. */
function readCredentialEntry(
  node: ConfigNode,
  where: string,
  problems: string[],
): { username: string; password: string } | undefined {
  if (node.kind !== "object") {
    problems.push(`${where}: expected a block with username and password, got ${describeNode(node)}`);
    return undefined;
  }
  const before = problems.length;
  const known = new Map<string, ConfigEntry[]>();
  const unknown = new Set<string>();
  for (const e of node.entries) {
    const lower = e.key.toLowerCase();
    if (lower !== "username" && lower !== "password") {
      unknown.add(e.key);
      continue;
    }
    known.set(lower, [...(known.get(lower) ?? []), e]);
  }
  if (unknown.size > 0) {
    const shown = [...unknown].sort().slice(0, 20).map((k) => (k.length > 64 ? `${k.slice(0, 64)}...` : k));
    problems.push(`unknown configurations detected in ${where}: ${shown.join(",")}`);
  }
  const value = (name: string): string => {
    const entries = known.get(name);
    if (entries === undefined) return "";
    if (entries.length > 1) {
      problems.push(`${where}.${name} is set more than once ${occurrences(entries, name)}`);
      return "";
    }
    const v = entries[0].value;
    if (v.kind === "string") return v.value;
    problems.push(`${where}.${name}: expected a string, got ${describeNode(v)}`);
    return "";
  };
  const username = value("username");
  const password = value("password");
  return problems.length > before ? undefined : { username, password };
}

/** What `registry_credentials` gives: the usable entries and the registries of the ignored ones. */
interface ReadCredentials {
  readonly credentials: Map<string, RegistryCredential>;
  readonly incomplete: string[];
}

/** Reads `registry_credentials`; undefined after a problem. */
function readRegistryCredentials(r: LevelReader): ReadCredentials | undefined {
  const result: ReadCredentials = { credentials: new Map(), incomplete: [] };
  const node: ConfigObject | undefined = r.block("registry_credentials");
  if (node === undefined) return r.has("registry_credentials") ? undefined : result;
  const problems = r.problems;
  const before = problems.length;
  const key = r.key("registry_credentials");
  /** Normalised registry → the key that named it first. */
  const seen = new Map<string, string>();
  for (const [registry, entries] of byKey(node.entries)) {
    const where = `${key}[${quoteValue(registry)}]`;
    if (entries.length > 1) {
      problems.push(`${where} is set more than once ${occurrences(entries, registry)}`);
      continue;
    }
    if (registryBaseUrl(registry) === null) {
      problems.push(
        `${where}: not a registry host name with optional port (e.g. "ghcr.io", "registry.example:5000"; ` +
          `no scheme or path)`,
      );
      continue;
    }
    const normalised = credentialKey(registry);
    const other = seen.get(normalised);
    if (other !== undefined) {
      problems.push(
        `${where}: names the same registry as ${quoteValue(other)} (host names are case-insensitive, and ` +
          `docker.io, index.docker.io and registry-1.docker.io are all Docker Hub)`,
      );
      continue;
    }
    seen.set(normalised, registry);
    const entry = readCredentialEntry(entries[0].value, where, problems);
    if (entry === undefined) continue;
    if (entry.username !== "" && entry.password !== "") {
      result.credentials.set(normalised, new SecretCredential(entry.username, entry.password));
    } else {
      result.incomplete.push(registry);
    }
  }
  return problems.length > before ? undefined : result;
}

/**
 * Reads the `sigstore` block: every problem is recorded (in key order: identities, skipped images, Rekor URL,
 * the three bools, registry credentials), and the settings are returned only when there is none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LevelReader } from "./level_reader.ts";
 * import { readSigstoreCurrent } from "./sigstore_current.ts";
 * const problems: string[] = [];
 * const subjects = { kind: "list", items: [{ kind: "string", value: "^release@example\\.com$" }] } as const;
 * const level = new Map([["allowed_identities", {
 *   kind: "object",
 *   entries: [{ key: "https://accounts.google.com", value: subjects, line: 2 }],
 * } as const]]);
 * const sigstore = readSigstoreCurrent(new LevelReader(level, "sigstore", problems));
 * assert.deepEqual(problems, []);
 * assert.equal(sigstore?.rekorUrl, "https://rekor.sigstore.dev");
 * assert.deepEqual(sigstore?.allowedIdentities.get("https://accounts.google.com"), ["^release@example\\.com$"]);
 * ```
 *
 * @param r The block's level (path `sigstore`); its problems list receives the problems.
 * @returns The frozen settings, or undefined when the block has a problem.
 */
export function readSigstoreCurrent(r: LevelReader): SigstoreCurrentConfig | undefined {
  const problems = r.problems;
  const before = problems.length;
  const identities = readAllowedIdentities(r);
  const skipped = r.stringList("skipped_images") ?? [];
  const rekorRaw = r.string("rekor_url");
  let rekorUrl: string | undefined = PUBLIC_REKOR_URL;
  if (rekorRaw === undefined) {
    if (r.has("rekor_url")) rekorUrl = undefined; // wrong type or given twice: already reported
  } else if (rekorRaw !== "") rekorUrl = checkRekorUrl(rekorRaw, r.key("rekor_url"), problems);
  const ignoreSct = r.bool("ignore_sct") ?? false;
  const ignoreTlog = r.bool("ignore_tlog") ?? false;
  const ignoreAttestations = r.bool("ignore_attestations") ?? false;
  const credentials = readRegistryCredentials(r);
  if (problems.length > before || identities === undefined || rekorUrl === undefined || !credentials) {
    return undefined;
  }
  const byCodePoint = ([a]: [string, unknown], [b]: [string, unknown]) => (a < b ? -1 : a > b ? 1 : 0);
  return Object.freeze({
    allowedIdentities: new ImmutableMap([...identities.entries()].sort(byCodePoint)),
    skippedImages: Object.freeze(skipped),
    rekorUrl,
    ignoreSct,
    ignoreTlog,
    ignoreAttestations,
    registryCredentials: new ImmutableMap([...credentials.credentials.entries()].sort(byCodePoint)),
    ignoredCredentials: Object.freeze(credentials.incomplete),
  });
}
