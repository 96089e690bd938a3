/**
 * The plugin's real gRPC server over a real unix socket with a recording runtime and logger, for the
 * wire-level tests of its HTTP/2 transport.
 *
 * @module
 */

import { listen, type PluginListener } from "../../src/plugin/listener.ts";
import { createAttestorPlugin } from "../../src/plugin/plugin.ts";
import { createPluginServer, type PluginServer } from "../../src/plugin/server.ts";
import { PluginClient } from "../../src/testing/plugin_host.ts";
import { type RecordedLine, recordingLogger } from "../../src/testing/recording_logger.ts";
import { fakeBuildConfig, FakeRuntime } from "./fakes.ts";

/** A running server. */
export interface H2Fixture {
  readonly runtime: FakeRuntime;
  readonly server: PluginServer;
  readonly listener: PluginListener;
  /** The socket path. */
  readonly address: string;
  /** Every log line of the server. */
  readonly lines: RecordedLine[];
  /** A fresh grpc-js client (closed by `stop`). */
  client(): PluginClient;
  /** Stops everything. */
  stop(): Promise<void>;
}

/** Starts the server. */
export async function startH2Fixture(): Promise<H2Fixture> {
  const runtime = new FakeRuntime();
  const lines: RecordedLine[] = [];
  const logger = recordingLogger(lines);
  const plugin = createAttestorPlugin({
    buildConfig: fakeBuildConfig,
    runtime,
    logger,
    getenv: () => undefined,
  });
  const server = createPluginServer({ plugin, logger });
  const listener = await listen({
    transport: "unix",
    getenv: () => undefined,
    logger,
    onConnection: (s) => server.injectConnection(s),
  });
  const clients: PluginClient[] = [];
  return {
    runtime,
    server,
    listener,
    address: listener.address,
    lines,
    client() {
      const c = new PluginClient(`unix:${listener.address}`);
      clients.push(c);
      return c;
    },
    async stop() {
      for (const c of clients) c.close();
      server.close();
      await listener.close();
    },
  };
}
