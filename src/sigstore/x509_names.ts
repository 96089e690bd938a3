/**
 * The names a signing certificate carries: the Fulcio OIDC issuer extension and the subject alternative names
 * in Go's order.
 *
 * @module
 */

import type { X509Certificate } from "@sigstore/core";

/** The Fulcio OIDC issuer extension (v1: the raw issuer bytes as the extension value). */
export const OID_FULCIO_ISSUER_V1 = "1.3.6.1.4.1.57264.1.1";
/** Fulcio's `otherName` SAN type (a username). */
export const OID_FULCIO_OTHERNAME = "1.3.6.1.4.1.57264.1.7";
/** The subject alternative name extension. */
export const OID_SAN = "2.5.29.17";

/**
 * The raw value of the Fulcio v1 OIDC issuer extension, as SPIRE era 1 reads it.
 *
 * @param cert The leaf.
 * @returns The issuer, or undefined when the extension is absent.
 */
export function fulcioIssuer(cert: X509Certificate): string | undefined {
  const ext = cert.extension(OID_FULCIO_ISSUER_V1);
  if (!ext) return undefined;
  return new TextDecoder("utf-8", { fatal: true }).decode(ext.value);
}

/**
 * The subject alternative names in the order of Go's `cryptoutils.GetSubjectAlternateNames`: DNS names,
 * email addresses, IP addresses, URIs, then Fulcio `otherName` usernames.
 *
 * @param cert A certificate.
 * @returns The names (empty without a SAN extension).
 */
export function subjectAlternativeNames(cert: X509Certificate): string[] {
  const ext = cert.extension(OID_SAN);
  if (!ext) return [];
  const seq = ext.valueObj.subs[0];
  if (!seq) throw new Error("malformed subject alternative name extension");
  const byTag = new Map<number, string[]>([[2, []], [1, []], [7, []], [6, []], [0, []]]);
  const ascii = (bytes: Uint8Array) => new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  for (const name of seq.subs) {
    if (name.tag.class !== 2) throw new Error("malformed subject alternative name");
    const tag = name.tag.number;
    switch (tag) {
      case 1:
      case 2:
      case 6:
        byTag.get(tag)!.push(ascii(name.value));
        break;
      case 7:
        byTag.get(7)!.push(formatIp(name.value));
        break;
      case 0: {
        const oid = name.subs[0]?.toOID();
        const value = name.subs[1]?.subs[0];
        if (oid === OID_FULCIO_OTHERNAME && value) byTag.get(0)!.push(ascii(value.value));
        break;
      }
      default:
        break;
    }
  }
  return [2, 1, 7, 6, 0].flatMap((tag) => byTag.get(tag)!);
}

function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return [...bytes].join(".");
  if (bytes.length !== 16) throw new Error(`IP address SAN of ${bytes.length} bytes`);
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i] << 8) | bytes[i + 1]);
  // IPv4-mapped addresses print as IPv4, as Go's net.IP does.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) return [...bytes.slice(12)].join(".");
  // RFC 5952: compress the longest run (length ≥ 2) of zero groups.
  let bestStart = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) [bestStart, bestLen] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}
