/**
 * The long-lived streams spire-agent holds open to a loaded plugin (go-plugin's dial): `GRPCStdio/StreamStdio`
 * and `GRPCBroker/StartStream`, plus the agent's own broker listener whose `ConnInfo{service_id: 1}` it sends
 * on the broker stream. A stream that ends before the agent hangs up is recorded: a plugin must keep both
 * open until unload.
 *
 * @module
 */

import type * as grpc from "@grpc/grpc-js";
import * as net from "node:net";
import { join } from "node:path";
import type { ConnInfo } from "../gen/plugin/grpc_broker.ts";
import type { StdioData } from "../gen/plugin/grpc_stdio.ts";
import type { PluginClient } from "./plugin_client.ts";

/** The broker and stdio streams of one loaded plugin, and the agent's broker listener. */
export class AgentStreams {
  /** The broker listener's socket path, once {@linkcode AgentStreams.announceBroker} has sent it. */
  brokerAddress: string | null = null;

  readonly #broker: grpc.ClientDuplexStream<ConnInfo, ConnInfo>;
  readonly #stdio: grpc.ClientReadableStream<StdioData>;
  #brokerServer: net.Server | null = null;
  #brokerDir: string | null = null;
  #ended: string[] = [];
  #hungUp = false;

  /**
   * Opens the stdio and broker streams (in that order, as go-plugin does) and starts watching them.
   *
   * @param client The connection to the plugin.
   */
  constructor(client: PluginClient) {
    this.#stdio = client.openStdio();
    this.#watch("stdio", this.#stdio);
    this.#broker = client.openBroker();
    this.#watch("broker", this.#broker);
  }

  /** Records the end of a stream unless the agent itself hung up. */
  #watch(
    name: string,
    stream: grpc.ClientDuplexStream<ConnInfo, ConnInfo> | grpc.ClientReadableStream<StdioData>,
  ) {
    stream.on("data", () => {});
    stream.on("error", (err: grpc.ServiceError) => {
      if (!this.#hungUp) this.#ended.push(`${name}: ${err.code} ${err.details}`);
    });
    stream.on("end", () => {
      if (!this.#hungUp) this.#ended.push(`${name}: ended`);
    });
  }

  /** Names of the streams that ended before the agent hung up, with their status. */
  get endedEarly(): readonly string[] {
    return this.#ended;
  }

  /**
   * Creates the agent's listener for host services (go-plugin: `$TMPDIR/plugin<random>`) and sends its
   * `ConnInfo{service_id: 1}` on the broker stream.
   */
  async announceBroker(): Promise<void> {
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

  /** Hangs up: cancels both streams; from now on their ends are expected and not recorded. */
  cancel(): void {
    this.#hungUp = true;
    this.#broker.cancel();
    this.#stdio.cancel();
  }

  /** Closes the broker listener and removes its directory. Idempotent. */
  async closeListener(): Promise<void> {
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
