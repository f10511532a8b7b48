// The listening socket for ws:// and http://, and with a certificate for
// wss:// and https://: node:http (behind node:tls) in front of the
// fetch-style handler (bridge.ts), for what Deno.serve cannot do (issue
// #16): a deadline and a cap for connections that have not sent a whole
// request head (or finished their TLS handshake), surviving accept errors
// such as EMFILE, and WebSockets whose writes can be corked per turn (issue
// #15, ws_socket.ts).
import http from "node:http";
import tls from "node:tls";
import type { AddressInfo, Server, Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Logger } from "@logtape/logtape";
import type { CanBridge } from "./bridge.ts";
import { plainText } from "./plain_text.ts";
import { AcceptWatchdog } from "./accept_watchdog.ts";
import { refuseHttp2 } from "./http2_refusal.ts";
import { nodeUpgrader } from "./node_upgrade.ts";
import { ackPromptly } from "./quick_ack.ts";
import { handlerInfo, toRequest, writeRawResponse, writeResponse } from "./node_request.ts";

/** Options of {@linkcode listen}. */
export interface ListenOptions {
  hostname: string;
  port: number;
  /** Milliseconds a connection has to send a whole request head. */
  headerTimeout: number;
  /** Most connections at once that have not sent a whole request head. */
  maxConnections: number;
  /**
   * The process's open-file limit: connections beyond it less a reserve are
   * closed at once, since Deno 2.9's node:net stops accepting for good
   * after an accept fails with EMFILE.
   */
  fileLimit?: number;
  /** PEM certificate chain and private key: serve TLS (wss://, https://). */
  tls?: { cert: string; key: string };
  log: Logger;
}

/** A listening server. */
export interface Listener {
  readonly addr: Deno.NetAddr;
  /** Connections that have not sent a whole request head. */
  readonly waitingCount: number;
  /** Stops listening and ends every connection but the WebSockets, which are closing. */
  close(): Promise<void>;
  /** Waits (up to a second) until the WebSockets' close frames reached the kernel. */
  flushed(): Promise<void>;
}

/** Most milliseconds closing waits for close frames to reach the kernel. */
const CLOSE_FLUSH_MS = 1000;

/** Logs at most one line per kind of trouble in this many ms, with the count. */
const LOG_EVERY_MS = 5000;

/** Descriptors this process holds (Linux), or 0 where that cannot be read. */
function openDescriptors(): number {
  if (Deno.permissions.querySync({ name: "read", path: "/proc/self/fd" }).state !== "granted") {
    return 0;
  }
  try {
    return [...Deno.readDirSync("/proc/self/fd")].length;
  } catch {
    return 0;
  }
}

/** A rate-limited warning: the first at once, then one per LOG_EVERY_MS with how many. */
function troubleLog(log: Logger) {
  const last = new Map<string, { at: number; count: number }>();
  return (kind: string, message: string) => {
    const now = performance.now();
    const seen = last.get(kind);
    if (seen && now - seen.at < LOG_EVERY_MS) {
      seen.count++;
      return;
    }
    const more = seen?.count ? ` (and ${seen.count} more since the last report)` : "";
    last.set(kind, { at: now, count: 0 });
    log.warn("{message}{more}", { message, more });
  };
}

/**
 * Starts listening.
 *
 * @param bridge Answers the requests.
 * @param options Address and the limits of waiting connections.
 * @returns The listener.
 * @throws The listening socket's error (e.g. `EADDRINUSE`).
 */
export async function listen(bridge: CanBridge, options: ListenOptions): Promise<Listener> {
  const scheme = options.tls ? "https" : "http";
  // Set once listening; trouble before that has nothing to watch.
  const watch: { dog?: AcceptWatchdog } = {};
  const log = troubleLog(options.log);
  const trouble = (kind: string, message: string) => {
    watch.dog?.poke();
    log(kind, message);
  };
  const serverOptions = {
    headersTimeout: options.headerTimeout,
    // The whole request is its head: the server reads no bodies.
    requestTimeout: options.headerTimeout,
    connectionsCheckingInterval: Math.max(50, Math.min(1000, options.headerTimeout / 4)),
    keepAliveTimeout: 5000,
  };
  const server = http.createServer(serverOptions);
  // With TLS, node:tls listens and hands each connection to node:http once
  // its handshake is done; the limits below count TCP connections from
  // their accept, so a TLS handshake that never ends meets the deadline too.
  const front: Server = options.tls
    ? tls.createServer({ ...options.tls, ALPNProtocols: ["http/1.1", "h2"] })
    : server;
  // Connections whose first request head has not arrived, with their deadline.
  const waiting = new Map<Duplex, ReturnType<typeof setTimeout>>();
  // TCP connections, and the TLS socket each carries once it has one.
  const sockets = new Set<Duplex>();
  // Upgraded ones: closing the server leaves them to their closing handshakes.
  const websockets = new Set<Duplex>();
  const upgradedTcp = new Set<Duplex>();
  const tcpOfTls = new WeakMap<Duplex, Duplex>();
  const tcpOf = (socket: Duplex) => tcpOfTls.get(socket) ?? socket;
  // TCP connections by peer, for the TLS socket that node:tls makes of each.
  const byPeer = new Map<string, Socket>();
  const peer = (socket: Socket) => `${socket.remoteAddress} ${socket.remotePort}`;
  const done = (socket: Duplex) => {
    const tcp = tcpOf(socket);
    clearTimeout(waiting.get(tcp));
    waiting.delete(tcp);
  };
  // Descriptors kept for everything else (files, the backend's sockets),
  // on top of those the process already holds (about 25 for Deno itself).
  const fileLimit = (options.fileLimit ?? Infinity) - openDescriptors() -
    Math.max(32, Math.floor((options.fileLimit ?? 0) / 8));
  front.on("connection", (socket: Socket) => {
    if (watch.dog?.claim(socket)) return void socket.destroy();
    sockets.add(socket);
    socket.once("close", () => {
      done(socket);
      sockets.delete(socket);
    });
    // Each session may hold a descriptor of its own (a SocketCAN socket), and
    // each WebSocket a second one for its prompt ACKs (quick_ack.ts).
    if (sockets.size + upgradedTcp.size + bridge.sessions.size > fileLimit) {
      trouble(
        "descriptors",
        `Refused a connection from ${socket.remoteAddress}: ${sockets.size} connections ` +
          `are near the open file limit (${options.fileLimit})`,
      );
      socket.destroy();
      return;
    }
    if (waiting.size >= options.maxConnections) {
      trouble(
        "full",
        `Refused a connection from ${socket.remoteAddress}: ${waiting.size} connections ` +
          `have not sent a request yet (--max-connections)`,
      );
      socket.destroy();
      return;
    }
    if (options.tls) {
      const key = peer(socket);
      byPeer.set(key, socket);
      socket.once("close", () => byPeer.get(key) === socket && byPeer.delete(key));
    }
    // node:http checks its timeouts only once a request has begun; a
    // connection that sends nothing gets this deadline.
    waiting.set(
      socket,
      setTimeout(() => {
        if (!waiting.has(socket)) return;
        trouble(
          "timeout",
          `Closed a connection from ${socket.remoteAddress}: no request head in time (--header-timeout)`,
        );
        socket.destroy();
      }, options.headerTimeout),
    );
  });
  front.on("secureConnection", (socket: tls.TLSSocket) => {
    const tcp = byPeer.get(peer(socket));
    if (tcp === undefined) return void socket.destroy(); // refused or closed meanwhile
    tcpOfTls.set(socket, tcp);
    if (socket.alpnProtocol !== "h2") return void server.emit("connection", socket);
    refuseHttp2(socket, () => {
      options.log.debug("Refused an HTTP/2 request from {address}: this server speaks HTTP/1.1", {
        address: socket.remoteAddress,
      });
    });
  });
  front.on("tlsClientError", (error: Error) => {
    trouble("tls", `A TLS handshake failed: ${error.message}`);
  });
  server.on("clientError", (error: Error & { code?: string }, socket: Duplex) => {
    if (error.code === "ECONNRESET" || !socket.writable) return void socket.destroy();
    const status = error.code === "HPE_HEADER_OVERFLOW"
      ? 431
      : error.code === "ERR_HTTP_REQUEST_TIMEOUT"
      ? 408
      : 400;
    if (status === 408) {
      trouble("timeout", "Closed a connection: request head too slow (--header-timeout)");
    }
    socket.end(
      `HTTP/1.1 ${status} ${
        http.STATUS_CODES[status]
      }\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`,
    );
  });
  // Accept failures (EMFILE, ENFILE) and the like: the server keeps going.
  front.on("error", (error: Error & { code?: string }) => {
    trouble(error.code ?? "error", `Connection error: ${error.message}`);
  });
  // A client's burst handed out in one turn queues for the bus at once: a
  // quarter of the transmit queue leaves room for the rest. At most 256:
  // turns of 1,024 made V8 grow its young generation under a flood (RSS +40
  // MiB over the benchmark's 500,000 frames instead of +20) for no gain.
  const messagesPerTurn = Math.max(1, Math.min(256, Math.floor(bridge.limits.maxPendingSends / 4)));
  const fallbackHost = options.hostname.includes(":") ? `[${options.hostname}]` : options.hostname;
  server.on("request", (message: http.IncomingMessage, out: http.ServerResponse) => {
    done(message.socket);
    let response: Response;
    try {
      response = bridge.fetch(
        toRequest(message, scheme, fallbackHost),
        handlerInfo(message.socket),
        () => {
          throw new TypeError("Invalid Header: 'connection' header must contain 'Upgrade'");
        },
      );
    } catch (error) {
      response = plainText(400, `Bad request: ${(error as Error).message}`);
    }
    writeResponse(response, out).catch(() => out.destroy());
  });
  server.on("upgrade", (message: http.IncomingMessage, socket: Duplex, head: Uint8Array) => {
    done(socket);
    socket.on("error", () => {}); // the WebSocket's close handling follows
    let upgraded = false;
    let response: Response;
    try {
      if (message.httpVersion !== "1.1") {
        throw new TypeError(
          `HTTP/${message.httpVersion}: a WebSocket upgrade needs HTTP/1.1 (RFC 6455 section 4.1)`,
        );
      }
      const upgrader = nodeUpgrader(socket, head, { messagesPerTurn });
      response = bridge.fetch(
        toRequest(message, scheme, fallbackHost),
        handlerInfo(socket as Socket),
        (request, protocol) => {
          const result = upgrader(request, protocol);
          upgraded = true;
          websockets.add(socket);
          const tcp = tcpOf(socket);
          upgradedTcp.add(tcp);
          ackPromptly(socket, tcp);
          socket.once("close", () => {
            websockets.delete(socket);
            upgradedTcp.delete(tcp);
          });
          return result;
        },
      );
    } catch (error) {
      response = plainText(400, `Bad WebSocket upgrade: ${(error as Error).message}`);
    }
    if (!upgraded) writeRawResponse(response, socket).catch(() => socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    front.once("error", reject);
    front.listen(options.port, options.hostname, () => {
      front.off("error", reject);
      resolve();
    });
  });
  const address = front.address() as AddressInfo;
  watch.dog = new AcceptWatchdog(
    front,
    { hostname: options.hostname, port: address.port },
    (error) => {
      if (error) log("relisten", `Cannot listen again: ${error.message}`);
      else options.log.warn("The server stopped accepting connections; listening again");
    },
  );
  return {
    addr: { transport: "tcp", hostname: address.address, port: address.port },
    get waitingCount() {
      return waiting.size;
    },
    // WebSockets are left to finish the closing handshakes their sessions
    // began (1001); `ws` ends each when the peer answers, or after 30 s.
    close: () => {
      watch.dog?.close();
      front.close();
      for (const timer of waiting.values()) clearTimeout(timer);
      waiting.clear();
      for (const socket of sockets) if (!upgradedTcp.has(socket)) socket.destroy();
      return Promise.resolve();
    },
    flushed: async () => {
      for (let i = 0; i < CLOSE_FLUSH_MS && websockets.size; i++) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        if (i < 2) continue; // the sessions close their sockets a task later
        if ([...websockets].every((s) => s.writableLength === 0 && !s.writableCorked)) break;
      }
    },
  };
}
