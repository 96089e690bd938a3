/**
 * k8s-attestor: a SPIRE WorkloadAttestor plugin for Kubernetes.
 *
 * @module
 */
export { AttestorError } from "./src/errors.ts";
export type { ErrorCode } from "./src/errors.ts";
