/**
 * The online Rekor lookup for a signature that carries no bundle (cosign v2.2 `tlogValidateEntry`): search the
 * Rekor index at `rekor_url` for the payload hash, fetch each entry, verify each like a bundle (`tlog.ts`) and
 * keep the earliest valid one. Bounded: one overall timeout, size caps on every answer, at most
 * {@linkcode MAX_LOOKUP_UUIDS} entries, the caller's `AbortSignal`; error messages name status codes and
 * counts, never answer bodies.
 *
 * `rekor_url` may have an empty path (`https://rekor.sigstore.dev` is read as `https://rekor.sigstore.dev/`),
 * unlike upstream, where an empty path fails every lookup (`rekor URL path is empty`). A path prefix is kept
 * (`https://host/rekor/` → `https://host/rekor/api/v1/…`). Plain `http` is accepted only for loopback hosts
 * (tests); configuration requires `https`.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { abortError } from "../core/abort.ts";
import { errorMessage } from "../errors.ts";
import {
  checkEntryShape,
  decodeBase64Strict,
  type TlogEntry,
  type VerifiedTlogEntry,
  verifyTlogEntry,
} from "./tlog.ts";
import { type LogKey, SignatureRejected } from "./types.ts";

/** The most entry UUIDs of one index answer that are fetched and checked. */
export const MAX_LOOKUP_UUIDS = 16;
/** The overall time a lookup may take. */
export const LOOKUP_TIMEOUT_MS = 10_000;
/** The largest index answer read. */
export const MAX_INDEX_BYTES = 64 * 1024;
/** The largest entry answer read. */
export const MAX_ENTRY_BYTES = 512 * 1024;

/** What a lookup needs. */
export interface RekorLookupInput {
  /** `rekor_url`. */
  readonly rekorUrl: string;
  /** The signed payload. */
  readonly payload: Uint8Array;
  /** The layer's signature annotation. */
  readonly signatureB64: string;
  /** The leaf certificate DER. */
  readonly leafDer: Uint8Array;
  /** Trusted Rekor keys. */
  readonly rekorKeys: readonly LogKey[];
  /** Aborts the lookup (the attestation's signal). */
  readonly signal?: AbortSignal;
  /** The `fetch` to use (tests). @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** Overall timeout. @default LOOKUP_TIMEOUT_MS */
  readonly timeoutMs?: number;
}

const UUID_RE = /^(?:[0-9a-f]{16})?[0-9a-f]{64}$/;
const LOOPBACK = new Set(["127.0.0.1", "[::1]", "localhost"]);

function noEntry(message: string): never {
  throw new SignatureRejected("no-bundle", message);
}

/**
 * The base URL of the Rekor API for `rekor_url`: https (or http for a loopback host), no query or fragment,
 * with a trailing slash.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rekorBaseUrl } from "./rekor_lookup.ts";
 * assert.equal(rekorBaseUrl("https://rekor.sigstore.dev").href, "https://rekor.sigstore.dev/");
 * assert.equal(rekorBaseUrl("https://h.example/rekor").href, "https://h.example/rekor/");
 * assert.throws(() => rekorBaseUrl("http://rekor.example/"));
 * ```
 *
 * @param rekorUrl `rekor_url`.
 * @returns The base URL.
 * @throws SignatureRejected `no-bundle` for an unusable URL.
 */
export function rekorBaseUrl(rekorUrl: string): URL {
  let url: URL;
  try {
    url = new URL(rekorUrl);
  } catch {
    noEntry(`the Rekor URL ${JSON.stringify(rekorUrl.slice(0, 200))} does not parse`);
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && LOOPBACK.has(url.hostname))) {
    noEntry(`the Rekor URL ${url.origin} is not https`);
  }
  if (url.username || url.password) noEntry("the Rekor URL must not carry credentials");
  url.search = "";
  url.hash = "";
  if (!url.pathname.endsWith("/")) url.pathname += "/";
  return url;
}

async function readBounded(response: Response, maxBytes: number, what: string): Promise<string> {
  const length = Number(response.headers.get("content-length") ?? "0");
  if (length > maxBytes) {
    await response.body?.cancel();
    noEntry(`the Rekor ${what} answer is over ${maxBytes} bytes`);
  }
  const reader = response.body?.getReader();
  if (!reader) return "";
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > maxBytes) {
      await reader.cancel();
      noEntry(`the Rekor ${what} answer is over ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return new TextDecoder("utf-8", { fatal: true }).decode(Buffer.concat(chunks));
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    noEntry(`the Rekor ${what} answer is not JSON`);
  }
}

/**
 * Looks the signature up in Rekor and verifies the entries found (see the module documentation).
 *
 * @param input The signature, trust and URL.
 * @returns The earliest valid entry.
 * @throws SignatureRejected `no-bundle` when Rekor cannot be asked or has no entry, `tlog` when entries were
 *   found and none verifies; an `AttestorError` (`cancelled`, `deadline-exceeded`) when `signal` aborts.
 */
export async function lookupRekorEntry(input: RekorLookupInput): Promise<VerifiedTlogEntry> {
  const base = rekorBaseUrl(input.rekorUrl);
  const doFetch = input.fetch ?? globalThis.fetch;
  const timeoutMs = input.timeoutMs ?? LOOKUP_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = input.signal ? AbortSignal.any([input.signal, timeout]) : timeout;
  const request = async (
    path: string,
    init: RequestInit,
    maxBytes: number,
    what: string,
  ): Promise<unknown> => {
    let response: Response;
    try {
      response = await doFetch(new URL(path, base), { ...init, signal, redirect: "manual" });
    } catch (err) {
      if (input.signal?.aborted) throw abortError(input.signal);
      if (timeout.aborted) noEntry(`the Rekor lookup at ${base.href} timed out after ${timeoutMs} ms`);
      noEntry(`the Rekor ${what} request to ${base.href} failed: ${errorMessage(err).slice(0, 200)}`);
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      noEntry(`the Rekor ${what} request to ${base.href} answered HTTP ${response.status}`);
    }
    try {
      return parseJson(await readBounded(response, maxBytes, what), what);
    } catch (err) {
      if (input.signal?.aborted) throw abortError(input.signal);
      if (timeout.aborted) noEntry(`the Rekor lookup at ${base.href} timed out after ${timeoutMs} ms`);
      throw err;
    }
  };

  const hash = createHash("sha256").update(input.payload).digest("hex");
  const uuids = await request(
    "api/v1/index/retrieve",
    {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ hash: `sha256:${hash}` }),
    },
    MAX_INDEX_BYTES,
    "index",
  );
  if (!Array.isArray(uuids) || !uuids.every((u) => typeof u === "string" && UUID_RE.test(u))) {
    noEntry("the Rekor index answer is not a list of entry UUIDs");
  }
  if (uuids.length === 0) noEntry(`Rekor at ${base.href} has no entry for the payload sha256:${hash}`);

  const problems: string[] = [];
  let earliest: VerifiedTlogEntry | undefined;
  for (const uuid of [...new Set(uuids as string[])].slice(0, MAX_LOOKUP_UUIDS)) {
    const answer = await request(
      `api/v1/log/entries/${uuid}`,
      {
        method: "GET",
        headers: { accept: "application/json" },
      },
      MAX_ENTRY_BYTES,
      "entry",
    );
    try {
      const entry = entryFromAnswer(answer, uuid);
      const verified = verifyTlogEntry(entry, input);
      if (!earliest || verified.integratedTime < earliest.integratedTime) earliest = verified;
    } catch (err) {
      if (!(err instanceof SignatureRejected)) throw err;
      problems.push(`${uuid.slice(-12)}: ${err.message}`);
    }
  }
  if (!earliest) {
    const extra = uuids.length > MAX_LOOKUP_UUIDS ? ` (checked ${MAX_LOOKUP_UUIDS} of ${uuids.length})` : "";
    throw new SignatureRejected(
      "tlog",
      `no valid Rekor entry found${extra}: ${problems.slice(0, 4).join("; ")}`,
    );
  }
  return earliest;
}

function entryFromAnswer(answer: unknown, uuid: string): TlogEntry {
  if (!answer || typeof answer !== "object" || Array.isArray(answer)) {
    throw new SignatureRejected("tlog", "the Rekor entry answer is not an object");
  }
  const entries = Object.entries(answer as Record<string, unknown>);
  if (entries.length !== 1 || entries[0][0] !== uuid) {
    throw new SignatureRejected("tlog", "the Rekor entry answer is not the requested entry");
  }
  // deno-lint-ignore no-explicit-any
  const e = entries[0][1] as any;
  const entry = checkEntryShape({
    body: e?.body,
    integratedTime: e?.integratedTime,
    logIndex: e?.logIndex,
    logId: e?.logID,
    signedEntryTimestamp: e?.verification?.signedEntryTimestamp,
  }, "the Rekor entry");
  // The UUID ends with the entry's leaf hash: sha256(0x00 || body), as cosign's verifyUUID checks.
  const body = decodeBase64Strict(entry.body);
  if (!body) throw new SignatureRejected("tlog", "the Rekor entry body is not base64");
  const leafHash = createHash("sha256").update(Buffer.from([0])).update(body).digest("hex");
  if (!uuid.endsWith(leafHash)) {
    throw new SignatureRejected("tlog", "the Rekor entry body does not match its UUID");
  }
  return entry;
}
