/**
 * The Rekor check of one cosign attestation (a DSSE envelope in the `.att` tag), offline, from its bundle
 * annotation, as cosign `VerifyBundle` accepts it for the entry kinds cosign has written for attestations:
 *
 * | kind | hash (must be sha256 of the envelope bytes) | key (must be the leaf certificate) |
 * |---|---|---|
 * | `intoto` 0.0.1 | `spec.content.hash` | `spec.publicKey` |
 * | `intoto` 0.0.2 | `spec.content.hash` | `spec.content.envelope.signatures[0].publicKey` (exactly one) |
 * | `dsse` 0.0.1 | `spec.envelopeHash` | `spec.signatures[0].verifier` (exactly one) |
 *
 * The SET is verified as for signatures (`tlog.ts`). Cosign skips the signature comparison for attestations
 * (their signature annotation is empty); so does this check: the hash of the whole envelope, signatures
 * included, binds the entry to it. Other kinds (`hashedrekord`, `rekord`) are refused for an attestation,
 * stricter than cosign, which would take any kind whose hash matches.
 *
 * @module
 */

import { createHash } from "node:crypto";
import {
  decodeBase64Strict,
  requireBodyCertificate,
  type TlogEntry,
  verifySignedEntryTimestamp,
} from "./tlog.ts";
import { type LogKey, SignatureRejected } from "./types.ts";

/** The attestation entry kinds accepted (`<kind> <apiVersion>`). */
export const ATTESTATION_ENTRY_KINDS = ["intoto 0.0.1", "intoto 0.0.2", "dsse 0.0.1"] as const;

/** What an attestation's entry is checked against. */
export interface AttestationTlogInput {
  /** Trusted Rekor keys. */
  readonly rekorKeys: readonly LogKey[];
  /** The envelope bytes (the layer blob). */
  readonly envelope: Uint8Array;
  /** The DER of the leaf certificate. */
  readonly leafDer: Uint8Array;
}

/** What a verified attestation entry established. */
export interface VerifiedAttestationEntry {
  /** The trusted integrated time, Unix seconds. */
  readonly integratedTime: number;
  /** The log ID (lowercase hex). */
  readonly logId: string;
  /** The log index. */
  readonly logIndex: number;
  /** `<kind> <apiVersion>` of the body. */
  readonly kind: string;
  /** The SET, standard base64. */
  readonly signedEntryTimestamp: string;
}

function reject(message: string): never {
  throw new SignatureRejected("tlog", message);
}

// deno-lint-ignore no-explicit-any
type Json = any;

function only(list: Json, what: string): Json {
  if (!Array.isArray(list) || list.length === 0) reject(`the Rekor entry body has no ${what}`);
  if (list.length > 1) {
    reject(`the Rekor entry body has ${list.length} ${what}s (one is supported, as cosign)`);
  }
  return list[0];
}

/** The hash and key fields of an attestation body, by kind. */
function fields(body: Json): { kind: string; hash: Json; key: Json } {
  const kind = `${String(body.kind)} ${String(body.apiVersion)}`;
  const spec = body.spec;
  switch (kind) {
    case "intoto 0.0.1":
      return { kind, hash: spec?.content?.hash, key: spec?.publicKey };
    case "intoto 0.0.2":
      return {
        kind,
        hash: spec?.content?.hash,
        key: only(spec?.content?.envelope?.signatures, "envelope signature")?.publicKey,
      };
    case "dsse 0.0.1":
      return { kind, hash: spec?.envelopeHash, key: only(spec?.signatures, "signature")?.verifier };
    default:
      return reject(
        `the Rekor entry kind ${JSON.stringify(String(body.kind)).slice(0, 64)} version ${
          JSON.stringify(String(body.apiVersion)).slice(0, 32)
        } is not supported for an attestation (${ATTESTATION_ENTRY_KINDS.join(", ")})`,
      );
  }
}

/**
 * Verifies the Rekor entry of an attestation (see the module documentation).
 *
 * @param entry The entry (from the bundle annotation, `parseCosignBundle`).
 * @param input The envelope, the leaf and the trusted keys.
 * @returns The trusted integrated time, log ID, log index, kind and SET.
 * @throws SignatureRejected `tlog` naming the failed check.
 */
export function verifyAttestationTlogEntry(
  entry: TlogEntry,
  input: AttestationTlogInput,
): VerifiedAttestationEntry {
  const signedEntryTimestamp = verifySignedEntryTimestamp(entry, input.rekorKeys);
  const bytes = decodeBase64Strict(entry.body);
  if (!bytes) reject("the Rekor entry body is not base64");
  let body: Json;
  try {
    body = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    reject("the Rekor entry body is not JSON");
  }
  if (!body || typeof body !== "object") reject("the Rekor entry body is not an object");
  const { kind, hash, key } = fields(body);

  if (hash?.algorithm !== "sha256") {
    reject(
      `the Rekor entry body's hash algorithm is ${
        JSON.stringify(String(hash?.algorithm)).slice(0, 32)
      }, not sha256`,
    );
  }
  const envelopeHash = createHash("sha256").update(input.envelope).digest("hex");
  if (hash.value !== envelopeHash) {
    reject(`the Rekor entry body's hash does not match the attestation envelope (sha256:${envelopeHash})`);
  }

  if (typeof key !== "string") reject("the Rekor entry body has no public key");
  requireBodyCertificate(key, input.leafDer, "attestation");
  return {
    integratedTime: entry.integratedTime,
    logId: entry.logId,
    logIndex: entry.logIndex,
    kind,
    signedEntryTimestamp,
  };
}
