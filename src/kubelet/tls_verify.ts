/**
 * Anchoring the kubelet's certificate chain to the configured CA bundle only.
 *
 * @module
 */

import { X509Certificate } from "node:crypto";
import type * as tls from "node:tls";

/**
 * Checks that the certificate chain a kubelet presented reaches one of `roots`, and nothing else (Deno adds
 * its bundled root store to a TLS client's `ca`, so this anchors verification to `kubelet_ca_path`). Runs
 * after the TLS stack has verified the chain, from the `checkServerIdentity` hook. The leaf may itself be
 * in `roots` (a pinned self-signed kubelet certificate); presented certificates marked as CAs serve as
 * intermediates. Every certificate on the path must be valid at `now`.
 *
 * @example
 * ```ts ignore
 * const reason = verifyChainToRoots(peerCertificate, caCerts, new Date());
 * if (reason !== null) return new Error(reason);
 * ```
 *
 * @param leaf The peer certificate as `node:tls` gives it (with `issuerCertificate` links).
 * @param roots The CA certificates from `kubelet_ca_path`.
 * @param now The verification time.
 * @param peer Who presented the chain, for the reason text. @default {"kubelet"}
 * @param caSource Where `roots` came from, for the reason text. @default {"kubelet_ca_path"}
 * @returns null when anchored, else the reason.
 */
export function verifyChainToRoots(
  leaf: tls.PeerCertificate,
  roots: readonly X509Certificate[],
  now: Date,
  peer: string = "kubelet",
  caSource: string = "kubelet_ca_path",
): string | null {
  const presented: X509Certificate[] = [];
  let node: tls.DetailedPeerCertificate | tls.PeerCertificate | undefined = leaf;
  const seen = new Set<string>();
  while (node && node.raw && presented.length < 10) {
    if (seen.has(node.fingerprint256)) break;
    seen.add(node.fingerprint256);
    try {
      presented.push(new X509Certificate(node.raw));
    } catch {
      return `the ${peer} presented a certificate that cannot be parsed`;
    }
    node = (node as tls.DetailedPeerCertificate).issuerCertificate;
  }
  if (presented.length === 0) return `no certs presented by ${peer}`;
  const validAt = (c: X509Certificate) => new Date(c.validFrom) <= now && now <= new Date(c.validTo);
  let current = presented[0];
  const used = new Set<X509Certificate>([current]);
  for (let depth = 0; depth < 10; depth++) {
    if (!validAt(current)) return `certificate "${current.subject}" is not valid at ${now.toISOString()}`;
    if (roots.some((r) => r.fingerprint256 === current.fingerprint256)) return null;
    const root = roots.find((r) => current.checkIssued(r) && current.verify(r.publicKey));
    if (root) {
      return validAt(root) ? null : `CA certificate "${root.subject}" is not valid at ${now.toISOString()}`;
    }
    const next = presented.find((c) =>
      !used.has(c) && c.ca && current.checkIssued(c) && current.verify(c.publicKey)
    );
    if (!next) break;
    used.add(next);
    current = next;
  }
  return `the ${peer} certificate does not chain to a CA in ${caSource}`;
}
