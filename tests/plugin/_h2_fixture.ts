/**
 * The plugin's real gRPC server over a real unix socket with a recording runtime and logger, for the
 * wire-level tests of its HTTP/2 transport.
 *
 * @module
 */

import * as net from "node:net";
import type { Logger } from "../../src/log.ts";
import { DEFAULT_LIMITS, H2Connection, type H2Limits } from "../../src/plugin/h2/connection.ts";
import { grpcStreamHandler, type Method } from "../../src/plugin/h2/grpc.ts";
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

/** A bare HTTP/2 + gRPC server (our transport, no plugin) on 127.0.0.1. */
export interface H2TcpServer {
  /** `127.0.0.1:<port>`. */
  readonly address: string;
  /** Closes the listener and every connection. */
  stop(): Promise<void>;
}

/** Serves `methods` over real TCP sockets with our HTTP/2 connection and the given limits. */
export async function startH2TcpServer(
  methods: ReadonlyMap<string, Method>,
  logger: Logger,
  limits: Partial<H2Limits>,
): Promise<H2TcpServer> {
  const open = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    open.add(socket);
    const conn = new H2Connection(
      {
        write: (b) => void socket.write(b),
        close: () => socket.end(),
        get pendingBytes() {
          return socket.writableLength;
        },
      },
      grpcStreamHandler({ methods, logger }),
      logger,
      { ...DEFAULT_LIMITS, ...limits },
    );
    socket.on("data", (chunk: Uint8Array) => conn.receive(chunk));
    socket.on("error", () => {});
    socket.on("close", () => {
      open.delete(socket);
      conn.transportClosed();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    address: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    async stop() {
      for (const s of open) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
