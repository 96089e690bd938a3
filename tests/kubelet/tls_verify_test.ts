/**
 * Anchoring of the kubelet certificate chain to the configured CA bundle only.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import type { PeerCertificate } from "node:tls";
import { verifyChainToRoots } from "../../src/kubelet/tls_verify.ts";
import { type CertFiles, createTestPki, type TestPki } from "../../src/testing/certs.ts";

/** Builds the `node:tls` peer-certificate shape (linked by `issuerCertificate`, last one self-linked). */
function peer(chain: CertFiles[]): PeerCertificate {
  const nodes = chain.map((c) => {
    const x = new X509Certificate(c.cert);
    return { raw: x.raw, fingerprint256: x.fingerprint256 } as Record<string, unknown>;
  });
  nodes.forEach((n, i) => (n.issuerCertificate = nodes[i + 1] ?? n));
  return nodes[0] as unknown as PeerCertificate;
}

const x509 = (c: CertFiles) => new X509Certificate(c.cert);

describe("verifyChainToRoots", () => {
  let pki: TestPki;
  let leaf: CertFiles, inter: CertFiles, viaInter: CertFiles, rogueInter: CertFiles, viaRogue: CertFiles;
  let expired: CertFiles;

  before(async () => {
    pki = await createTestPki();
    leaf = await pki.issueServerCert("leaf", { dns: ["kubelet.test"] });
    inter = await pki.issueIntermediateCa("inter");
    viaInter = await pki.issueServerCert("via-inter", { dns: ["kubelet.test"], issuer: inter });
    rogueInter = await pki.issueIntermediateCa("rogue-inter", { rogue: true });
    viaRogue = await pki.issueServerCert("via-rogue", { dns: ["kubelet.test"], issuer: rogueInter });
    expired = await pki.issueServerCert("expired", { dns: ["kubelet.test"], expired: true });
  });
  after(() => pki.cleanup());

  it("accepts a leaf issued by a configured CA", () => {
    const now = new Date();
    assert.equal(verifyChainToRoots(peer([leaf]), [x509(pki.ca)], now), null);
    assert.equal(verifyChainToRoots(peer([leaf]), [x509(pki.rogueCa), x509(pki.ca)], now), null);
  });

  it("rejects a leaf whose issuer is not configured, whatever else trusts it", () => {
    const now = new Date();
    assert.equal(
      verifyChainToRoots(peer([leaf, pki.ca]), [x509(pki.rogueCa)], now),
      "the kubelet certificate does not chain to a CA in kubelet_ca_path",
    );
  });

  it("accepts a pinned leaf listed in the bundle", () => {
    const now = new Date();
    assert.equal(verifyChainToRoots(peer([leaf]), [x509(leaf)], now), null);
  });

  it("follows presented intermediates up to a configured root", () => {
    const now = new Date();
    assert.equal(verifyChainToRoots(peer([viaInter, inter]), [x509(pki.ca)], now), null);
    assert.equal(verifyChainToRoots(peer([viaInter]), [x509(inter)], now), null, "intermediate as anchor");
    assert.match(String(verifyChainToRoots(peer([viaInter]), [x509(pki.ca)], now)), /does not chain/);
  });

  it("rejects an intermediate from another CA", () => {
    const now = new Date();
    assert.match(
      String(verifyChainToRoots(peer([viaRogue, rogueInter]), [x509(pki.ca)], now)),
      /does not chain/,
    );
  });

  it("rejects a certificate outside its validity period, and a CA that has expired", () => {
    const now = new Date();
    assert.match(String(verifyChainToRoots(peer([expired]), [x509(pki.ca)], now)), /is not valid at/);
    const later = new Date(Date.now() + 10 * 24 * 3600 * 1000);
    assert.match(String(verifyChainToRoots(peer([leaf]), [x509(pki.ca)], later)), /is not valid at/);
  });

  it("rejects an empty chain", () => {
    const now = new Date();
    assert.equal(
      verifyChainToRoots({} as PeerCertificate, [x509(pki.ca)], now),
      "no certs presented by kubelet",
    );
  });
});
