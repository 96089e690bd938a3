/**
 * The warnings a valid configuration deserves, for Configure to log (`src/runtime.ts` logs them when it
 * applies a configuration): settings that weaken verification or are ignored. Never a secret.
 *
 * @module
 */

import type { Config } from "./types.ts";
import { isIdentityPattern } from "../sigstore/identity.ts";

/** One warning: a message and its log fields. */
export interface ConfigWarning {
  /** The message (hclog's `@message`). */
  readonly message: string;
  /** Fields naming what it is about (keys, registries, strings from the configuration; never a secret). */
  readonly fields: Readonly<Record<string, string>>;
}

/**
 * The warnings of `config`, in a fixed order: `sigstore.ignore_tlog`, each ignored (incomplete)
 * `registry_credentials` entry, each identity literal that looks like a regular expression but is not one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildConfig } from "./build.ts";
 * import { configureWarnings } from "./warnings.ts";
 * const hcl = 'sigstore {\n allowed_identities = { "https://i" = ["s"] }\n ignore_tlog = true\n}';
 * const { config } = buildConfig(hcl, { trustDomain: "example.org" });
 * assert.match(configureWarnings(config!)[0].message, /without the Rekor transparency log/);
 * ```
 *
 * @param config A configuration built by `buildConfig`.
 * @returns The warnings; empty for most configurations.
 */
export function configureWarnings(config: Config): ConfigWarning[] {
  const out: ConfigWarning[] = [];
  const s = config.sigstoreCurrent;
  if (s === null) return out;
  if (s.ignoreTlog) {
    out.push({
      message: "sigstore.ignore_tlog is true: image signatures are verified without the Rekor transparency " +
        "log (no inclusion in the log is checked), and no image-signature log selectors are produced",
      fields: { key: "sigstore.ignore_tlog" },
    });
  }
  for (const registry of s.ignoredCredentials) {
    out.push({
      message: "Incomplete credentials for a registry: both username and password must be provided; the " +
        "entry is ignored (the docker config.json or anonymous access is used for that registry)",
      fields: { key: "sigstore.registry_credentials", registry },
    });
  }
  for (const [issuer, subjects] of s.allowedIdentities) {
    for (const text of [issuer, ...subjects]) {
      if (text.includes("\\") && !isIdentityPattern(text)) {
        out.push({
          message:
            "An allowed identity holds a backslash but none of *+?^${}[]|(): it is compared literally, " +
            "backslashes included, as upstream does (add an anchor such as ^…$ to make it a regular expression)",
          fields: { key: "sigstore.allowed_identities", issuer, value: text },
        });
      }
    }
  }
  return out;
}
