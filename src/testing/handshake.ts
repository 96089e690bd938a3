/**
 * The go-plugin handshake line as the fake agent reads it: the first stdout line of the plugin, checked
 * with go-plugin's client rules, and the address the agent then dials.
 *
 * @module
 */

/** The parsed handshake line. */
export interface Handshake {
  /** The line as read (without the newline). */
  readonly line: string;
  /** `unix` or `tcp`. */
  readonly network: "unix" | "tcp";
  /** Socket path or `127.0.0.1:<port>`. */
  readonly address: string;
}

/**
 * Parses a handshake line with go-plugin's client rules (`parts >= 4`, core and app version 1, network
 * unix|tcp, protocol grpc, no AutoMTLS certificate).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseHandshake } from "./handshake.ts";
 * assert.equal(parseHandshake("1|1|tcp|127.0.0.1:10001|grpc").address, "127.0.0.1:10001");
 * assert.throws(() => parseHandshake("1|1|tcp|127.0.0.1:10001|netrpc"), /unsupported plugin protocol/);
 * ```
 *
 * @param line The first stdout line.
 * @returns The handshake.
 * @throws {Error} With go-plugin's wording when the line would be rejected.
 */
export function parseHandshake(line: string): Handshake {
  const trimmed = line.trim();
  const parts = trimmed.split("|");
  if (parts.length < 4) throw new Error(`Unrecognized remote plugin message: ${trimmed}`);
  if (parts[0] !== "1") throw new Error(`incompatible core API version with plugin: ${parts[0]}`);
  if (parts[1] !== "1") throw new Error(`incompatible API version with plugin: ${parts[1]}`);
  const network = parts[2];
  if (network !== "unix" && network !== "tcp") throw new Error(`unknown address type: ${network}`);
  const protocol = parts.length >= 5 ? parts[4] : "netrpc";
  if (protocol !== "grpc") throw new Error(`unsupported plugin protocol "${protocol}"`);
  if (parts.length >= 6 && parts[5].length > 50) {
    throw new Error("the plugin sent an AutoMTLS certificate, which SPIRE does not support");
  }
  if (network === "unix" && !parts[3].startsWith("/")) {
    throw new Error(`not an absolute socket path: ${parts[3]}`);
  }
  if (network === "tcp" && !/^127\.0\.0\.1:\d+$/.test(parts[3])) {
    throw new Error(`bad tcp address: ${parts[3]}`);
  }
  return { line, network, address: parts[3] };
}

/**
 * The grpc-js target for a handshake: `unix:<path>` or `127.0.0.1:<port>`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { grpcTarget } from "./handshake.ts";
 * assert.equal(grpcTarget({ line: "", network: "unix", address: "/tmp/p.sock" }), "unix:/tmp/p.sock");
 * ```
 *
 * @param handshake Where the plugin listens.
 * @returns The target string.
 */
export function grpcTarget(handshake: Handshake): string {
  return handshake.network === "unix" ? `unix:${handshake.address}` : handshake.address;
}
