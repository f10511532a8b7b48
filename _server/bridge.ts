// The request handler of a canremote server, independent of any socket:
// tests call fetch() with a Request, server.ts puts it behind Deno.serve.
import { getLogger, type Logger } from "@logtape/logtape";
import { CloseCode, TOKEN_PROTOCOL_PREFIX, truncateCloseReason } from "../protocol.ts";
import { ASSETS } from "../web/assets.ts";
import type { Backend } from "./backend.ts";
import {
  channelForPath,
  isLoopback,
  isWebSocketUpgrade,
  negotiateProtocol,
  originRefusal,
  presentedToken,
} from "./handshake.ts";
import { DEFAULT_LIMITS, type Limits } from "./limits.ts";
import { Session, type SessionContext } from "./session.ts";
import { allowsChannel, type Grant, type TokenTable } from "./auth.ts";
import { addressKey, AuthFailures } from "./auth_failures.ts";
import { clientAddress, isIp, normalizeIp } from "./client_address.ts";
import { logText } from "./log_text.ts";

/** Options of {@linkcode CanBridge}. */
export interface BridgeOptions extends Partial<Limits> {
  /** Where client buses come from. */
  backend: Backend;
  /**
   * Most clients admitted at once (authenticated, or on a server without
   * tokens past their `bus_request`); more get HTTP 503 before upgrading, or
   * close 1013 when the server filled up while they were pending.
   * @default {256}
   */
  maxClients?: number;
  /**
   * Most connections waiting to be admitted at once: upgraded without a valid
   * token in the upgrade request (on a server with tokens) or without a
   * `bus_request` yet (on a server without). More get HTTP 503.
   * @default {128}
   */
  maxPending?: number;
  /**
   * Wrong tokens one remote address may present within `authFailureWindow`
   * before every further upgrade and `/api/channels` request from it gets
   * HTTP 429 until the window ends. `Infinity` turns the limit off.
   * @default {10}
   */
  maxAuthFailures?: number;
  /**
   * The window of `maxAuthFailures`, in milliseconds.
   * @default {60000}
   */
  authFailureWindow?: number;
  /**
   * Access tokens. When given (even empty), every client needs one of them;
   * when left out, nobody needs one.
   * @default {undefined}
   */
  tokens?: TokenTable;
  /**
   * Origins whose pages may connect besides the server's own, e.g.
   * `"https://dash.lab:8443"`; `"*"` allows every origin.
   * @default {[]}
   */
  allowOrigins?: readonly string[];
  /**
   * The address the server listens on. On a loopback address without tokens,
   * only requests whose `Host` is a loopback name (or the host of an allowed
   * origin) are upgraded, which stops DNS rebinding (a page on another site
   * whose name resolves to 127.0.0.1).
   * @default {undefined} (no `Host` check)
   */
  hostname?: string;
  /**
   * IP addresses of reverse proxies in front of the server. A request from
   * one of them is taken to come from the client its `X-Forwarded-For` names
   * (the right-most entry that is not a trusted proxy), for the failed-attempt
   * limit and the logs. The header is ignored from anyone else.
   * @default {[]}
   */
  trustedProxies?: readonly string[];
}

/** Routes HTTP requests: WebSocket upgrades to sessions, GETs to the web page. */
export class CanBridge {
  readonly backend: Backend;
  readonly limits: Limits;
  readonly maxClients: number;
  readonly maxPending: number;
  readonly allowOrigins: readonly string[];
  /** Every connection with a session: pending, admitted, and those being closed. */
  readonly sessions: Set<Session> = new Set();
  /** Failed access attempts per remote address. */
  readonly authFailures: AuthFailures;
  // Sessions waiting to be admitted, and those admitted (they count towards maxClients).
  #pending: Set<Session> = new Set();
  #admitted: Set<Session> = new Set();
  #tokens: TokenTable | null;
  #loopbackOnly: boolean;
  #trustedProxies: ReadonlySet<string>;
  // The page sends frames with one click: another site must not frame it
  // (clickjacking). Pages of allowed origins may, as they may connect.
  #framing: Record<string, string>;
  #nextId = 1;
  #closing = false;
  #log: Logger = getLogger(["canremote", "server"]);
  #context: SessionContext;

  constructor(options: BridgeOptions) {
    const {
      backend,
      maxClients,
      maxPending,
      maxAuthFailures,
      authFailureWindow,
      tokens,
      allowOrigins,
      hostname,
      trustedProxies,
      ...limits
    } = options;
    this.backend = backend;
    this.maxClients = maxClients ?? 256;
    this.maxPending = maxPending ?? 128;
    this.authFailures = new AuthFailures({
      maxFailures: maxAuthFailures,
      window: authFailureWindow,
    });
    this.limits = { ...DEFAULT_LIMITS, ...dropUndefined(limits) };
    this.#tokens = tokens ?? null;
    this.allowOrigins = Object.freeze([...(allowOrigins ?? [])]);
    this.#loopbackOnly = hostname !== undefined && isLoopback(hostname);
    this.#trustedProxies = new Set((trustedProxies ?? []).map(checkProxy));
    this.#framing = framingHeaders(this.allowOrigins);
    this.#context = {
      backend,
      limits: this.limits,
      log: this.#log,
      tokens: () => this.#tokens,
      onClosed: (s) => {
        this.sessions.delete(s);
        this.#pending.delete(s);
        this.#admitted.delete(s);
      },
      admit: (s) => this.#admit(s),
    };
  }

  // DNS rebinding only matters for a loopback server without tokens: the page
  // would reach the bus with nothing to prove. Hosts of allowed origins pass
  // (a reverse proxy on the same machine that keeps the Host header).
  #hostAllowed(url: URL): boolean {
    if (isLoopback(url.hostname) || this.allowOrigins.includes("*")) return true;
    return this.allowOrigins.some((origin) => {
      try {
        return new URL(origin).host === url.host;
      } catch {
        return false;
      }
    });
  }

  /** The tokens in force, or `null` when the server requires none. */
  get tokens(): TokenTable | null {
    return this.#tokens;
  }

  /**
   * Replaces the tokens (a reloaded tokens file). Connected clients whose
   * token was removed are closed with 4401, those whose token no longer opens
   * their channel with 4403; a changed role applies to their next message.
   */
  setTokens(tokens: TokenTable): void {
    this.#tokens = tokens;
    for (const session of this.sessions) session.regrant(tokens);
  }

  /** Answers one HTTP request. */
  fetch = (request: Request, info?: Deno.ServeHandlerInfo): Response => {
    const url = new URL(request.url);
    const upgrade = isWebSocketUpgrade(request);
    if (!upgrade && url.pathname !== "/api/channels") return this.#serveAsset(request, url);
    if (!upgrade && request.method !== "GET" && request.method !== "HEAD") {
      return text(405, `Method ${request.method} not allowed`);
    }
    // Read now: Deno's getter throws once the request has been upgraded.
    const client = clientAddress(netAddr(info), request.headers, this.#trustedProxies);
    const address = client.label;
    const key = addressKey(client.host);
    const refuse = (status: number, body: string, headers: Record<string, string> = {}) => {
      this.#log.info("Refused a WebSocket request from {address} with {status}: {reason}", {
        address,
        status,
        reason: logText(body), // it may quote the request's Origin or headers
      });
      return text(status, body, headers);
    };
    const wait = this.authFailures.blockedFor(key);
    if (wait > 0) {
      // Debug only: a blocked address knocking on must not flood the log.
      const seconds = String(Math.ceil(wait / 1000));
      this.#log.debug("Refused a request from {address} with 429 for {seconds} s", {
        address,
        seconds,
      });
      return text(429, `Too many failed access attempts; try again in ${seconds} s`, {
        "retry-after": seconds,
      });
    }
    const failed = (why: string) => {
      const count = this.authFailures.record(key);
      this.#log.info("Failed access attempt {count} from {address}: {why}", {
        count,
        address,
        why: logText(why),
      });
      if (count === this.authFailures.maxFailures) {
        this.#log.warn(
          "{address} made {count} failed access attempts: refused with 429 for {seconds} s",
          { address: key, count, seconds: Math.ceil(this.authFailures.window / 1000) },
        );
      }
    };
    if (!upgrade) return this.#channelList(request, failed);
    if (this.#loopbackOnly && this.#tokens === null && !this.#hostAllowed(url)) {
      return refuse(
        403,
        `Host ${
          JSON.stringify(url.host)
        } is not served: this server listens on loopback only (DNS rebinding protection)`,
      );
    }
    const badOrigin = originRefusal(request, this.allowOrigins);
    if (badOrigin) return refuse(403, badOrigin);
    const presented = presentedToken(request);
    if (presented.error) return refuse(400, presented.error);
    // A header token is refused with an HTTP status. A subprotocol token comes
    // from a browser, which never sees the status of a refused upgrade (nor
    // does Deno's client over wss://): it gets the close code 4401 or 4403
    // right after the upgrade instead, still before any bus_request is read.
    let grant: Grant | undefined;
    let refusal: [number, string] | undefined;
    if (presented.token !== undefined && this.#tokens) {
      grant = this.#tokens.lookup(presented.token);
      if (!grant) failed(`wrong token (${presented.via})`);
      if (!grant && presented.via === "header") {
        return refuse(401, "Invalid access token", {
          "www-authenticate": 'Bearer realm="canremote", error="invalid_token"',
        });
      }
      if (!grant) refusal = [CloseCode.UNAUTHORIZED, "Invalid access token"];
    }
    const channel = channelForPath(url.pathname, this.backend.channels);
    if (channel === undefined) {
      return text(
        404,
        `No channel "${decodeSafe(url.pathname.slice(1))}" here; channels: ${
          this.backend.channels.join(", ")
        }`,
      );
    }
    if (grant && !allowsChannel(grant, channel)) {
      const reason = `The access token does not open channel "${channel}"`;
      failed(`${grant.label} for channel ${channel} (${presented.via})`);
      if (presented.via === "header") return refuse(403, reason);
      refusal = [CloseCode.FORBIDDEN, reason];
    }
    const offered = request.headers.get("sec-websocket-protocol");
    const negotiated = negotiateProtocol(offered);
    if (!negotiated) {
      // The offer, without a token entry (canremote.token.*) it may carry.
      const shown = (offered ?? "").split(",").map((p) => p.trim())
        .filter((p) => !p.startsWith(TOKEN_PROTOCOL_PREFIX)).join(", ");
      return text(
        400,
        `Unsupported WebSocket subprotocol ${
          JSON.stringify(shown.slice(0, 100))
        }: offer can.binary+json.v1 or can.json.v1`,
      );
    }
    if (this.#closing) return text(503, "The server is shutting down");
    // Nobody could be admitted now, pending or not: say so before upgrading.
    if (this.#admitted.size >= this.maxClients) {
      return refuse(503, `The server is at its limit of ${this.maxClients} clients`);
    }
    // Without a valid token in the upgrade (or, on a server without tokens,
    // until its bus_request) a connection is pending: it counts towards
    // maxPending, not maxClients, so token-less connections cannot crowd out
    // clients that have one.
    const pending = grant === undefined;
    if (pending && this.#pending.size >= this.maxPending) {
      return refuse(
        503,
        `The server is at its limit of ${this.maxPending} connections waiting for a bus_request`,
      );
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
    if (refusal) {
      const [code, reason] = refusal;
      this.#log.info("Refused a WebSocket request from {address} with {status}: {reason}", {
        address,
        status: code,
        reason: logText(reason),
      });
      socket.onerror = () => {};
      socket.onopen = () => socket.close(code, truncateCloseReason(reason));
      return response;
    }
    const id = this.#nextId++;
    this.#log.info("Client {id} connected from {address} to channel {channel} ({protocol})", {
      id,
      address,
      channel,
      protocol: negotiated.protocol,
    });
    if (grant) {
      this.#log.info("Client {id} authenticated by {label} ({role})", {
        id,
        label: grant.label,
        role: grant.role,
      });
    }
    const session = new Session(
      id,
      socket,
      negotiated.protocol,
      channel,
      {
        ...this.#context,
        authFailed: () => failed(`client ${id}: refused token in its bus_request`),
      },
      grant,
      presented.token,
    );
    this.sessions.add(session);
    (pending ? this.#pending : this.#admitted).add(session);
    return response;
  };

  /** Connections upgraded and waiting to be admitted (`maxPending` applies). */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Clients admitted (`maxClients` applies). */
  get admittedCount(): number {
    return this.#admitted.size;
  }

  // A pending session showed its token (or sent its bus_request): it becomes
  // a client, unless the server filled up meanwhile.
  #admit(session: Session): string | undefined {
    if (!this.#pending.delete(session)) return undefined;
    if (this.#admitted.size >= this.maxClients) {
      this.#log.info("Client {id} refused: the server is at its limit of {max} clients", {
        id: session.id,
        max: this.maxClients,
      });
      return `The server is at its limit of ${this.maxClients} clients; try again later`;
    }
    this.#admitted.add(session);
    return undefined;
  }

  #serveAsset(request: Request, url: URL): Response {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return text(405, `Method ${request.method} not allowed`);
    }
    const asset = ASSETS.get(url.pathname);
    if (!asset) return text(404, `Not found: ${url.pathname}`);
    return new Response(request.method === "HEAD" ? null : asset.body, {
      headers: { "content-type": asset.type, "cache-control": "no-cache", ...this.#framing },
    });
  }

  // What the web page needs to offer a channel picker and estimate bus load.
  // With tokens it takes a valid one (Authorization: Bearer) and lists only
  // the channels that token opens; without, it says only that one is needed.
  #channelList(request: Request, failed: (why: string) => void): Response {
    let grant: Grant | undefined;
    if (this.#tokens) {
      const header = request.headers.get("authorization");
      const token = header === null ? undefined : /^Bearer +(\S+) *$/i.exec(header)?.[1];
      grant = token === undefined ? undefined : this.#tokens.lookup(token);
      if (!grant) {
        // A missing token guesses nothing (the page asks without one first).
        if (token !== undefined) failed("wrong token (GET /api/channels)");
        return Response.json({ tokenRequired: true }, {
          status: 401,
          headers: {
            "cache-control": "no-store",
            "www-authenticate": token === undefined
              ? 'Bearer realm="canremote"'
              : 'Bearer realm="canremote", error="invalid_token"',
          },
        });
      }
    }
    const channels = this.backend.channels.flatMap((name, i) =>
      grant && !allowsChannel(grant, name) ? [] : [{
        name,
        path: i === 0 ? "/" : `/${encodeURIComponent(name)}`,
        bitrate: this.limits.bitrate ?? null,
      }]
    );
    return Response.json(
      {
        interface: this.backend.interfaceName,
        channels,
        clients: this.#admitted.size,
        tokenRequired: this.#tokens !== null,
      },
      { headers: { "cache-control": "no-store" } },
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

function text(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(body + "\n", {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...headers },
  });
}

function netAddr(info: Deno.ServeHandlerInfo | undefined): Deno.NetAddr | undefined {
  try {
    const addr = info?.remoteAddr as Deno.NetAddr | undefined;
    return addr && "hostname" in addr ? addr : undefined;
  } catch {
    return undefined; // a request that is already gone
  }
}

function framingHeaders(allowOrigins: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = { "x-content-type-options": "nosniff" };
  if (allowOrigins.includes("*")) return headers;
  headers["content-security-policy"] = ["frame-ancestors 'self'", ...allowOrigins].join(" ");
  // For browsers without CSP level 2; it cannot name other origins.
  if (allowOrigins.length === 0) headers["x-frame-options"] = "SAMEORIGIN";
  return headers;
}

function checkProxy(address: string): string {
  if (typeof address !== "string") {
    throw new TypeError(`A trusted proxy must be an IP address string, got ${typeof address}`);
  }
  const ip = normalizeIp(address);
  if (!isIp(ip)) {
    throw new RangeError(`A trusted proxy must be an IP address, got ${JSON.stringify(address)}`);
  }
  return ip;
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
