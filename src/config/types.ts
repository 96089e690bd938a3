/**
 * The typed, immutable plugin configuration that `plugin_data` turns into, and the agent's core
 * configuration it is built with. `src/config/build.ts` is the only producer of a {@linkcode Config};
 * everything else reads it.
 *
 * @module
 */

/** `spire.service.common.config.v1.CoreConfiguration`. */
export interface CoreConfiguration {
  /** The agent's trust domain name (no `spiffe://`). */
  readonly trustDomain: string;
}

/** The `experimental { sigstore { ... } }` block (parsed and validated; verification comes later). */
export interface SigstoreConfig {
  /** `skip_signature_verification_image_list`: image IDs (digests) that skip signature verification. */
  readonly skipSignatureVerificationImageList: readonly string[];
  /** `allowed_subjects_list`: OIDC issuer → subjects allowed to sign. */
  readonly allowedSubjects: ReadonlyMap<string, readonly string[]>;
  /** `rekor_url`: the Rekor transparency log (https only). */
  readonly rekorUrl: string;
  /** `enforce_sct`: require a certificate transparency timestamp. @default {true} */
  readonly enforceSct: boolean;
}

/** `experimental.broker.access_policy`. */
export type BrokerAccessPolicy = "enforced" | "permissive";

/** `experimental.broker.brokers[].pod_reference_scope`. */
export type PodReferenceScope = "agent_node" | "cluster";

/** One `experimental.broker.brokers` entry. */
export interface BrokerEntry {
  /** The broker's SPIFFE ID (valid, unique). */
  readonly id: string;
  /** Where its pod references resolve. @default {"agent_node"} */
  readonly podReferenceScope: PodReferenceScope;
}

/** The `experimental { broker { ... } }` block. */
export interface BrokerConfig {
  /** Whether every resolved object is authorised with a SubjectAccessReview (`enforced`). */
  readonly accessPolicy: BrokerAccessPolicy;
  /** The brokers by SPIFFE ID. */
  readonly brokers: ReadonlyMap<string, BrokerEntry>;
}

/** The settings of the Kubernetes API server features (namespace labels, brokers). */
export interface ApiServerSettings {
  /** `disable_kubelet_client`. */
  readonly disableKubeletClient: boolean;
  /** `enable_namespace_labels`. */
  readonly enableNamespaceLabels: boolean;
  /** `experimental.api_server.cache.enabled`. */
  readonly apiServerCacheEnabled: boolean;
  /** `experimental.broker`, when the block is present. */
  readonly broker: BrokerConfig | null;
}

/** A user name and password for one registry (`sigstore.registry_credentials`). Secret: never logged. */
export interface RegistryCredential {
  /** The user name. */
  readonly username: string;
  /** The password or access token. */
  readonly password: string;
}

/**
 * The top-level `sigstore { ... }` block, the current SPIRE form (parsed and validated; verification is
 * `src/sigstore/`'s). Mutually exclusive with {@linkcode SigstoreConfig} (`experimental.sigstore`).
 */
export interface SigstoreCurrentConfig {
  /**
   * `allowed_identities`: OIDC issuer → subjects allowed to sign, sorted by issuer; each a literal or a Go
   * regular expression (see `src/sigstore/identity.ts`), all valid, none empty, at least one pair.
   */
  readonly allowedIdentities: ReadonlyMap<string, readonly string[]>;
  /** `skipped_images`: image IDs that skip verification (and get no sigstore selectors). */
  readonly skippedImages: readonly string[];
  /** `rekor_url`: the Rekor transparency log (https), `https://rekor.sigstore.dev` by default. */
  readonly rekorUrl: string;
  /** `ignore_sct`: do not require a certificate transparency timestamp. @default {false} */
  readonly ignoreSct: boolean;
  /** `ignore_tlog`: verify without the Rekor transparency log (a Configure warning). @default {false} */
  readonly ignoreTlog: boolean;
  /** `ignore_attestations`: do not verify attestations (no `image-attestations:verified`). @default {false} */
  readonly ignoreAttestations: boolean;
  /**
   * `registry_credentials` with both a user name and a password: normalised registry (lowercase; every
   * Docker Hub spelling as `index.docker.io`) → credentials. They take precedence over the docker
   * `config.json` for their registry.
   */
  readonly registryCredentials: ReadonlyMap<string, RegistryCredential>;
  /** The registries (as written) whose `registry_credentials` entry lacks a user name or a password: ignored. */
  readonly ignoredCredentials: readonly string[];
}

/** The plugin configuration with every default applied. */
export interface Config extends ApiServerSettings {
  /** The agent's trust domain, from the core configuration. */
  readonly trustDomain: string;
  /** `disable_container_selectors`. */
  readonly disableContainerSelectors: boolean;
  /** `kubelet_read_only_port`; 0 when unset. When > 0 the kubelet is reached over plain HTTP. */
  readonly kubeletReadOnlyPort: number;
  /** `kubelet_secure_port`, 10250 by default; used only when the read-only port is 0. */
  readonly kubeletSecurePort: number;
  /** `kubelet_ca_path`. */
  readonly kubeletCaPath: string;
  /** `skip_kubelet_verification`. */
  readonly skipKubeletVerification: boolean;
  /** `token_path`. */
  readonly tokenPath: string;
  /** `certificate_path`; "" when unset. */
  readonly certificatePath: string;
  /** `private_key_path`; "" when unset. */
  readonly privateKeyPath: string;
  /** `use_anonymous_authentication`. */
  readonly useAnonymousAuthentication: boolean;
  /** `node_name_env`, `MY_NODE_NAME` by default. */
  readonly nodeNameEnv: string;
  /** The effective node name: `node_name`, else the value of the `node_name_env` variable, else "". */
  readonly nodeName: string;
  /** `max_poll_attempts`, 60 by default. */
  readonly maxPollAttempts: number;
  /** `poll_retry_interval` in milliseconds, 500 by default. */
  readonly pollRetryIntervalMs: number;
  /** `reload_interval` in milliseconds, 60000 by default. */
  readonly reloadIntervalMs: number;
  /** `use_new_container_locator`, true by default. */
  readonly useNewContainerLocator: boolean;
  /**
   * `kubelet_cgroup_root`: the one kubelet `--cgroup-root` whose pod cgroups are trusted, or `null` for the
   * defaults (`/`, `/kubelet`, `/kubepods`).
   */
  readonly kubeletCgroupRoot: string | null;
  /** `verbose_container_locator_logs`, false by default. */
  readonly verboseContainerLocatorLogs: boolean;
  /** `experimental.sigstore` (the seed form), when the block is present. */
  readonly sigstore: SigstoreConfig | null;
  /** The top-level `sigstore` block (the current SPIRE form), when present; never both forms. */
  readonly sigstoreCurrent: SigstoreCurrentConfig | null;
}
