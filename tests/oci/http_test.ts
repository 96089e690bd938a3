/**
 * Which URLs the registry client contacts: HTTPS, plain HTTP only on loopback (stricter than
 * go-containerregistry, which also uses HTTP for RFC 1918 addresses and `*.localhost`, and tries HTTPS first);
 * Docker Hub's API host; which realm hosts count as non-public.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { isNonPublicIpLiteral } from "../../src/oci/auth.ts";
import { isAllowedUrl, isLoopbackHostname, registryBaseUrl } from "../../src/oci/http.ts";

describe("registryBaseUrl", () => {
  const cases: [string, string | null][] = [
    ["localhost", "http://localhost/"],
    ["localhost:5000", "http://localhost:5000/"],
    ["LOCALHOST:5000", "http://localhost:5000/"],
    ["127.0.0.1", "http://127.0.0.1/"],
    ["127.0.0.1:5000", "http://127.0.0.1:5000/"],
    ["127.255.3.4:1", "http://127.255.3.4:1/"],
    ["[::1]", "http://[::1]/"],
    ["[::1]:5000", "http://[::1]:5000/"],
    // HTTP in go-containerregistry, HTTPS here:
    ["10.1.2.3:5000", "https://10.1.2.3:5000/"],
    ["172.16.0.1", "https://172.16.0.1/"],
    ["192.168.1.10:5000", "https://192.168.1.10:5000/"],
    ["registry.localhost:5000", "https://registry.localhost:5000/"],
    ["localhost.example.com", "https://localhost.example.com/"],
    ["127.0.0.1.nip.io", "https://127.0.0.1.nip.io/"],
    ["[::ffff:127.0.0.1]", "https://[::ffff:7f00:1]/"],
    ["ghcr.io", "https://ghcr.io/"],
    ["index.docker.io", "https://registry-1.docker.io/"],
    ["docker.io", "https://registry-1.docker.io/"],
    ["registry-1.docker.io", "https://registry-1.docker.io/"],
    ["", null],
    ["ghcr.io/x", null],
    ["user@ghcr.io", null],
    ["ghcr.io:0", null],
    ["ghcr.io:65536", null],
    ["-bad.io", null],
    ["ghcr.io?x", null],
    ["localhost.", null],
    ["[::1", null],
  ];
  for (const [registry, expected] of cases) {
    it(`${JSON.stringify(registry)} → ${expected}`, () => {
      assert.equal(registryBaseUrl(registry)?.href ?? null, expected);
    });
  }
});

describe("isLoopbackHostname / isAllowedUrl", () => {
  it("allows plain HTTP only on loopback, HTTPS anywhere, never user info", () => {
    assert.equal(isLoopbackHostname("127.0.0.53"), true);
    assert.equal(isLoopbackHostname("128.0.0.1"), false);
    assert.equal(isAllowedUrl(new URL("http://127.0.0.1:1/v2/")), true);
    assert.equal(isAllowedUrl(new URL("http://[::1]/v2/")), true);
    assert.equal(isAllowedUrl(new URL("http://localhost/v2/")), true);
    assert.equal(isAllowedUrl(new URL("http://10.0.0.1/v2/")), false);
    assert.equal(isAllowedUrl(new URL("http://cdn.example/blob")), false);
    assert.equal(isAllowedUrl(new URL("https://cdn.example/blob")), true);
    assert.equal(isAllowedUrl(new URL("https://u:p@cdn.example/blob")), false);
    assert.equal(isAllowedUrl(new URL("ftp://cdn.example/blob")), false);
  });
});

describe("isNonPublicIpLiteral", () => {
  const yes = [
    "0.0.0.0",
    "10.0.0.1",
    "127.0.0.1",
    "169.254.169.254",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.0.1",
    "100.64.0.1",
    "[::]",
    "[::1]",
    "[fe80::1]",
    "[fd00:ec2::254]",
    "[fc00::1]",
    "[::ffff:a00:1]",
  ];
  const no = ["8.8.8.8", "172.32.0.1", "100.128.0.1", "[2001:db8::1]", "auth.docker.io", "169.255.0.1"];
  for (const host of yes) it(`${host} is not public`, () => assert.equal(isNonPublicIpLiteral(host), true));
  for (const host of no) {
    it(`${host} is public or a name`, () => assert.equal(isNonPublicIpLiteral(host), false));
  }
});
