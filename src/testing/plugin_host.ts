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
 * This module holds the lifecycle; its parts are in their own modules (process start: plugin_process.ts,
 * handshake: handshake.ts, output: output_capture.ts, log check: log_check.ts, gRPC calls:
 * plugin_client.ts, long-lived streams: agent_streams.ts, raw HTTP/2: raw_exchange.ts). The names tests
 * use from them are re-exported here, so a test can import the whole fake agent from one place.
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

import { AgentStreams } from "./agent_streams.ts";
import { grpcTarget, type Handshake } from "./handshake.ts";
import { logEntries, type LogEntry, logProblems } from "./log_check.ts";
import type { OutputCapture } from "./output_capture.ts";
import { type CallError, METRICS_HOST_SERVICE, PluginClient } from "./plugin_client.ts";
import { type PluginHostOptions, startPluginProcess } from "./plugin_process.ts";

export { type Handshake, parseHandshake } from "./handshake.ts";
export { classifyLogLine, type LogEntry, type LogLineVerdict } from "./log_check.ts";
export { type CallError, type CallOptions, METRICS_HOST_SERVICE, PluginClient } from "./plugin_client.ts";
export {
  DEFAULT_PLUGIN_COMMAND,
  pluginEnvironment,
  type PluginHostOptions,
  REPO_ROOT,
  runPluginOnce,
  type RunResult,
  sourcePluginCommand,
} from "./plugin_process.ts";
export { type RawExchange, rawExchange } from "./raw_exchange.ts";

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

  #output: OutputCapture;
  #status: Promise<Deno.CommandStatus>;
  #exited = false;
  #streams: AgentStreams | null = null;

  private constructor(child: Deno.ChildProcess, handshake: Handshake, output: OutputCapture) {
    this.child = child;
    this.handshake = handshake;
    this.#output = output;
    this.stderrLines = output.stderrLines;
    this.stdoutAfterHandshake = output.stdoutAfterFirstLine;
    this.#status = child.status.then((s) => {
      this.#exited = true;
      return s;
    });
    this.client = new PluginClient(grpcTarget(handshake));
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
    const { child, handshake, output } = await startPluginProcess(options);
    return new PluginHost(child, handshake, output);
  }

  /** Everything written to stdout so far, raw (the handshake line and anything after it). */
  get stdoutRaw(): string {
    return this.#output.stdoutRaw;
  }

  /** ConnInfo address sent to the plugin on the broker stream, if any. */
  get brokerAddress(): string | null {
    return this.#streams?.brokerAddress ?? null;
  }

  /** Whether the process has exited. */
  get exited(): boolean {
    return this.#exited;
  }

  /** Names of the long-lived streams (broker, stdio) that ended before unload, with their status. */
  get streamsEndedEarly(): readonly string[] {
    return this.#streams?.endedEarly ?? [];
  }

  /** Opens the broker and stdio streams and sends the broker ConnInfo, as go-plugin does on dial. */
  async connect(): Promise<void> {
    this.#streams = new AgentStreams(this.client);
    await this.#streams.announceBroker();
  }

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
    this.#streams?.cancel();
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
    this.#streams?.cancel();
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
      this.#kill();
    }
    const status = await this.#status;
    await this.#output.done;
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
    return logProblems(this.stderrLines);
  }

  /** The parsed log entries (lines that are proper entries). */
  logEntries(): LogEntry[] {
    return logEntries(this.stderrLines);
  }

  /** Releases everything: kills the process if alive, closes the client and the broker listener. */
  async dispose(): Promise<void> {
    this.abandon();
    if (!this.#exited) this.#kill();
    await this.#status;
    await this.#output.done;
    await this.#streams?.closeListener();
  }

  /** SIGKILLs the process, ignoring a race with its exit. */
  #kill(): void {
    try {
      this.child.kill("SIGKILL");
    } catch { /* already gone */ }
  }
}
