// The request handler of a canremote server, independent of any socket:
// tests call fetch() with a Request, server.ts puts it behind Deno.serve. It
// routes each request (the page's files, /api/channels, /api/dbc, WebSocket upgrades)
// and ties together what decides them: serve_asset.ts, channel_list.ts,
// upgrade_gate.ts, admission.ts, and access_attempt.ts for the failed-attempt
// limit. A session (../session/session.ts) takes every accepted upgrade.
import { getLogger, type Logger } from "@logtape/logtape";
import { CloseCode, truncateCloseReason } from "../../core/protocol.ts";
import type { Backend } from "../backends/backend.ts";
import { isWebSocketUpgrade } from "./handshake.ts";
import type { Limits } from "../limits.ts";
import { Session, type SessionContext } from "../session/session.ts";
import type { TokenTable } from "../access/auth.ts";
import { AuthFailures } from "../access/auth_failures.ts";
import { clientAddress } from "../access/client_address.ts";
import { type BridgeOptions, limitsWithDefaults, trustedProxySet } from "./bridge_options.ts";
import { AccessAttempt, peerAddress } from "../access/access_attempt.ts";
import { Admission } from "./admission.ts";
import { channelList } from "./channel_list.ts";
import { type DbcFile, dbcList } from "./dbc_list.ts";
import { plainText } from "./plain_text.ts";
import { framingHeaders, serveAsset } from "./serve_asset.ts";
import { UpgradeGate, type UpgradeTicket } from "./upgrade_gate.ts";

export type { BridgeOptions } from "./bridge_options.ts";

/**
 * Turns an accepted upgrade request into a WebSocket: by default
 * `Deno.upgradeWebSocket`; the node:http listener (node_listener.ts) writes
 * the 101 itself and gives a {@linkcode WsSocket}. `protocol` is the
 * subprotocol to name in the 101, if any.
 * @throws {TypeError} For a request that cannot be upgraded (answered 400).
 */
export type Upgrader = (
  request: Request,
  protocol: string | undefined,
) => { socket: WebSocket; response: Response };

const denoUpgrade: Upgrader = (request, protocol) => {
  // Deno's own protocol option throws on "a,b" lists (what python-can-remote
  // and the ws package send), so the header is set on the response instead.
  const upgraded = Deno.upgradeWebSocket(request);
  if (protocol !== undefined) upgraded.response.headers.set("sec-websocket-protocol", protocol);
  return upgraded;
};

/** Routes HTTP requests: WebSocket upgrades to sessions, GETs to the web page. */
export class CanBridge {
  readonly backend: Backend;
  readonly limits: Limits;
  readonly maxClients: number;
  readonly maxPending: number;
  readonly allowOrigins: readonly string[];
  /** DBC files offered at `/api/dbc`. */
  readonly dbcFiles: readonly DbcFile[];
  /** Every connection with a session: pending, admitted, and those being closed. */
  readonly sessions: Set<Session> = new Set();
  /** Failed access attempts per remote address. */
  readonly authFailures: AuthFailures;
  #admission: Admission<Session>;
  #gate: UpgradeGate;
  #tokens: TokenTable | null;
  #trustedProxies: ReadonlySet<string>;
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
      dbcFiles,
      ...limits
    } = options;
    this.dbcFiles = Object.freeze([...(dbcFiles ?? [])]);
    this.backend = backend;
    this.maxClients = maxClients ?? 256;
    this.maxPending = maxPending ?? 128;
    this.authFailures = new AuthFailures({
      maxFailures: maxAuthFailures,
      window: authFailureWindow,
    });
    this.limits = limitsWithDefaults(limits);
    this.#tokens = tokens ?? null;
    this.allowOrigins = Object.freeze([...(allowOrigins ?? [])]);
    this.#admission = new Admission(this.maxClients, this.maxPending, this.#log);
    this.#gate = new UpgradeGate({ backend, allowOrigins: this.allowOrigins, hostname });
    this.#trustedProxies = trustedProxySet(trustedProxies);
    this.#framing = framingHeaders(this.allowOrigins);
    this.#context = {
      backend,
      limits: this.limits,
      log: this.#log,
      tokens: () => this.#tokens,
      onClosed: (s) => {
        this.sessions.delete(s);
        this.#admission.remove(s);
      },
      admit: (s) => this.#admission.admit(s),
    };
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

  /**
   * Answers one HTTP request; an accepted WebSocket upgrade goes through
   * `upgrader` (by default `Deno.upgradeWebSocket`).
   */
  fetch = (
    request: Request,
    info?: Deno.ServeHandlerInfo,
    upgrader: Upgrader = denoUpgrade,
  ): Response => {
    const url = new URL(request.url);
    const upgrade = isWebSocketUpgrade(request);
    if (!upgrade && url.pathname !== "/api/channels" && url.pathname !== "/api/dbc") {
      return serveAsset(request, url, this.#framing);
    }
    if (!upgrade && request.method !== "GET" && request.method !== "HEAD") {
      return plainText(405, `Method ${request.method} not allowed`);
    }
    // Read now: Deno's getter throws once the request has been upgraded.
    const client = clientAddress(peerAddress(info), request.headers, this.#trustedProxies);
    const attempt = new AccessAttempt(client, this.authFailures, this.#log);
    const blocked = attempt.blocked();
    if (blocked) return blocked;
    if (!upgrade && url.pathname === "/api/dbc") {
      return dbcList(request, this.dbcFiles, this.#tokens, attempt);
    }
    if (!upgrade) {
      return channelList(request, {
        backend: this.backend,
        tokens: this.#tokens,
        bitrate: this.limits.bitrate,
        clients: this.#admission.admittedCount,
      }, attempt);
    }
    const ticket = this.#gate.check(request, url, this.#tokens, attempt);
    if (ticket instanceof Response) return ticket;
    if (this.#closing) return plainText(503, "The server is shutting down");
    const full = this.#admission.refusal(ticket.grant === undefined);
    if (full !== undefined) return attempt.refuse(503, full);
    return this.#accept(request, ticket, attempt, upgrader);
  };

  /** Connections upgraded and waiting to be admitted (`maxPending` applies). */
  get pendingCount(): number {
    return this.#admission.pendingCount;
  }

  /** Clients admitted (`maxClients` applies). */
  get admittedCount(): number {
    return this.#admission.admittedCount;
  }

  /** Closes every session with 1001 and waits until their buses are released. */
  async close(): Promise<void> {
    this.#closing = true;
    const sessions = [...this.sessions];
    for (const session of sessions) session.close(CloseCode.GOING_AWAY, "Server shutting down");
    await Promise.all(sessions.map((s) => s.finished));
  }

  // Upgrades a request that passed the gate and found a place: a session
  // takes it, or it is closed at once with the ticket's refusal.
  #accept(
    request: Request,
    ticket: UpgradeTicket,
    attempt: AccessAttempt,
    upgrade: Upgrader,
  ): Response {
    const { channel, protocol, grant } = ticket;
    let upgraded;
    try {
      upgraded = upgrade(request, ticket.echo ? protocol : undefined);
    } catch (error) {
      return plainText(400, `Bad WebSocket upgrade: ${(error as Error).message}`);
    }
    const { socket, response } = upgraded;
    if (ticket.refusal) {
      const [code, reason] = ticket.refusal;
      attempt.logRefusal(code, reason);
      socket.onerror = () => {};
      socket.onopen = () => socket.close(code, truncateCloseReason(reason));
      return response;
    }
    const id = this.#nextId++;
    this.#log.info("Client {id} connected from {address} to channel {channel} ({protocol})", {
      id,
      address: attempt.address,
      channel,
      protocol,
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
      protocol,
      channel,
      {
        ...this.#context,
        authFailed: () => attempt.failed(`client ${id}: refused token in its bus_request`),
      },
      grant,
      ticket.token,
    );
    this.sessions.add(session);
    this.#admission.add(session, grant === undefined);
    return response;
  }
}
