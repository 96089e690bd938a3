/**
 * A throw-away PKI for tests and the demo: a CA, a rogue CA, and server and client certificates issued with
 * the `openssl` command-line tool into a temporary directory. EC P-256 keys, PKCS#8 PEM.
 *
 * @module
 */

/** A certificate and its private key, as files and as PEM text. */
export interface CertFiles {
  /** Path of the PEM certificate file (for a server: the leaf only). */
  readonly certPath: string;
  /** Path of the PEM (PKCS#8) private key file. */
  readonly keyPath: string;
  /** The certificate PEM. */
  readonly cert: string;
  /** The private key PEM. */
  readonly key: string;
}

/** What to put into an issued server certificate. */
export interface ServerCertOptions {
  /** `subjectAltName` DNS names. */
  dns?: readonly string[];
  /** `subjectAltName` IP addresses. */
  ip?: readonly string[];
  /** Issue from the rogue CA instead of the trusted one. @default {false} */
  rogue?: boolean;
  /** Issue a certificate whose validity ended in 2020 (signed by the CA, otherwise valid). @default {false} */
  expired?: boolean;
  /** Issue from this CA (for example one from {@linkcode TestPki.issueIntermediateCa}); overrides `rogue`. */
  issuer?: CertFiles;
}

/** What to put into an issued client certificate. */
export interface ClientCertOptions {
  /** The subject common name. @default {"spire-agent"} */
  cn?: string;
  /** Issue from the rogue CA instead of the trusted one. @default {false} */
  rogue?: boolean;
}

/** A temporary PKI. Dispose of it (or call {@linkcode TestPki.cleanup}) to delete its directory. */
export interface TestPki extends AsyncDisposable {
  /** The directory holding every file. */
  readonly dir: string;
  /** The trusted CA (`ca.pem` / `ca.key`). */
  readonly ca: CertFiles;
  /** A second, untrusted CA. */
  readonly rogueCa: CertFiles;
  /** Issues a server certificate (`extendedKeyUsage=serverAuth`) under a file name derived from `name`. */
  issueServerCert(name: string, options: ServerCertOptions): Promise<CertFiles>;
  /** Issues an intermediate CA signed by the trusted CA (or the rogue one). */
  issueIntermediateCa(name: string, options?: { rogue?: boolean }): Promise<CertFiles>;
  /** Issues a client certificate (`extendedKeyUsage=clientAuth`). */
  issueClientCert(name: string, options?: ClientCertOptions): Promise<CertFiles>;
  /** Deletes the directory. Idempotent. */
  cleanup(): Promise<void>;
}

const NAME_RE = /^[A-Za-z0-9_-]+$/;

async function openssl(dir: string, args: string[], stdin?: string): Promise<void> {
  const cmd = new Deno.Command("openssl", {
    args,
    cwd: dir,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  });
  const child = cmd.spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const out = await child.output();
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim();
    throw new Error(`openssl ${args[0]} failed (exit ${out.code}): ${err}`);
  }
}

async function genKey(dir: string, file: string): Promise<void> {
  await openssl(dir, ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", file]);
}

async function readPair(dir: string, name: string): Promise<CertFiles> {
  const certPath = `${dir}/${name}.pem`;
  const keyPath = `${dir}/${name}.key`;
  return {
    certPath,
    keyPath,
    cert: await Deno.readTextFile(certPath),
    key: await Deno.readTextFile(keyPath),
  };
}

async function makeCa(dir: string, name: string, cn: string): Promise<CertFiles> {
  await genKey(dir, `${name}.key`);
  await openssl(dir, [
    "req",
    "-x509",
    "-new",
    "-key",
    `${name}.key`,
    "-subj",
    `/CN=${cn}`,
    "-days",
    "2",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
    "-out",
    `${name}.pem`,
  ]);
  return await readPair(dir, name);
}

const EXPIRED_CA_CONF = `[ ca ]
default_ca = CA_default
[ CA_default ]
database = expired-index.txt
new_certs_dir = .
serial = expired-serial
default_md = sha256
policy = policy_any
unique_subject = no
[ policy_any ]
commonName = supplied
`;

/**
 * Creates a PKI in a new temporary directory (or `dir`, which must exist and be empty).
 *
 * @example A server certificate for a DNS name
 * ```ts ignore
 * import { createTestPki } from "./certs.ts";
 * await using pki = await createTestPki();
 * const server = await pki.issueServerCert("kubelet", { dns: ["kubelet.test"] });
 * console.log(server.certPath, pki.ca.certPath);
 * ```
 *
 * @param options `dir`: where to write the files. @default a fresh `Deno.makeTempDir` directory.
 * @returns The PKI.
 */
export async function createTestPki(options: { dir?: string } = {}): Promise<TestPki> {
  const ownsDir = options.dir === undefined;
  const dir = options.dir ?? await Deno.makeTempDir({ prefix: "k8s-attestor-pki-" });
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned || !ownsDir) return;
    cleaned = true;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    const ca = await makeCa(dir, "ca", "k8s-attestor-test-ca");
    const rogueCa = await makeCa(dir, "rogue-ca", "rogue-ca");
    let serial = 1000;

    const issue = async (name: string, cn: string, ext: string, issuer: CertFiles, expired: boolean) => {
      if (!NAME_RE.test(name) || name === "ca" || name === "rogue-ca") {
        throw new RangeError(
          `Cannot issue certificate as 'name' must match ${NAME_RE} and not name a CA: ${name}`,
        );
      }
      await genKey(dir, `${name}.key`);
      await openssl(dir, ["req", "-new", "-key", `${name}.key`, "-subj", `/CN=${cn}`, "-out", `${name}.csr`]);
      await Deno.writeTextFile(`${dir}/${name}.ext`, ext);
      if (expired) {
        await Deno.writeTextFile(`${dir}/expired-ca.cnf`, EXPIRED_CA_CONF);
        await Deno.writeTextFile(`${dir}/expired-index.txt`, "");
        await Deno.writeTextFile(`${dir}/expired-serial`, `${(serial++).toString(16).padStart(4, "0")}\n`);
        await openssl(dir, [
          "ca",
          "-batch",
          "-notext",
          "-config",
          "expired-ca.cnf",
          "-cert",
          issuer.certPath,
          "-keyfile",
          issuer.keyPath,
          "-in",
          `${name}.csr`,
          "-out",
          `${name}.pem`,
          "-startdate",
          "20200101000000Z",
          "-enddate",
          "20200102000000Z",
          "-extfile",
          `${name}.ext`,
        ]);
      } else {
        await openssl(dir, [
          "x509",
          "-req",
          "-in",
          `${name}.csr`,
          "-CA",
          issuer.certPath,
          "-CAkey",
          issuer.keyPath,
          "-set_serial",
          String(serial++),
          "-days",
          "2",
          "-extfile",
          `${name}.ext`,
          "-out",
          `${name}.pem`,
        ]);
      }
      return await readPair(dir, name);
    };

    return {
      dir,
      ca,
      rogueCa,
      issueServerCert(name, opts) {
        const sans = [...(opts.dns ?? []).map((d) => `DNS:${d}`), ...(opts.ip ?? []).map((i) => `IP:${i}`)];
        if (sans.length === 0) {
          return Promise.reject(
            new RangeError("Cannot issue server certificate as it needs a DNS or IP name"),
          );
        }
        const ext = `subjectAltName=${sans.join(",")}\nextendedKeyUsage=serverAuth\n`;
        const cn = opts.dns?.[0] ?? opts.ip?.[0] ?? name;
        const issuer = opts.issuer ?? (opts.rogue ? rogueCa : ca);
        return issue(name, cn, ext, issuer, opts.expired ?? false);
      },
      issueIntermediateCa(name, opts = {}) {
        const ext = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n";
        return issue(name, `${name}-intermediate-ca`, ext, opts.rogue ? rogueCa : ca, false);
      },
      issueClientCert(name, opts = {}) {
        return issue(
          name,
          opts.cn ?? "spire-agent",
          "extendedKeyUsage=clientAuth\n",
          opts.rogue ? rogueCa : ca,
          false,
        );
      },
      cleanup,
      [Symbol.asyncDispose]: cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
