/**
 * A fake spire-agent: loads, calls and unloads the plugin the way spire-agent's go-plugin client does
 * (`plugin-protocol.md` §9.1), so that passing it means a real agent would load the plugin.
 *
 * Order of a load: spawn with the cookie and `PLUGIN_*` variables → read and validate the handshake line
 * (as go-plugin does) → connect with grpc-js (`:authority` = `unused`) → open `GRPCBroker/StartStream` and
 * `GRPCStdio/StreamStdio` → create a broker listener and send its `ConnInfo{service_id: 1}` → Init with the
 * Metrics host service name → Configure. Unload: Deinit (10 s deadline) → cancel the broker → Shutdown →
 * close the connection → wait up to 2 s for exit (else SIGKILL, as the agent does).
 *
 * Every stderr line is checked like go-plugin's `logStderr`: a line that would crash the agent (non-string
 * `@message`/`@level`/`@timestamp`) or be demoted to a raw Debug line (not JSON, unknown level, a timestamp
 * without six fractional digits) is reported by {@linkcode PluginHost.logProblems}.
 *
 * @example Loading the plugin once
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { PluginHost } from "./plugin_host.ts";
 * const host = await PluginHost.start();
 * try {
 *   await host.load({ hcl: "", trustDomain: "example.org" });
 *   const status = await host.unload();
 *   assert.equal(status.code, 0);
 *   assert.deepEqual(host.logProblems(), []);
 * } finally {
 *   await host.dispose();
 * }
 * ```
 *
 * @module
 */

import * as grpc from "@grpc/grpc-js";
import * as http2 from "node:http2";
import * as net from "node:net";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { type ConnInfo, GRPCBrokerService } from "../gen/plugin/grpc_broker.ts";
import { Empty, GRPCControllerService } from "../gen/plugin/grpc_controller.ts";
import { GRPCStdioService, type StdioData } from "../gen/plugin/grpc_stdio.ts";
import { HealthService } from "../gen/grpc/health/v1/health.ts";
import type { HealthCheckResponse } from "../gen/grpc/health/v1/health.ts";
import { InitService } from "../gen/spire/service/private/init/v1/init.ts";
import { ConfigService } from "../gen/spire/service/common/config/v1/config.ts";
import type { ValidateResponse } from "../gen/spire/service/common/config/v1/config.ts";
import { WorkloadAttestorService } from "../gen/spire/plugin/agent/workloadattestor/v1/workloadattestor.ts";
import type { Any } from "../gen/google/protobuf/any.ts";

/** The repository root. */
export const REPO_ROOT: string = fileURLToPath(new URL("../../", import.meta.url));

/** The default plugin command: the source entry point under the current `deno`. */
export const DEFAULT_PLUGIN_COMMAND: readonly string[] = [
  Deno.execPath(),
  "run",
  "-A",
  "--no-prompt",
  "--config",
  join(REPO_ROOT, "deno.json"),
  join(REPO_ROOT, "mod.ts"),
];

/** The host service spire-agent offers (announced in Init). */
export const METRICS_HOST_SERVICE = "spire.hostservice.common.metrics.v1.Metrics";

/** The parsed handshake line. */
export interface Handshake {
  /** The line as read (without the newline). */
  readonly line: string;
  /** `unix` or `tcp`. */
  readonly network: "unix" | "tcp";
  /** Socket path or `127.0.0.1:<port>`. */
  readonly address: string;
}

/** How one stderr line fares in go-plugin's `logStderr`. */
export type LogLineVerdict =
  | {
    readonly kind: "entry";
    readonly level: string;
    readonly message: string;
    readonly fields: Record<string, unknown>;
  }
  | { readonly kind: "crash"; readonly reason: string }
  | { readonly kind: "demoted"; readonly reason: string };

const HCLOG_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$/;
const HCLOG_LEVELS = new Set(["debug", "info", "warn", "error"]);
const MAX_LOG_LINE = 64 * 1024;

/**
 * Classifies one stderr line as go-plugin v1.8 `logStderr`/`parseJSON` would, but stricter: `@timestamp`
 * is required, and the level must be one SPIRE shows (trace is dropped by the agent).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { classifyLogLine } from "./plugin_host.ts";
 * assert.equal(classifyLogLine('{"@level":"info","@message":"x","@timestamp":"2026-01-01T00:00:00.000000Z"}').kind, "entry");
 * assert.equal(classifyLogLine('{"@level":"info","@message":42}').kind, "crash");
 * ```
 *
 * @param line One line without its newline.
 * @returns The verdict.
 */
export function classifyLogLine(line: string): LogLineVerdict {
  if (line.length > MAX_LOG_LINE) {
    return { kind: "demoted", reason: "longer than 64 KiB (split into raw lines)" };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return { kind: "demoted", reason: "not JSON (logged as raw text)" };
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return { kind: "demoted", reason: "not a JSON object" };
  }
  const entry = parsed as Record<string, unknown>;
  for (const key of ["@message", "@level", "@timestamp"]) {
    if (key in entry && typeof entry[key] !== "string") {
      return {
        kind: "crash",
        reason: `${key} is ${entry[key] === null ? "null" : typeof entry[key]}, not a string`,
      };
    }
  }
  const timestamp = entry["@timestamp"];
  if (typeof timestamp !== "string") return { kind: "demoted", reason: "no @timestamp" };
  if (!HCLOG_TIMESTAMP.test(timestamp)) {
    return { kind: "demoted", reason: `@timestamp "${timestamp}" does not have six fractional digits` };
  }
  const level = typeof entry["@level"] === "string" ? entry["@level"] : "";
  if (!HCLOG_LEVELS.has(level)) {
    return { kind: "demoted", reason: `@level "${level}" is not debug|info|warn|error` };
  }
  const message = typeof entry["@message"] === "string" ? entry["@message"] : "";
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(entry)) {
    if (key !== "@message" && key !== "@level" && key !== "@timestamp") fields[key] = value;
  }
  return { kind: "entry", level, message, fields };
}

/**
 * Parses a handshake line with go-plugin's client rules (`parts >= 4`, core and app version 1, network
 * unix|tcp, protocol grpc, no AutoMTLS certificate).
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

/** A finished gRPC call's error, or `null`. */
export type CallError = grpc.ServiceError;

/** Options of {@linkcode PluginClient} calls. */
export interface CallOptions {
  /** Deadline in milliseconds from now. */
  readonly timeoutMs?: number;
}

/**
 * Typed unary and streaming calls to a plugin over one grpc-js connection (`:authority` = `unused`).
 * Used by {@linkcode PluginHost} and by in-process server tests.
 */
export class PluginClient {
  /** The underlying grpc-js client. */
  readonly grpcClient: grpc.Client;

  /**
   * @param target A grpc-js target: `unix:/abs/path` or `127.0.0.1:<port>`.
   */
  constructor(target: string) {
    this.grpcClient = new grpc.Client(target, grpc.credentials.createInsecure(), {
      "grpc.default_authority": "unused",
      "grpc.max_receive_message_length": -1,
      "grpc.max_send_message_length": -1,
    });
  }

  /** Makes a unary call with a generated method definition. */
  unary<Req, Res>(
    method: {
      path: string;
      requestSerialize: (v: Req) => Buffer;
      responseDeserialize: (b: Buffer) => Res;
    },
    request: Req,
    options: CallOptions & { signal?: AbortSignal } = {},
  ): Promise<Res> {
    return new Promise((resolve, reject) => {
      const callOptions: grpc.CallOptions = {};
      if (options.timeoutMs !== undefined) callOptions.deadline = Date.now() + options.timeoutMs;
      const call = this.grpcClient.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
        new grpc.Metadata(),
        callOptions,
        (err, response) => (err ? reject(err) : resolve(response as Res)),
      );
      options.signal?.addEventListener("abort", () => call.cancel(), { once: true });
    });
  }

  /** Calls any path with raw request bytes (for unknown methods). */
  raw(path: string, body: Uint8Array, options: CallOptions = {}): Promise<Buffer> {
    const identity = (b: Buffer) => b;
    return this.unary(
      { path, requestSerialize: (v: Uint8Array) => Buffer.from(v), responseDeserialize: identity },
      body,
      options,
    );
  }

  /** `Init/Init`. */
  init(hostServiceNames: string[] = [METRICS_HOST_SERVICE]): Promise<string[]> {
    return this.unary(InitService.init, { hostServiceNames }).then((r) => r.pluginServiceNames);
  }

  /** `Init/Deinit`. */
  async deinit(options: CallOptions = { timeoutMs: 10_000 }): Promise<void> {
    await this.unary(InitService.deinit, {}, options);
  }

  /** `Config/Configure`. */
  async configure(hcl: string, trustDomain: string | null = "example.org"): Promise<void> {
    await this.unary(ConfigService.configure, {
      hclConfiguration: hcl,
      coreConfiguration: trustDomain === null ? undefined : { trustDomain },
    });
  }

  /** `Config/Validate`. */
  validate(hcl: string, trustDomain: string | null = "example.org"): Promise<ValidateResponse> {
    return this.unary(ConfigService.validate, {
      hclConfiguration: hcl,
      coreConfiguration: trustDomain === null ? undefined : { trustDomain },
    });
  }

  /** `WorkloadAttestor/Attest`: the selector values. */
  attest(pid: number, options: CallOptions & { signal?: AbortSignal } = {}): Promise<string[]> {
    return this.unary(WorkloadAttestorService.attest, { pid }, options).then((r) => r.selectorValues);
  }

  /** `WorkloadAttestor/AttestReference`. */
  attestReference(reference: Any | undefined): Promise<string[]> {
    return this.unary(WorkloadAttestorService.attestReference, { reference }).then((r) => r.selectorValues);
  }

  /** `grpc.health.v1.Health/Check`. */
  health(service: string): Promise<HealthCheckResponse> {
    return this.unary(HealthService.check, { service });
  }

  /** `GRPCController/Shutdown`. */
  async shutdown(): Promise<void> {
    await this.unary(GRPCControllerService.shutdown, Empty.create());
  }

  /** Opens `GRPCBroker/StartStream` (left open). */
  openBroker(): grpc.ClientDuplexStream<ConnInfo, ConnInfo> {
    const s = GRPCBrokerService.startStream;
    return this.grpcClient.makeBidiStreamRequest(s.path, s.requestSerialize, s.responseDeserialize);
  }

  /** Opens `GRPCStdio/StreamStdio` (one empty request, left open). */
  openStdio(): grpc.ClientReadableStream<StdioData> {
    const s = GRPCStdioService.streamStdio;
    return this.grpcClient.makeServerStreamRequest(s.path, s.requestSerialize, s.responseDeserialize, {});
  }

  /** Closes the connection. */
  close(): void {
    this.grpcClient.close();
  }
}

/** The result of one raw HTTP/2 exchange, for wire-level assertions. */
export interface RawExchange {
  /** Response headers (first HEADERS frame). */
  readonly headers: http2.IncomingHttpHeaders;
  /** Trailers, when a separate trailing HEADERS frame came. */
  readonly trailers: http2.IncomingHttpHeaders | null;
  /** All DATA bytes. */
  readonly data: Buffer;
}

/**
 * Sends one gRPC request over a fresh `node:http2` session and records the frames' headers, trailers and
 * data, without any gRPC library interpreting them.
 *
 * @param handshake Where the plugin listens.
 * @param path The `:path`.
 * @param message The protobuf bytes of the request message.
 * @returns What came back.
 */
export function rawExchange(handshake: Handshake, path: string, message: Uint8Array): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const session = http2.connect("http://unused", {
      createConnection: () =>
        handshake.network === "unix"
          ? net.connect(handshake.address)
          : net.connect(Number(handshake.address.split(":")[1]), "127.0.0.1"),
    });
    session.on("error", reject);
    const stream = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc",
      te: "trailers",
    });
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders | null = null;
    const chunks: Buffer[] = [];
    stream.on("response", (h) => headers = h);
    stream.on("trailers", (t) => trailers = t);
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("error", reject);
    stream.on("close", () => {
      session.close();
      resolve({ headers, trailers, data: Buffer.concat(chunks) });
    });
    const frame = Buffer.alloc(5 + message.length);
    frame.writeUInt32BE(message.length, 1);
    frame.set(message, 5);
    stream.end(frame);
  });
}

/** Options of {@linkcode PluginHost.start}. */
export interface PluginHostOptions {
  /** `[program, ...args]` of the plugin (spire-agent's `plugin_cmd`). @default {DEFAULT_PLUGIN_COMMAND} */
  readonly command?: readonly string[];
  /** Extra arguments (spire-agent's `plugin_args`). */
  readonly args?: readonly string[];
  /** Environment changes on top of this process's environment; `undefined` unsets. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The cookie value; `null` leaves the variable unset. @default {"WorkloadAttestor"} */
  readonly cookie?: string | null;
  /** Working directory. */
  readonly cwd?: string;
  /** Handshake timeout. @default {60000} */
  readonly handshakeTimeoutMs?: number;
  /** Give the plugin an open stdin pipe (that is never written) instead of /dev/null. */
  readonly pipedStdin?: boolean;
}

/** What {@linkcode PluginHost.load} does. */
export interface LoadOptions {
  /** `hcl_configuration` for Configure; `null` skips Configure. @default {""} */
  readonly hcl?: string | null;
  /** The agent's trust domain. @default {"example.org"} */
  readonly trustDomain?: string;
}

/** How the plugin process ended. */
export interface ExitResult {
  /** Exit code (137 etc. after a signal). */
  readonly code: number;
  /** The signal that ended it, if any. */
  readonly signal: string | null;
  /** True when the host had to SIGKILL it (it did not exit within 2 s of Shutdown). */
  readonly killed: boolean;
}

/** The environment spire-agent gives a plugin, applied on top of `base`. */
export function pluginEnvironment(
  base: Record<string, string>,
  cookie: string | null,
  overrides: Readonly<Record<string, string | undefined>> = {},
): Record<string, string> {
  const env: Record<string, string> = { ...base };
  delete env.PLUGIN_CLIENT_CERT;
  delete env.PLUGIN_MULTIPLEX_GRPC;
  delete env.WorkloadAttestor;
  if (cookie !== null) env.WorkloadAttestor = cookie;
  env.PLUGIN_MIN_PORT = "10000";
  env.PLUGIN_MAX_PORT = "25000";
  env.PLUGIN_PROTOCOL_VERSIONS = "1";
  env.RUST_BACKTRACE = "0";
  env.NO_COLOR = "1";
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

/** Splits a byte stream into lines as they arrive. */
async function readLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<string> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of stream) {
    buffer += decoder.decode(chunk, { stream: true });
    let index: number;
    while ((index = buffer.indexOf("\n")) >= 0) {
      onLine(buffer.slice(0, index));
      buffer = buffer.slice(index + 1);
    }
  }
  buffer += decoder.decode();
  return buffer; // an unterminated last line
}

/** A running plugin process under the fake agent. */
export class PluginHost {
  /** The plugin process. */
  readonly child: Deno.ChildProcess;
  /** The validated handshake. */
  readonly handshake: Handshake;
  /** The gRPC client (created on start, like go-plugin's lazy dial). */
  readonly client: PluginClient;
  /** Every stderr line so far. */
  readonly stderrLines: string[];
  /** Everything the plugin wrote to stdout after the handshake line (spire-agent discards it). */
  readonly stdoutAfterHandshake: string[];
  /** Everything written to stdout, raw. */
  stdoutRaw: string;
  /** ConnInfo sent to the plugin on the broker stream, if any. */
  brokerAddress: string | null = null;

  #status: Promise<Deno.CommandStatus>;
  #exited = false;
  #broker: grpc.ClientDuplexStream<ConnInfo, ConnInfo> | null = null;
  #stdio: grpc.ClientReadableStream<StdioData> | null = null;
  #brokerServer: net.Server | null = null;
  #brokerDir: string | null = null;
  #streamsEnded: string[] = [];
  #stderrDone: Promise<unknown>;
  #stdoutDone: Promise<unknown>;

  private constructor(
    child: Deno.ChildProcess,
    handshake: Handshake,
    stderrLines: string[],
    stdout: { raw: string; after: string[] },
    done: { stderr: Promise<unknown>; stdout: Promise<unknown> },
  ) {
    this.child = child;
    this.handshake = handshake;
    this.stderrLines = stderrLines;
    this.stdoutAfterHandshake = stdout.after;
    this.stdoutRaw = stdout.raw;
    this.#status = child.status.then((s) => {
      this.#exited = true;
      return s;
    });
    this.#stderrDone = done.stderr;
    this.#stdoutDone = done.stdout;
    const target = handshake.network === "unix" ? `unix:${handshake.address}` : handshake.address;
    this.client = new PluginClient(target);
  }

  /**
   * Spawns the plugin and reads its handshake (spire-agent's `plugin.NewClient(...).Start()`).
   *
   * @param options Command, arguments and environment.
   * @returns A host connected to the plugin.
   * @throws {Error} When the plugin exits first, times out, or prints an unacceptable line; the message
   *   includes its stderr.
   */
  static async start(options: PluginHostOptions = {}): Promise<PluginHost> {
    const [program, ...programArgs] = options.command ?? DEFAULT_PLUGIN_COMMAND;
    const env = pluginEnvironment(
      Deno.env.toObject(),
      options.cookie === undefined ? "WorkloadAttestor" : options.cookie,
      options.env,
    );
    const child = new Deno.Command(program, {
      args: [...programArgs, ...(options.args ?? [])],
      env,
      clearEnv: true,
      cwd: options.cwd,
      stdin: options.pipedStdin ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderrLines: string[] = [];
    const stdout = { raw: "", after: [] as string[] };
    let firstLine: ((line: string) => void) | null = null;
    const gotFirstLine = new Promise<string>((resolve) => firstLine = resolve);
    let lineCount = 0;
    const stderrDone = readLines(child.stderr, (l) => stderrLines.push(l)).then((rest) => {
      if (rest) stderrLines.push(rest);
    }).catch(() => {});
    const stdoutDone = readLines(child.stdout, (l) => {
      stdout.raw += l + "\n";
      if (lineCount++ === 0) firstLine?.(l);
      else stdout.after.push(l);
    }).then((rest) => {
      stdout.raw += rest;
      if (rest) stdout.after.push(rest);
    }).catch(() => {});

    const timeoutMs = options.handshakeTimeoutMs ?? 60_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const outcome = await Promise.race([
      gotFirstLine.then((line) => ({ kind: "line" as const, line })),
      child.status.then((status) => ({ kind: "exit" as const, status })),
      new Promise<{ kind: "timeout" }>((resolve) =>
        timer = setTimeout(() => resolve({ kind: "timeout" }), timeoutMs)
      ),
    ]);
    clearTimeout(timer);
    const fail = async (message: string): Promise<never> => {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await child.status;
      await Promise.all([stderrDone, stdoutDone]);
      throw new Error(`${message}\nplugin stderr:\n${stderrLines.join("\n")}`);
    };
    if (outcome.kind === "exit") {
      // A line may have raced with the exit.
      await stdoutDone;
      if (lineCount === 0) {
        return await fail(`plugin exited before we could connect (code ${outcome.status.code})`);
      }
    }
    if (outcome.kind === "timeout") return await fail("timeout while waiting for plugin to start");
    const line = await gotFirstLine;
    let handshake: Handshake;
    try {
      handshake = parseHandshake(line);
    } catch (err) {
      return await fail((err as Error).message);
    }
    return new PluginHost(child, handshake, stderrLines, stdout, { stderr: stderrDone, stdout: stdoutDone });
  }

  /** Whether the process has exited. */
  get exited(): boolean {
    return this.#exited;
  }

  /** Names of the long-lived streams (broker, stdio) that ended before unload, with their status. */
  get streamsEndedEarly(): readonly string[] {
    return this.#streamsEnded;
  }

  /** Opens the broker and stdio streams and sends the broker ConnInfo, as go-plugin does on dial. */
  async connect(): Promise<void> {
    const unloading = () => this.#unloading;
    this.#stdio = this.client.openStdio();
    this.#stdio.on("data", () => {});
    this.#stdio.on("error", (err: grpc.ServiceError) => {
      if (!unloading()) this.#streamsEnded.push(`stdio: ${err.code} ${err.details}`);
    });
    this.#stdio.on("end", () => {
      if (!unloading()) this.#streamsEnded.push("stdio: ended");
    });
    this.#broker = this.client.openBroker();
    this.#broker.on("data", () => {});
    this.#broker.on("error", (err: grpc.ServiceError) => {
      if (!unloading()) this.#streamsEnded.push(`broker: ${err.code} ${err.details}`);
    });
    this.#broker.on("end", () => {
      if (!unloading()) this.#streamsEnded.push("broker: ended");
    });
    // The agent's own listener for host services (go-plugin: $TMPDIR/plugin<random>).
    this.#brokerDir = await Deno.makeTempDir({ prefix: "fakeagent" });
    const address = join(this.#brokerDir, `plugin${Math.floor(Math.random() * 1e9)}`);
    const server = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(address, () => resolve());
    });
    this.#brokerServer = server;
    this.brokerAddress = address;
    this.#broker.write({ serviceId: 1, network: "unix", address, knock: undefined });
  }

  #unloading = false;

  /**
   * The agent's load sequence after the handshake: broker + stdio streams, ConnInfo, Init, Configure.
   *
   * @param options Configuration to send.
   * @returns The plugin service names from Init.
   */
  async load(options: LoadOptions = {}): Promise<string[]> {
    await this.connect();
    const names = await this.client.init([METRICS_HOST_SERVICE]);
    const hcl = options.hcl === undefined ? "" : options.hcl;
    if (hcl !== null) await this.client.configure(hcl, options.trustDomain ?? "example.org");
    return names;
  }

  /**
   * The agent's unload: Deinit (10 s deadline), cancel the broker, Shutdown (result ignored), close the
   * connection, wait 2 s for exit, then SIGKILL.
   *
   * @returns How the process ended, and the Deinit error if any.
   */
  async unload(): Promise<ExitResult & { deinitError: CallError | null }> {
    let deinitError: CallError | null = null;
    try {
      await this.client.deinit({ timeoutMs: 10_000 });
    } catch (err) {
      deinitError = err as CallError;
    }
    this.#unloading = true;
    this.#broker?.cancel();
    this.#stdio?.cancel();
    try {
      await this.client.shutdown();
    } catch { /* ignored, as the agent does */ }
    this.client.close();
    const result = await this.waitExit(2000);
    return { ...result, deinitError };
  }

  /**
   * Drops the connection without Deinit or Shutdown, as when the agent dies: cancels the broker and stdio
   * streams and closes the client.
   */
  abandon(): void {
    this.#unloading = true;
    this.#broker?.cancel();
    this.#stdio?.cancel();
    this.client.close();
  }

  /**
   * Waits for the process to exit; after `timeoutMs` it is SIGKILLed (`killed: true`).
   *
   * @param timeoutMs How long to wait.
   * @returns How it ended.
   */
  async waitExit(timeoutMs: number): Promise<ExitResult> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const exited = await Promise.race([
      this.#status.then(() => true),
      new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), timeoutMs)),
    ]);
    clearTimeout(timer);
    let killed = false;
    if (!exited) {
      killed = true;
      try {
        this.child.kill("SIGKILL");
      } catch { /* raced with exit */ }
    }
    const status = await this.#status;
    await Promise.all([this.#stderrDone, this.#stdoutDone]);
    return { code: status.code, signal: status.signal, killed };
  }

  /** Sends a signal to the plugin process. */
  signal(signal: Deno.Signal): void {
    this.child.kill(signal);
  }

  /**
   * Every stderr line that a real agent would not log as a proper entry: lines that crash the agent or
   * are demoted to raw Debug text.
   */
  logProblems(): string[] {
    const problems: string[] = [];
    for (const line of this.stderrLines) {
      const verdict = classifyLogLine(line);
      if (verdict.kind !== "entry") problems.push(`${verdict.kind}: ${verdict.reason}: ${line}`);
    }
    return problems;
  }

  /** The parsed log entries (lines that are proper entries). */
  logEntries(): Array<{ level: string; message: string; fields: Record<string, unknown> }> {
    const entries = [];
    for (const line of this.stderrLines) {
      const verdict = classifyLogLine(line);
      if (verdict.kind === "entry") entries.push(verdict);
    }
    return entries;
  }

  /** Releases everything: kills the process if alive, closes the client and the broker listener. */
  async dispose(): Promise<void> {
    this.#unloading = true;
    this.#broker?.cancel();
    this.#stdio?.cancel();
    this.client.close();
    if (!this.#exited) {
      try {
        this.child.kill("SIGKILL");
      } catch { /* already gone */ }
    }
    await this.#status;
    await Promise.all([this.#stderrDone, this.#stdoutDone]);
    if (this.#brokerServer) {
      const server = this.#brokerServer;
      this.#brokerServer = null;
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    if (this.#brokerDir) {
      await Deno.remove(this.#brokerDir, { recursive: true }).catch(() => {});
      this.#brokerDir = null;
    }
  }
}

/** The outcome of a short, non-serving run of the plugin program. */
export interface RunResult {
  /** Exit code. */
  readonly code: number;
  /** Everything on stdout. */
  readonly stdout: string;
  /** Everything on stderr. */
  readonly stderr: string;
}

/**
 * Runs the plugin program to completion (for `--help`, `--version`, and cookie failures).
 *
 * @param args Arguments after the command.
 * @param options Cookie and environment as for {@linkcode PluginHost.start}.
 * @returns Exit code and output.
 */
export async function runPluginOnce(
  args: readonly string[],
  options: Pick<PluginHostOptions, "command" | "cookie" | "env"> = {},
): Promise<RunResult> {
  const [program, ...programArgs] = options.command ?? DEFAULT_PLUGIN_COMMAND;
  const env = pluginEnvironment(
    Deno.env.toObject(),
    options.cookie === undefined ? null : options.cookie,
    options.env,
  );
  const output = await new Deno.Command(program, {
    args: [...programArgs, ...args],
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { code: output.code, stdout: decoder.decode(output.stdout), stderr: decoder.decode(output.stderr) };
}
