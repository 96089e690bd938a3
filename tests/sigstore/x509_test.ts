/**
 * The X.509 helpers (src/sigstore/x509.ts): PEM parsing, SANs in Go's order, the chain rules (CA flag, key
 * usage, path length, unhandled critical extensions, chain certificates never anchors) and the EKU rules.
 */
import "reflect-metadata";
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import * as x509 from "@peculiar/x509";
import { ASN1Obj } from "@sigstore/core";
import {
  allowsCodeSigning,
  buildTrustedPath,
  certificateDer,
  encodeDer,
  parsePemBlocks,
  parsePemCertificates,
  subjectAlternativeNames,
} from "../../src/sigstore/x509.ts";
import { CA_USAGE, CODE_SIGNING, der, makeCert, SERVER_AUTH, type TestCert } from "./helpers.ts";

function parse(c: TestCert) {
  return parsePemCertificates(c.pem)[0];
}

let root: TestCert;
before(async () => {
  root = await makeCert({ name: "CN=root", ca: {}, keyUsage: CA_USAGE });
});

describe("PEM parsing", () => {
  it("refuses text outside blocks, mismatched labels and non-base64 bodies", () => {
    assert.throws(
      () => parsePemBlocks("junk\n-----BEGIN A-----\nAA==\n-----END A-----"),
      /outside a PEM block/,
    );
    assert.throws(() => parsePemBlocks("-----BEGIN A-----\nAA==\n-----END B-----"), /ends with END B/);
    assert.throws(() => parsePemBlocks("-----BEGIN A-----\n%%%\n-----END A-----"), /not base64/);
    assert.throws(
      () => parsePemCertificates("-----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC KEY-----"),
      /not CERTIFICATE/,
    );
  });
});

describe("subjectAlternativeNames", () => {
  it("orders DNS, email, IP, URI, then the Fulcio otherName, whatever the certificate's order", async () => {
    const otherName = der(
      0xa0,
      der(0x06, Buffer.from([0x2b, 0x06, 0x01, 0x04, 0x01, 0x83, 0xbf, 0x30, 0x01, 0x07])),
      der(0xa0, der(0x0c, Buffer.from("octocat"))),
    );
    const names = der(
      0x30,
      otherName,
      der(0x86, Buffer.from("https://example.com/wf")),
      der(0x87, Buffer.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])),
      der(0x87, Buffer.from([10, 0, 0, 1])),
      der(0x81, Buffer.from("a@example.com")),
      der(0x82, Buffer.from("host.example")),
    );
    const leaf = await makeCert({
      name: "CN=leaf",
      issuer: root,
      extensions: [new x509.Extension("2.5.29.17", true, names)],
    });
    assert.deepEqual(subjectAlternativeNames(parse(leaf)), [
      "host.example",
      "a@example.com",
      "2001:db8::1",
      "10.0.0.1",
      "https://example.com/wf",
      "octocat",
    ]);
  });

  it("gives no name for a certificate without the extension", () => {
    assert.deepEqual(subjectAlternativeNames(parse(root)), []);
  });
});

describe("buildTrustedPath", () => {
  it("builds leaf → intermediate → root", async () => {
    const inter = await makeCert({
      name: "CN=inter",
      issuer: root,
      ca: { pathLength: 0 },
      keyUsage: CA_USAGE,
    });
    const leaf = await makeCert({ name: "CN=leaf", issuer: inter });
    const path = buildTrustedPath(parse(leaf), { roots: [parse(root)], intermediates: [parse(inter)] });
    assert.deepEqual(path.map((c) => Buffer.from(c.subject).toString("hex")), [
      Buffer.from(parse(leaf).subject).toString("hex"),
      Buffer.from(parse(inter).subject).toString("hex"),
      Buffer.from(parse(root).subject).toString("hex"),
    ]);
  });

  it("refuses an issuer that is not a CA", async () => {
    const inter = await makeCert({ name: "CN=inter", issuer: root, keyUsage: CA_USAGE });
    const leaf = await makeCert({ name: "CN=leaf", issuer: inter });
    assert.throws(
      () => buildTrustedPath(parse(leaf), { roots: [parse(root)], intermediates: [parse(inter)] }),
      /not a CA/,
    );
  });

  it("refuses an issuer whose key usage lacks keyCertSign", async () => {
    const inter = await makeCert({
      name: "CN=inter",
      issuer: root,
      ca: {},
      keyUsage: x509.KeyUsageFlags.digitalSignature,
    });
    const leaf = await makeCert({ name: "CN=leaf", issuer: inter });
    assert.throws(
      () => buildTrustedPath(parse(leaf), { roots: [parse(root)], intermediates: [parse(inter)] }),
      /keyCertSign/,
    );
  });

  it("enforces path length constraints", async () => {
    const tight = await makeCert({ name: "CN=tight-root", ca: { pathLength: 0 }, keyUsage: CA_USAGE });
    const inter = await makeCert({ name: "CN=inter", issuer: tight, ca: {}, keyUsage: CA_USAGE });
    const leaf = await makeCert({ name: "CN=leaf", issuer: inter });
    assert.throws(
      () => buildTrustedPath(parse(leaf), { roots: [parse(tight)], intermediates: [parse(inter)] }),
      /path length constraint/,
    );
  });

  it("refuses an unhandled critical extension", async () => {
    const leaf = await makeCert({
      name: "CN=leaf",
      issuer: root,
      extensions: [new x509.Extension("1.2.3.4", true, der(0x05))],
    });
    assert.throws(
      () => buildTrustedPath(parse(leaf), { roots: [parse(root)], intermediates: [] }),
      /1\.2\.3\.4/,
    );
  });

  it("never anchors at a self-signed certificate that is only an intermediate candidate", async () => {
    const rogueRoot = await makeCert({ name: "CN=root", ca: {}, keyUsage: CA_USAGE });
    const leaf = await makeCert({ name: "CN=leaf", issuer: rogueRoot });
    assert.throws(
      () => buildTrustedPath(parse(leaf), { roots: [parse(root)], intermediates: [parse(rogueRoot)] }),
      /no certificate path/,
    );
  });

  it("does not accept a self-signed leaf that equals no root", async () => {
    const self = await makeCert({ name: "CN=self", ca: {}, keyUsage: CA_USAGE });
    assert.throws(
      () => buildTrustedPath(parse(self), { roots: [parse(root)], intermediates: [] }),
      /no certificate path/,
    );
  });
});

describe("per-certificate caching (the same parsed trust reused by every signature)", () => {
  it("decides each leaf on its own against the same root and intermediate objects", async () => {
    const inter = await makeCert({ name: "CN=inter", issuer: root, ca: {}, keyUsage: CA_USAGE });
    // Same issuer name, another key: its leaves carry the right issuer name and a signature that does not verify.
    const impostor = await makeCert({ name: "CN=inter", issuer: root, ca: {}, keyUsage: CA_USAGE });
    const good = await makeCert({ name: "CN=leaf", issuer: inter });
    const forged = await makeCert({ name: "CN=leaf", issuer: impostor });
    const inputs = { roots: [parse(root)], intermediates: [parse(inter)] };
    assert.equal(buildTrustedPath(parse(good), inputs).length, 3);
    assert.throws(() => buildTrustedPath(parse(forged), inputs), /does not verify/);
    assert.equal(buildTrustedPath(parse(good), inputs).length, 3);
    // A chain-annotation copy of the root (another object, same DER) is still no second anchor path.
    const withCopy = { roots: inputs.roots, intermediates: [...inputs.intermediates, parse(root)] };
    assert.equal(buildTrustedPath(parse(good), withCopy).length, 3);
    assert.throws(() => buildTrustedPath(parse(forged), withCopy), /does not verify/);
  });

  it("hands out a copy of the DER: changing it changes no later answer", async () => {
    const leaf = await makeCert({ name: "CN=leaf", issuer: root });
    const cert = parse(leaf);
    const rootCert = parse(root);
    const original = Buffer.from(certificateDer(cert));
    certificateDer(cert).fill(0);
    certificateDer(rootCert).fill(0);
    assert.deepEqual(certificateDer(cert), original);
    assert.equal(buildTrustedPath(cert, { roots: [rootCert], intermediates: [] }).length, 2);
  });
});

describe("allowsCodeSigning", () => {
  it("requires the usage on the leaf and lets CAs without EKU, with it or with any usage pass", async () => {
    const cs = parse(await makeCert({ name: "CN=a", issuer: root, eku: [CODE_SIGNING] }));
    const server = parse(await makeCert({ name: "CN=b", issuer: root, eku: [SERVER_AUTH] }));
    const none = parse(await makeCert({ name: "CN=c", issuer: root }));
    const any = parse(await makeCert({ name: "CN=d", issuer: root, eku: ["2.5.29.37.0"] }));
    assert.equal(allowsCodeSigning(cs, true), true);
    assert.equal(allowsCodeSigning(server, true), false);
    assert.equal(allowsCodeSigning(none, true), false);
    assert.equal(allowsCodeSigning(any, true), false);
    assert.equal(allowsCodeSigning(none, false), true);
    assert.equal(allowsCodeSigning(any, false), true);
    assert.equal(allowsCodeSigning(server, false), false);
  });
});

describe("encodeDer", () => {
  it("gives exactly ASN1Obj.toDER() for certificates, their TBS and every length form", async () => {
    const inter = await makeCert({ name: "CN=inter", issuer: root, ca: {}, keyUsage: CA_USAGE });
    const big = await makeCert({
      name: "CN=big",
      issuer: inter,
      // 300 bytes (two-byte length) and 70000 bytes (three-byte length) extension values.
      extensions: [
        new x509.Extension("1.2.3.5", false, der(0x04, new Uint8Array(300).fill(7))),
        new x509.Extension(
          "1.2.3.6",
          false,
          new Uint8Array(Buffer.concat([
            Buffer.from([0x04, 0x83, 0x01, 0x11, 0x70]),
            Buffer.alloc(70000, 9),
          ])),
        ),
      ],
    });
    for (const c of [root, inter, big]) {
      const cert = parse(c);
      assert.deepEqual(encodeDer(cert.root), cert.root.toDER());
      assert.deepEqual(encodeDer(cert.tbsCertificate), cert.tbsCertificate.toDER());
      for (const ext of cert.extensions) assert.deepEqual(encodeDer(ext), ext.toDER());
      assert.deepEqual(certificateDer(cert), Buffer.from(c.cert.rawData));
    }
    assert.ok(certificateDer(parse(big)).length > 70000);
    for (const bytes of [[0x05, 0x00], [0x04, 0x7f, ...new Array(127).fill(1)], [0x30, 0x00]]) {
      const obj = ASN1Obj.parseBuffer(Buffer.from(bytes));
      assert.deepEqual(encodeDer(obj), obj.toDER());
    }
  });
});
