/**
 * Test helper for the sigstore end-to-end tests (Linux and Wine): the plugin's `experimental.sigstore` block
 * for the offline sigstore fixture's identities, and a Rekor URL where nothing answers.
 *
 * @module
 */

import { FIXTURE_ISSUER, FIXTURE_SUBJECT } from "../../src/testing/sigstore_fixtures.ts";

/** The second allowed subject (a URI SAN, as a CI workflow identity). */
export const URI_SUBJECT = "https://ci.example/release";

/**
 * An https URL on a loopback port that was free a moment ago: nothing answers there (connection refused).
 *
 * @returns `https://127.0.0.1:<port>/`.
 */
export function closedPortUrl(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return `https://127.0.0.1:${port}/`;
}

/**
 * The `experimental.sigstore` block allowing the fixture's issuer with {@linkcode FIXTURE_SUBJECT} and
 * {@linkcode URI_SUBJECT}.
 *
 * @param options `rekor_url`, `enforce_sct` (default true) and the skip list (default empty).
 * @returns The HCL text.
 */
export function sigstoreHcl(options: {
  readonly rekorUrl: string;
  readonly enforceSct?: boolean;
  readonly skip?: readonly string[];
}): string {
  return [
    "experimental {",
    "  sigstore {",
    `    rekor_url = "${options.rekorUrl}"`,
    `    enforce_sct = ${options.enforceSct ?? true}`,
    "    allowed_subjects_list {",
    `      "${FIXTURE_ISSUER}" = ["${FIXTURE_SUBJECT}", "${URI_SUBJECT}"]`,
    "    }",
    `    skip_signature_verification_image_list = ${JSON.stringify(options.skip ?? [])}`,
    "  }",
    "}",
  ].join("\n");
}
