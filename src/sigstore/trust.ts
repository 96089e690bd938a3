/**
 * Loads the sigstore trust material as cosign reads it: `SIGSTORE_ROOT_FILE` (a PEM bundle: self-signed
 * certificates are the Fulcio roots, the others intermediates), `SIGSTORE_REKOR_PUBLIC_KEY` (a PEM public key)
 * and `SIGSTORE_CT_LOG_PUBLIC_KEY_FILE` (a PEM or DER public key). Each variable replaces only its own part;
 * the parts not given come from the Sigstore trust root (`trusted_root.json`) through TUF (`@sigstore/tuf`,
 * loaded only when needed), with its cache on disk.
 *
 * @module
 */

import { raceAbort } from "../core/abort.ts";
import { clipText } from "../clip.ts";
import { AttestorError, errorMessage } from "../errors.ts";
import type { LogKey, TrustLoader, TrustLoadOptions } from "./types.ts";
import {
  certificatePem,
  isSelfSigned,
  loadPublicKey,
  parseCertificateDer,
  parsePemCertificates,
} from "./x509.ts";

/** The environment variable naming the Fulcio roots and intermediates PEM file. */
export const ENV_ROOT_FILE = "SIGSTORE_ROOT_FILE";
/** The environment variable naming the Rekor public key PEM file. */
export const ENV_REKOR_KEY = "SIGSTORE_REKOR_PUBLIC_KEY";
/** The environment variable naming the CT log public key file (PEM or DER). */
export const ENV_CT_LOG_KEY = "SIGSTORE_CT_LOG_PUBLIC_KEY_FILE";

/** The largest trust file read. */
export const MAX_TRUST_FILE_BYTES = 1024 * 1024;
/** How long one TUF request may take. */
export const TUF_TIMEOUT_MS = 10_000;

async function readTrustFile(envName: string, path: string): Promise<Uint8Array> {
  try {
    const info = await Deno.stat(path);
    if (!info.isFile) throw new Error("not a regular file");
    if (info.size > MAX_TRUST_FILE_BYTES) throw new Error(`larger than ${MAX_TRUST_FILE_BYTES} bytes`);
    const bytes = await Deno.readFile(path);
    if (bytes.length > MAX_TRUST_FILE_BYTES) throw new Error(`larger than ${MAX_TRUST_FILE_BYTES} bytes`);
    return bytes;
  } catch (err) {
    throw badFile(envName, path, `cannot be read: ${errorMessage(err)}`, err);
  }
}

function badFile(envName: string, path: string, problem: string, cause?: unknown): AttestorError {
  return new AttestorError("bad-config", `sigstore trust: ${envName} file ${path} ${problem}`, { cause });
}

async function loadRootFile(path: string): Promise<{ roots: string[]; intermediates: string[] }> {
  const bytes = await readTrustFile(ENV_ROOT_FILE, path);
  let certs;
  try {
    certs = parsePemCertificates(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (err) {
    throw badFile(ENV_ROOT_FILE, path, `does not parse as PEM certificates: ${errorMessage(err)}`, err);
  }
  if (certs.length === 0) throw badFile(ENV_ROOT_FILE, path, "holds no PEM certificate");
  const roots: string[] = [];
  const intermediates: string[] = [];
  for (const cert of certs) (isSelfSigned(cert) ? roots : intermediates).push(certificatePem(cert));
  if (roots.length === 0) throw badFile(ENV_ROOT_FILE, path, "holds no self-signed root certificate");
  return { roots, intermediates };
}

async function loadKeyFile(envName: string, path: string, pemOnly: boolean): Promise<LogKey> {
  const bytes = await readTrustFile(envName, path);
  if (pemOnly && !new TextDecoder().decode(bytes).includes("-----BEGIN")) {
    throw badFile(envName, path, "is not a PEM file");
  }
  try {
    const key = loadPublicKey(bytes);
    return { logId: key.logId, publicKeyPem: key.pem };
  } catch (err) {
    throw badFile(envName, path, `holds no usable public key: ${errorMessage(err)}`, err);
  }
}

/** The parts of the Sigstore trusted root this plugin uses. */
interface TufParts {
  readonly roots: string[];
  readonly intermediates: string[];
  readonly rekorKeys: LogKey[];
  readonly ctLogKeys: LogKey[];
}

function tufError(options: TrustLoadOptions, problem: string, cause?: unknown): AttestorError {
  const mirror = options.tufMirrorUrl ?? "the public Sigstore mirror";
  return new AttestorError(
    "bad-config",
    `sigstore trust: TUF (mirror ${mirror}, cache ${options.tufCachePath}): ${clipText(problem, 1024)}`,
    { cause },
  );
}

function describeTufError(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  const cause = (err as { cause?: unknown })?.cause;
  const text = typeof code === "string" ? `${code}: ${errorMessage(err)}` : errorMessage(err);
  return cause ? `${text} (${errorMessage(cause)})` : text;
}

// deno-lint-ignore no-explicit-any
function toLogKey(tlog: any, what: string): LogKey {
  const raw = tlog?.publicKey?.rawBytes;
  if (!raw || raw.length === 0) throw new Error(`a ${what} entry has no public key`);
  const key = loadPublicKey(new Uint8Array(raw));
  const validFor = tlog.publicKey.validFor;
  return {
    logId: key.logId,
    publicKeyPem: key.pem,
    validFrom: validFor?.start instanceof Date ? validFor.start : undefined,
    validUntil: validFor?.end instanceof Date ? validFor.end : undefined,
  };
}

async function loadTufParts(options: TrustLoadOptions): Promise<TufParts> {
  let root;
  try {
    options.signal?.throwIfAborted();
    await Deno.mkdir(options.tufCachePath, { recursive: true });
    const { getTrustedRoot } = await import("@sigstore/tuf");
    root = await raceAbort(
      getTrustedRoot({
        cachePath: options.tufCachePath,
        ...(options.tufMirrorUrl ? { mirrorURL: options.tufMirrorUrl } : {}),
        ...(options.tufRootPath ? { rootPath: options.tufRootPath } : {}),
        timeout: TUF_TIMEOUT_MS,
        retry: { retries: 1 },
      }),
      options.signal,
    );
  } catch (err) {
    if (err instanceof AttestorError) throw err;
    throw tufError(options, `cannot get trusted_root.json: ${describeTufError(err)}`, err);
  }
  try {
    const roots: string[] = [];
    const intermediates: string[] = [];
    for (const ca of root.certificateAuthorities) {
      for (const c of ca.certChain?.certificates ?? []) {
        const cert = parseCertificateDer(new Uint8Array(c.rawBytes));
        const pem = certificatePem(cert);
        const list = isSelfSigned(cert) ? roots : intermediates;
        if (!list.includes(pem)) list.push(pem);
      }
    }
    const rekorKeys = root.tlogs.map((t) => toLogKey(t, "Rekor log"));
    const ctLogKeys = root.ctlogs.map((t) => toLogKey(t, "CT log"));
    return { roots, intermediates, rekorKeys, ctLogKeys };
  } catch (err) {
    throw tufError(options, `trusted_root.json cannot be used: ${errorMessage(err)}`, err);
  }
}

/**
 * Loads the trust material (see the module documentation). A `SIGSTORE_*` file that is missing, unreadable,
 * over 1 MiB, does not parse or holds no usable key or root is an `AttestorError` `bad-config` naming the
 * variable and the file; a TUF failure (mirror unreachable, metadata not verifying, an unusable trusted root,
 * no Fulcio root or Rekor or CT log key in it) is one naming the mirror and the cache. An empty variable counts
 * as unset, as in cosign.
 *
 * @example Offline, from the three files
 * ```ts ignore
 * import { loadSigstoreTrust } from "./trust.ts";
 * const trust = await loadSigstoreTrust({ env: (name) => Deno.env.get(name), tufCachePath: "/var/lib/x/tuf" });
 * ```
 */
export const loadSigstoreTrust: TrustLoader = async (options) => {
  const rootFile = options.env(ENV_ROOT_FILE) || undefined;
  const rekorFile = options.env(ENV_REKOR_KEY) || undefined;
  const ctFile = options.env(ENV_CT_LOG_KEY) || undefined;
  const sources: string[] = [];

  const fromRootFile = rootFile ? await loadRootFile(rootFile) : undefined;
  if (rootFile) sources.push(`${ENV_ROOT_FILE}=${rootFile}`);
  const rekorKey = rekorFile ? await loadKeyFile(ENV_REKOR_KEY, rekorFile, true) : undefined;
  if (rekorFile) sources.push(`${ENV_REKOR_KEY}=${rekorFile}`);
  const ctKey = ctFile ? await loadKeyFile(ENV_CT_LOG_KEY, ctFile, false) : undefined;
  if (ctFile) sources.push(`${ENV_CT_LOG_KEY}=${ctFile}`);

  let tuf: TufParts | undefined;
  if (!fromRootFile || !rekorKey || !ctKey) {
    tuf = await loadTufParts(options);
    const parts = [!fromRootFile && "Fulcio", !rekorKey && "Rekor", !ctKey && "CT log"].filter(Boolean);
    sources.push(
      `${parts.join(", ")} from TUF (mirror ${
        options.tufMirrorUrl ?? "default"
      }, cache ${options.tufCachePath})`,
    );
    if (!fromRootFile && tuf.roots.length === 0) {
      throw tufError(options, "trusted_root.json has no Fulcio root");
    }
    if (!rekorKey && tuf.rekorKeys.length === 0) {
      throw tufError(options, "trusted_root.json has no Rekor key");
    }
    if (!ctKey && tuf.ctLogKeys.length === 0) throw tufError(options, "trusted_root.json has no CT log key");
  }
  return {
    fulcioRoots: fromRootFile?.roots ?? tuf!.roots,
    fulcioIntermediates: fromRootFile?.intermediates ?? tuf!.intermediates,
    rekorKeys: rekorKey ? [rekorKey] : tuf!.rekorKeys,
    ctLogKeys: ctKey ? [ctKey] : tuf!.ctLogKeys,
    source: sources.join("; "),
  };
};
