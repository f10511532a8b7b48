// The request handler of a canremote server, independent of any socket:
// tests call fetch() with a Request, server.ts puts it behind Deno.serve.
import { getLogger, type Logger } from "@logtape/logtape";
import { CloseCode } from "../protocol.ts";
import { ASSETS } from "../web/assets.ts";
import type { Backend } from "./backend.ts";
import { channelForPath, isWebSocketUpgrade, negotiateProtocol } from "./handshake.ts";
import { DEFAULT_LIMITS, type Limits } from "./limits.ts";
import { Session } from "./session.ts";

/** Options of {@linkcode CanBridge}. */
export interface BridgeOptions extends Partial<Limits> {
  /** Where client buses come from. */
  backend: Backend;
  /**
   * Most clients connected at once; more get HTTP 503 before upgrading.
   * @default {256}
   */
  maxClients?: number;
}

/** Routes HTTP requests: WebSocket upgrades to sessions, GETs to the web page. */
export class CanBridge {
  readonly backend: Backend;
  readonly limits: Limits;
  readonly maxClients: number;
  readonly sessions: Set<Session> = new Set();
  #nextId = 1;
  #closing = false;
  #log: Logger = getLogger(["canremote", "server"]);

  constructor(options: BridgeOptions) {
    const { backend, maxClients, ...limits } = options;
    this.backend = backend;
    this.maxClients = maxClients ?? 256;
    this.limits = { ...DEFAULT_LIMITS, ...dropUndefined(limits) };
  }

  /** Answers one HTTP request. */
  fetch = (request: Request): Response => {
    const url = new URL(request.url);
    if (!isWebSocketUpgrade(request)) return this.#serveAsset(request, url);
    const channel = channelForPath(url.pathname, this.backend.channels);
    if (channel === undefined) {
      return text(
        404,
        `No channel "${decodeSafe(url.pathname.slice(1))}" here; channels: ${
          this.backend.channels.join(", ")
        }`,
      );
    }
    const negotiated = negotiateProtocol(request.headers.get("sec-websocket-protocol"));
    if (!negotiated) {
      return text(
        400,
        "Unsupported WebSocket subprotocol: offer can.binary+json.v1 or can.json.v1",
      );
    }
    if (this.#closing) return text(503, "The server is shutting down");
    if (this.sessions.size >= this.maxClients) {
      return text(503, `The server is at its limit of ${this.maxClients} clients`);
    }
    let upgraded;
    try {
      // Deno's own protocol option throws on "a,b" lists (what python-can-remote
      // and the ws package send), so the header is set on the response instead.
      upgraded = Deno.upgradeWebSocket(request);
    } catch (error) {
      return text(400, `Bad WebSocket upgrade: ${(error as Error).message}`);
    }
    const { socket, response } = upgraded;
    if (negotiated.echo) response.headers.set("sec-websocket-protocol", negotiated.protocol);
    const id = this.#nextId++;
    this.#log.info("Client {id} connected to channel {channel} ({protocol})", {
      id,
      channel,
      protocol: negotiated.protocol,
    });
    const session = new Session(
      id,
      socket,
      negotiated.protocol,
      channel,
      this.backend,
      this.limits,
      this.#log,
      (s) => this.sessions.delete(s),
    );
    this.sessions.add(session);
    return response;
  };

  #serveAsset(request: Request, url: URL): Response {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return text(405, `Method ${request.method} not allowed`);
    }
    if (url.pathname === "/api/channels") return this.#channelList();
    const asset = ASSETS.get(url.pathname);
    if (!asset) return text(404, `Not found: ${url.pathname}`);
    return new Response(request.method === "HEAD" ? null : asset.body, {
      headers: { "content-type": asset.type, "cache-control": "no-cache" },
    });
  }

  // What the web page needs to offer a channel picker and estimate bus load.
  #channelList(): Response {
    const channels = this.backend.channels.map((name, i) => ({
      name,
      path: i === 0 ? "/" : `/${encodeURIComponent(name)}`,
      bitrate: this.limits.bitrate ?? null,
    }));
    return Response.json(
      { interface: this.backend.interfaceName, channels, clients: this.sessions.size },
      { headers: { "cache-control": "no-cache" } },
    );
  }

  /** Closes every session with 1001 and waits until their buses are released. */
  async close(): Promise<void> {
    this.#closing = true;
    const sessions = [...this.sessions];
    for (const session of sessions) session.close(CloseCode.GOING_AWAY, "Server shutting down");
    await Promise.all(sessions.map((s) => s.finished));
  }
}

function text(status: number, body: string): Response {
  return new Response(body + "\n", {
    status,
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function dropUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
