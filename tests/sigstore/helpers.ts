/**
 * Small helpers shared by the sigstore unit tests.
 *
 * @module
 */

import { Buffer } from "node:buffer";

/**
 * The DER of the first PEM block of `pem`.
 *
 * @param pem PEM text.
 * @returns The bytes.
 */
export function pemBlockDer(pem: string): Uint8Array {
  const body = /-----BEGIN [A-Z ]+-----([\s\S]*?)-----END/.exec(pem)?.[1];
  if (!body) throw new Error("no PEM block");
  return new Uint8Array(Buffer.from(body.replace(/\s+/g, ""), "base64"));
}
