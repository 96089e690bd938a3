/**
 * Builds the immutable {@linkcode Config} from `plugin_data` text and the agent's core configuration,
 * collecting every problem at once. Used by both Configure and Validate, so it has no side effects:
 * it reads no files and touches no network; it only reads the environment variable that holds the
 * node name (through an injectable `getenv`).
 *
 * @module
 */

import type { CoreConfiguration } from "../plugin/types.ts";
import type { Config, SigstoreConfig } from "./types.ts";
import { type ConfigEntry, type ConfigNode, type ConfigObject, parseConfigText } from "./hcl.ts";
import { childKeys } from "./keys.ts";
import { goTimeQuote, parseGoDuration } from "./duration.ts";
import { parseGoInt } from "./go_int.ts";
import { parseCgroupRoot } from "../platform/unix/anchor.ts";
import { clipText } from "../clip.ts";

/** Options of {@linkcode buildConfig}. */
export interface BuildConfigOptions {
  /**
   * Reads an environment variable (for the node name). Defaults to `Deno.env.get`; a missing env
   * permission counts as "unset".
   */
  getenv?: (name: string) => string | undefined;
}

/**
 * What {@linkcode buildConfig} returns: a config when there is no problem, otherwise the problems (the first
 * {@linkcode MAX_REPORTED_PROBLEMS}, then one line saying how many more there are).
 */
export interface BuildResult {
  /** The configuration, or null when `problems` is not empty. */
  config: Config | null;
  /** One human-readable string per problem, each naming the key (and line/column for syntax errors). */
  problems: string[];
  /** How many problems were found in all (more than `problems` lists when the list was cut). */
  problemCount: number;
}

/** The most problems listed one by one; the rest are counted in one final line. */
export const MAX_REPORTED_PROBLEMS = 20;
/** The most unknown keys named in the "unknown configurations detected" problem of one block. */
export const MAX_REPORTED_KEYS = 20;
/** Where a key name is shown inside a problem, it is clipped to this many UTF-8 bytes. */
const KEY_ECHO_BYTES = 128;

const DEFAULT_SECURE_PORT = 10250;
const DEFAULT_CA_PATH = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";
const DEFAULT_TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount/token";
const DEFAULT_NODE_NAME_ENV = "MY_NODE_NAME";
const DEFAULT_MAX_POLL_ATTEMPTS = 60;
const DEFAULT_POLL_RETRY_MS = 500;
const DEFAULT_RELOAD_MS = 60_000;
/** The longest interval a JS timer can wait (2^31-1 ms, about 24.8 days); longer ones would fire at once. */
const MAX_INTERVAL_MS = 2_147_483_647;
const TRUST_DOMAIN_RE = /^[a-z0-9._-]+$/;
const DNS_NAME_RE =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** A {@linkcode ReadonlyMap} that really is read-only: no `set`, `delete` or `clear`, and frozen. */
class ImmutableMap<K, V> implements ReadonlyMap<K, V> {
  readonly #map: Map<K, V>;
  constructor(entries: Iterable<readonly [K, V]>) {
    this.#map = new Map(entries);
    Object.freeze(this);
  }
  get size(): number {
    return this.#map.size;
  }
  get(key: K): V | undefined {
    return this.#map.get(key);
  }
  has(key: K): boolean {
    return this.#map.has(key);
  }
  forEach(cb: (value: V, key: K, map: ReadonlyMap<K, V>) => void, thisArg?: unknown): void {
    this.#map.forEach((v, k) => cb.call(thisArg, v, k, this));
  }
  entries(): MapIterator<[K, V]> {
    return this.#map.entries();
  }
  keys(): MapIterator<K> {
    return this.#map.keys();
  }
  values(): MapIterator<V> {
    return this.#map.values();
  }
  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.#map.entries();
  }
  get [Symbol.toStringTag](): string {
    return "ImmutableMap";
  }
}

function defaultGetenv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no env permission (or an invalid name): treat as unset
  }
}

/** Describes a node's type for "expected X, got Y" messages. */
function describe(node: ConfigNode): string {
  switch (node.kind) {
    case "string":
      return "a string";
    case "number":
      return /^-?\d+$/.test(node.text) ? "an integer" : `a non-integer number (${node.text})`;
    case "bool":
      return "a bool";
    case "null":
      return "null";
    case "list":
      return "a list";
    case "object":
      return "a block";
  }
}

/** Quotes a user value for a message (JSON style, shortened). */
function quoteValue(s: string): string {
  return JSON.stringify(s.length > 100 ? `${s.slice(0, 100)}...` : s);
}

/**
 * The keys found in one block: known keys (lowercased) → their single value, or null for a key given more
 * than once (present, but already reported: its readers give undefined and report nothing more).
 */
type Level = Map<string, ConfigNode | null>;

/** Joins `["a", "b", "c"]` as "a, b and c". */
function listWords(words: readonly string[]): string {
  return words.length <= 1 ? words.join("") : `${words.slice(0, -1).join(", ")} and ${words.at(-1)}`;
}

/**
 * Describes where a key given more than once occurs: its lines, and each spelling that differs from
 * `canonical` (keys are case-insensitive, so `TOKEN_PATH` is `token_path` given again).
 */
function occurrences(entries: readonly ConfigEntry[], canonical: string): string {
  const byLine = [...entries].sort((a, b) => a.line - b.line);
  const shown = byLine.slice(0, 5).map((e) => {
    const spelled = e.key === canonical ? "" : ` as ${quoteValue(e.key)}`;
    return `line ${e.line}${spelled}`;
  });
  if (entries.length > shown.length) shown.push(`${entries.length - shown.length} more`);
  return `(${listWords(shown)})`;
}

/**
 * Reads one block level: reports unknown keys (sorted, as written; the first {@linkcode MAX_REPORTED_KEYS})
 * and keys given more than once in any spelling (keys are case-insensitive), naming every line, and
 * returns the value of every known key given exactly once.
 */
function readLevel(obj: ConfigObject, path: string, problems: string[]): Level {
  const known = new Set(childKeys(path));
  const seen = new Map<string, ConfigEntry[]>();
  const unknown = new Set<string>();
  for (const entry of obj.entries) {
    const lower = entry.key.toLowerCase();
    if (!known.has(lower)) {
      unknown.add(entry.key);
      continue;
    }
    const list = seen.get(lower) ?? [];
    list.push(entry);
    seen.set(lower, list);
  }
  if (unknown.size > 0) {
    const sorted = [...unknown].sort();
    const shown = sorted.slice(0, MAX_REPORTED_KEYS).map((k) => clipText(k, KEY_ECHO_BYTES)).join(",");
    const more = sorted.length > MAX_REPORTED_KEYS ? ` and ${sorted.length - MAX_REPORTED_KEYS} more` : "";
    problems.push(
      path === ""
        ? `unknown configurations detected: ${shown}${more}`
        : `unknown configurations detected in ${path}: ${shown}${more}`,
    );
  }
  const level: Level = new Map();
  for (const name of known) {
    const entries = seen.get(name);
    if (!entries) continue;
    if (entries.length > 1) {
      problems.push(
        `${path === "" ? "" : `${path}.`}${name} is set more than once ${occurrences(entries, name)}`,
      );
      level.set(name, null);
      continue;
    }
    level.set(name, entries[0].value);
  }
  return level;
}

/** Typed readers for one level; each records a problem naming the key and returns undefined on error. */
class LevelReader {
  constructor(readonly level: Level, readonly path: string, readonly problems: string[]) {}

  key(name: string): string {
    return this.path === "" ? name : `${this.path}.${name}`;
  }

  has(name: string): boolean {
    return this.level.has(name);
  }

  wrongType(name: string, expected: string, node: ConfigNode): undefined {
    this.problems.push(`${this.key(name)}: expected ${expected}, got ${describe(node)}`);
    return undefined;
  }

  bool(name: string): boolean | undefined {
    const node = this.level.get(name);
    if (node === undefined || node === null) return undefined;
    if (node.kind === "bool") return node.value;
    return this.wrongType(name, "a bool (true or false)", node);
  }

  /** An int: a number literal or a quoted integer (Go `ParseInt` base 0). */
  int(name: string): bigint | undefined {
    const node = this.level.get(name);
    if (node === undefined || node === null) return undefined;
    if (node.kind === "number") {
      if (/^-?\d+$/.test(node.text)) return BigInt(node.text);
      return this.wrongType(name, "an integer", node);
    }
    if (node.kind === "string") {
      const r = parseGoInt(node.value);
      if (r.ok) return r.value;
      this.problems.push(`${this.key(name)}: expected an integer: ${r.error}`);
      return undefined;
    }
    return this.wrongType(name, "an integer", node);
  }

  /** A string: a string, or an integer literal taken as its text (as HCL v1 does). */
  string(name: string): string | undefined {
    const node = this.level.get(name);
    if (node === undefined || node === null) return undefined;
    if (node.kind === "string") return node.value;
    if (node.kind === "number" && /^-?\d+$/.test(node.text)) return node.text;
    return this.wrongType(name, "a string", node);
  }

  /** A path: a string without NUL characters; "" means unset. */
  path_(name: string): string | undefined {
    const s = this.string(name);
    if (s !== undefined && s.includes("\0")) {
      this.problems.push(`${this.key(name)}: contains a NUL character`);
      return undefined;
    }
    return s;
  }

  /** A block: returns the object, or undefined when absent or of the wrong type. */
  block(name: string): ConfigObject | undefined {
    const node = this.level.get(name);
    if (node === undefined || node === null) return undefined;
    if (node.kind === "object") return node;
    return this.wrongType(name, "a block", node);
  }

  /** A list of non-empty strings. */
  stringList(name: string): string[] | undefined {
    const node = this.level.get(name);
    if (node === undefined || node === null) return undefined;
    return readStringList(node, this.key(name), this.problems);
  }
}

function readStringList(node: ConfigNode, key: string, problems: string[]): string[] | undefined {
  if (node.kind !== "list") {
    problems.push(`${key}: expected a list of strings, got ${describe(node)}`);
    return undefined;
  }
  const out: string[] = [];
  let ok = true;
  node.items.forEach((item, i) => {
    if (item.kind !== "string") {
      problems.push(`${key}[${i}]: expected a string, got ${describe(item)}`);
      ok = false;
    } else if (item.value === "") {
      problems.push(`${key}[${i}]: must not be empty`);
      ok = false;
    } else {
      out.push(item.value);
    }
  });
  return ok ? out : undefined;
}

/** Reads a duration key into milliseconds (> 0, at most {@linkcode MAX_INTERVAL_MS}). */
function readDuration(r: LevelReader, name: string, label: string, defaultMs: number): number | undefined {
  const text = r.string(name);
  if (text === undefined || text === "") return r.has(name) && text === undefined ? undefined : defaultMs;
  const d = parseGoDuration(text);
  if (!d.ok) {
    r.problems.push(`unable to parse ${label}: ${d.error}`);
    return undefined;
  }
  if (d.nanoseconds <= 0n) {
    r.problems.push(`${name} must be greater than zero, got ${goTimeQuote(text)}`);
    return undefined;
  }
  const ms = Number(d.nanoseconds) / 1e6;
  if (ms > MAX_INTERVAL_MS) {
    r.problems.push(`${name} must be at most 596h31m23.647s, got ${goTimeQuote(text)}`);
    return undefined;
  }
  return ms;
}

function readPort(r: LevelReader, name: string): number | undefined {
  const v = r.int(name);
  if (v === undefined) return undefined;
  if (v < 1n || v > 65535n) {
    r.problems.push(`${name} must be between 1 and 65535, got ${v}`);
    return undefined;
  }
  return Number(v);
}

/** Validates the Rekor URL like SPIRE does (https only, a host required); never echoes the URL. */
function checkRekorUrl(url: string | undefined, key: string, problems: string[]): string | undefined {
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

function readSigstore(r: LevelReader): SigstoreConfig | undefined {
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

/** True for a DNS name or an IP literal that can safely go into a URL's host part. */
function isValidHost(name: string): boolean {
  if (DNS_NAME_RE.test(name)) return true;
  if (/^[0-9A-Fa-f:.]+$/.test(name) && name.includes(":")) {
    try {
      return new URL(`https://[${name}]/`).hostname !== "";
    } catch {
      return false;
    }
  }
  return false;
}

function checkCore(core: CoreConfiguration | null, problems: string[]): string {
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

function build(hcl: string, core: CoreConfiguration | null, getenv: (name: string) => string | undefined) {
  const problems: string[] = [];
  const trustDomain = checkCore(core, problems);
  const parsed = parseConfigText(hcl);
  if (!parsed.ok) {
    problems.push(parsed.problem);
    return { config: null, problems };
  }
  const top = readLevel(parsed.root, "", problems);
  const r = new LevelReader(top, "", problems);

  // Blocks first, so unknown keys at every level are reported together, before value problems.
  let sigstoreReader: LevelReader | undefined;
  const experimental = r.block("experimental");
  if (experimental) {
    const er = new LevelReader(readLevel(experimental, "experimental", problems), "experimental", problems);
    const block = er.block("sigstore");
    const path = "experimental.sigstore";
    if (block) sigstoreReader = new LevelReader(readLevel(block, path, problems), path, problems);
  }

  const disableContainerSelectors = r.bool("disable_container_selectors") ?? false;
  const readOnlyPort = readPort(r, "kubelet_read_only_port");
  const securePort = readPort(r, "kubelet_secure_port");
  const kubeletCaPath = r.path_("kubelet_ca_path");
  const skipKubeletVerification = r.bool("skip_kubelet_verification") ?? false;
  const tokenPath = r.path_("token_path");
  const certificatePath = r.path_("certificate_path");
  const privateKeyPath = r.path_("private_key_path");
  const useAnonymousAuthentication = r.bool("use_anonymous_authentication") ?? false;
  const nodeNameEnvRaw = r.string("node_name_env");
  const nodeNameRaw = r.string("node_name");
  const maxPollRaw = r.int("max_poll_attempts");
  const pollRetryIntervalMs = readDuration(
    r,
    "poll_retry_interval",
    "poll retry interval",
    DEFAULT_POLL_RETRY_MS,
  );
  const reloadIntervalMs = readDuration(r, "reload_interval", "reload interval", DEFAULT_RELOAD_MS);
  const useNewContainerLocator = r.bool("use_new_container_locator") ?? true;
  const verboseContainerLocatorLogs = r.bool("verbose_container_locator_logs") ?? false;
  const kubeletCgroupRootRaw = r.string("kubelet_cgroup_root");
  let kubeletCgroupRoot: string | null = null;
  if (kubeletCgroupRootRaw !== undefined && kubeletCgroupRootRaw !== "") {
    try {
      parseCgroupRoot(kubeletCgroupRootRaw);
      kubeletCgroupRoot = kubeletCgroupRootRaw;
    } catch (err) {
      problems.push(`kubelet_cgroup_root: ${quoteValue(kubeletCgroupRootRaw)} ${(err as Error).message}`);
    }
  }

  let maxPollAttempts = DEFAULT_MAX_POLL_ATTEMPTS;
  if (maxPollRaw !== undefined) {
    if (maxPollRaw <= 0n) problems.push(`max_poll_attempts must be greater than zero, got ${maxPollRaw}`);
    else if (maxPollRaw > BigInt(Number.MAX_SAFE_INTEGER)) {
      problems.push(`max_poll_attempts is too large, got ${maxPollRaw}`);
    } else maxPollAttempts = Number(maxPollRaw);
  }

  // Cross-key rules.
  if (readOnlyPort !== undefined && securePort !== undefined) {
    problems.push(
      "cannot use both the read-only and secure port (kubelet_read_only_port and kubelet_secure_port are both set)",
    );
  }
  const certSet = certificatePath !== undefined && certificatePath !== "";
  const keySet = privateKeyPath !== undefined && privateKeyPath !== "";
  if (certSet && !keySet && !(r.has("private_key_path") && privateKeyPath === undefined)) {
    problems.push("the private key path is required with the certificate path (set private_key_path)");
  }
  if (keySet && !certSet && !(r.has("certificate_path") && certificatePath === undefined)) {
    problems.push("the certificate path is required with the private key path (set certificate_path)");
  }
  if (useAnonymousAuthentication) {
    if (tokenPath !== undefined && tokenPath !== "") {
      problems.push("use_anonymous_authentication cannot be used with token_path");
    }
    if (certSet) problems.push("use_anonymous_authentication cannot be used with certificate_path");
    if (keySet) problems.push("use_anonymous_authentication cannot be used with private_key_path");
  }

  // Node name: node_name, else the variable named by node_name_env.
  const nodeNameEnv = nodeNameEnvRaw === undefined || nodeNameEnvRaw === ""
    ? DEFAULT_NODE_NAME_ENV
    : nodeNameEnvRaw;
  let nodeName = "";
  if (/[=\0]/.test(nodeNameEnv)) {
    problems.push(`node_name_env: ${quoteValue(nodeNameEnv)} is not a valid environment variable name`);
  } else if (nodeNameRaw !== undefined && nodeNameRaw !== "") {
    nodeName = nodeNameRaw;
  } else if (!(r.has("node_name") && nodeNameRaw === undefined)) {
    let fromEnv: string | undefined;
    try {
      fromEnv = getenv(nodeNameEnv);
    } catch {
      fromEnv = undefined;
    }
    nodeName = typeof fromEnv === "string" ? fromEnv : "";
  }
  // The node name becomes the kubelet URL's host in secure mode: refuse anything that is not a host. It is
  // checked in read-only mode too, where it is not used: a node name is always a host name, and one that is
  // not (megabytes of text, say) is a mistake to report, not a value to carry around and log.
  if (nodeName !== "" && !isValidHost(nodeName)) {
    const source = nodeNameRaw ? "node_name" : `node name from environment variable ${nodeNameEnv}`;
    problems.push(`${source}: ${quoteValue(nodeName)} is not a valid host name`);
  }

  let sigstore: SigstoreConfig | null = null;
  if (sigstoreReader) sigstore = readSigstore(sigstoreReader) ?? null;

  if (problems.length > 0) return { config: null, problems };
  const config: Config = Object.freeze({
    trustDomain,
    disableContainerSelectors,
    kubeletReadOnlyPort: readOnlyPort ?? 0,
    kubeletSecurePort: readOnlyPort !== undefined ? 0 : securePort ?? DEFAULT_SECURE_PORT,
    kubeletCaPath: kubeletCaPath || DEFAULT_CA_PATH,
    skipKubeletVerification,
    tokenPath: tokenPath || DEFAULT_TOKEN_PATH,
    certificatePath: certificatePath ?? "",
    privateKeyPath: privateKeyPath ?? "",
    useAnonymousAuthentication,
    nodeNameEnv,
    nodeName,
    maxPollAttempts,
    pollRetryIntervalMs: pollRetryIntervalMs!,
    reloadIntervalMs: reloadIntervalMs!,
    useNewContainerLocator,
    kubeletCgroupRoot,
    verboseContainerLocatorLogs,
    sigstore,
  });
  return { config, problems };
}

/**
 * Parses `plugin_data` (HCL v1 or JSON; "" means all defaults) and the core configuration into a
 * frozen {@linkcode Config}, or returns every problem found. Never throws, reads no files.
 *
 * With a non-null `core`, its `trustDomain` must be a valid SPIFFE trust domain name; with `null` (the
 * CLI) the check is skipped and `trustDomain` is "".
 *
 * @param hcl The `plugin_data` text.
 * @param core The agent's core configuration, or null.
 * @param options `getenv` for the node-name variable (tests inject it).
 * @returns `{config, problems: [], problemCount: 0}` or `{config: null, problems: [...], problemCount}`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildConfig } from "./build.ts";
 * const { config, problems } = buildConfig("kubelet_read_only_port = 10255", { trustDomain: "example.org" });
 * assert.ok(problems.length === 0 && config?.kubeletReadOnlyPort === 10255);
 * const twice = buildConfig("max_poll_attempts = 1\nMax_Poll_Attempts = 2", { trustDomain: "example.org" });
 * assert.deepEqual(twice.problems, ['max_poll_attempts is set more than once (line 1 and line 2 as "Max_Poll_Attempts")']);
 * ```
 */
export function buildConfig(
  hcl: string,
  core: CoreConfiguration | null,
  options?: BuildConfigOptions,
): BuildResult {
  let result: { config: Config | null; problems: string[] };
  try {
    if (typeof hcl !== "string") result = { config: null, problems: ["the configuration is not text"] };
    else result = build(hcl, core, options?.getenv ?? defaultGetenv);
  } catch (err) {
    // Defensive: nothing above is expected to throw; a bug must not crash Configure.
    const detail = err instanceof Error ? err.message : String(err);
    result = { config: null, problems: [`unable to build configuration: internal error: ${detail}`] };
  }
  const { config, problems } = result;
  const problemCount = problems.length;
  if (problemCount <= MAX_REPORTED_PROBLEMS) return { config, problems, problemCount };
  const more = problemCount - MAX_REPORTED_PROBLEMS;
  return {
    config,
    problems: [
      ...problems.slice(0, MAX_REPORTED_PROBLEMS),
      `and ${more} more problem${more === 1 ? "" : "s"}`,
    ],
    problemCount,
  };
}
