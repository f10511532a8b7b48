// The listening socket for ws:// and http://: node:http in front
// of the fetch-style handler (bridge.ts), for what Deno.serve cannot do
// (issue #16): a deadline and a cap for connections that have not sent a
// whole request head, surviving accept errors such as EMFILE, and
// WebSockets whose writes can be corked per turn (issue #15, ws_socket.ts).
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Logger } from "@logtape/logtape";
import type { CanBridge } from "./bridge.ts";
import { plainText } from "./plain_text.ts";
import { AcceptWatchdog } from "./accept_watchdog.ts";
import { nodeUpgrader } from "./node_upgrade.ts";
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
  const scheme = "http";
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
  // Connections whose first request head has not arrived, with their deadline.
  const waiting = new Map<Duplex, ReturnType<typeof setTimeout>>();
  const sockets = new Set<Duplex>();
  // Upgraded ones: closing the server leaves them to their closing handshakes.
  const websockets = new Set<Duplex>();
  const done = (socket: Duplex) => {
    clearTimeout(waiting.get(socket));
    waiting.delete(socket);
  };
  // Descriptors kept for everything else (files, the backend's sockets),
  // on top of those the process already holds (about 25 for Deno itself).
  const fileLimit = (options.fileLimit ?? Infinity) - openDescriptors() -
    Math.max(32, Math.floor((options.fileLimit ?? 0) / 8));
  server.on("connection", (socket: Socket) => {
    if (watch.dog?.claim(socket)) return void socket.destroy();
    sockets.add(socket);
    socket.once("close", () => {
      done(socket);
      sockets.delete(socket);
    });
    // Each session may hold a descriptor of its own (a SocketCAN socket).
    if (sockets.size + bridge.sessions.size > fileLimit) {
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
  server.on("error", (error: Error & { code?: string }) => {
    trouble(error.code ?? "error", `Connection error: ${error.message}`);
  });
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
      const upgrader = nodeUpgrader(socket, head);
      response = bridge.fetch(
        toRequest(message, scheme, fallbackHost),
        handlerInfo(socket as Socket),
        (request, protocol) => {
          const result = upgrader(request, protocol);
          upgraded = true;
          websockets.add(socket);
          socket.once("close", () => websockets.delete(socket));
          return result;
        },
      );
    } catch (error) {
      response = plainText(400, `Bad WebSocket upgrade: ${(error as Error).message}`);
    }
    if (!upgraded) writeRawResponse(response, socket).catch(() => socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.hostname, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  watch.dog = new AcceptWatchdog(
    server,
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
      server.close();
      for (const timer of waiting.values()) clearTimeout(timer);
      waiting.clear();
      for (const socket of sockets) if (!websockets.has(socket)) socket.destroy();
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
