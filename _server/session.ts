// One client connection: waits for its bus_request, checks its access token
// if the upgrade carried none, opens its own bus instance, then relays frames
// both ways and runs its periodic tasks, within its role and limits. The
// paths themselves are in transmit.ts (client → bus), periodic_tasks.ts and
// forward.ts (bus → client); a session routes events to them.
import type { Logger } from "@logtape/logtape";
import type { Bus } from "../bus.ts";
import type { CanEvent } from "../events.ts";
import { decodeEvent, encodeEvent } from "../codec.ts";
import { CloseCode, truncateCloseReason } from "../protocol.ts";
import type { Backend } from "./backend.ts";
import { parseBusConfig, redactConfig } from "./bus_config.ts";
import type { Limits } from "./limits.ts";
import { allowsChannel, type Grant, type Role, type TokenTable } from "./auth.ts";
import { Transmitter } from "./transmit.ts";
import { PeriodicTasks } from "./periodic_tasks.ts";
import { Forwarder } from "./forward.ts";
import { LogBudget, logText } from "./log_text.ts";

/** What a session needs from its server. */
export interface SessionContext {
  backend: Backend;
  limits: Limits;
  log: Logger;
  /** The tokens in force now, or `null` when the server requires none. */
  tokens(): TokenTable | null;
  /** Called once the session has released its bus. */
  onClosed(session: Session): void;
  /**
   * Called once the client has shown its access (a valid token in its
   * `bus_request`, or any `bus_request` on a server without tokens), before
   * its bus is opened.
   * @returns Why it cannot be admitted now (closed with 1013), or `undefined`.
   */
  admit?(session: Session): string | undefined;
  /** Called when the token in the client's `bus_request` was refused. */
  authFailed?(session: Session): void;
}

/** Counters a session exposes for logs and the benchmark. */
export interface SessionStats {
  /** Frames from the client accepted for the bus. */
  received: number;
  /** Frames sent to the client. */
  sent: number;
  /** Frames dropped for the client because it read too slowly. */
  dropped: number;
  /** Frames from the client dropped over its transmit rate. */
  rateLimited: number;
  /** Error events for the client. */
  errors: number;
}

/**
 * One client connection, from its upgrade to its close: it reads the
 * `bus_request`, admits the client, opens its bus, and routes what the
 * client sends to the transmit path or its periodic tasks, while a
 * {@linkcode Forwarder} relays the bus's frames to it.
 *
 * @example A server of one session (bridge.ts makes one for every accepted upgrade)
 * ```ts
 * import { Session } from "./session.ts";
 * import { VirtualBackend } from "./backend.ts";
 * import { DEFAULT_LIMITS } from "./limits.ts";
 * import { getLogger } from "@logtape/logtape";
 * const context = {
 *   backend: new VirtualBackend(),
 *   limits: DEFAULT_LIMITS,
 *   log: getLogger("example"),
 *   tokens: () => null,
 *   onClosed: () => {},
 * };
 * let session: Session | undefined;
 * await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
 *   const { socket, response } = Deno.upgradeWebSocket(request, { protocol: "can.json.v1" });
 *   session = new Session(1, socket, "can.json.v1", "0", context);
 *   return response;
 * });
 * const client = new WebSocket(`ws://127.0.0.1:${server.addr.port}/`, ["can.json.v1"]);
 * client.onopen = () => client.send('{"type": "bus_request", "payload": {"config": {}}}');
 * const answer = await new Promise((resolve) => client.onmessage = (event) => resolve(event.data));
 * if (answer !== '{"type": "bus_response", "payload": {"channel_info": "virtual channel 0"}}') {
 *   throw new Error(String(answer));
 * }
 * client.close();
 * await session!.finished;
 * ```
 */
export class Session {
  readonly id: number;
  readonly channel: string;
  readonly protocol: string;
  readonly stats: SessionStats = {
    received: 0,
    sent: 0,
    dropped: 0,
    rateLimited: 0,
    errors: 0,
  };
  #socket: WebSocket;
  #backend: Backend;
  #limits: Limits;
  #log: Logger;
  #context: SessionContext;
  #grant: Grant | undefined;
  // Tokens this client presented, valid or not: cut from anything logged.
  #presented: string[] = [];
  // The error events a client reports are logged at warning level: a few a minute.
  #reportBudget = new LogBudget(5, 60_000);
  #transmitter: Transmitter;
  #tasks: PeriodicTasks;
  #forwarder: Forwarder;
  #bus: Bus | undefined;
  #state: "waiting" | "opening" | "open" | "closed" = "waiting";
  #inbox: (string | ArrayBuffer)[] = [];
  #requestTimer: ReturnType<typeof setTimeout> | undefined;
  #onClosed: (session: Session) => void;
  /** Resolves when the session has released its bus. */
  readonly finished: Promise<void>;
  #finish!: () => void;

  /**
   * @param grant What the token of the upgrade request allows; `undefined`
   *   when it carried none (the `bus_request` config may then carry one).
   * @param presented The token the upgrade carried, kept out of logs.
   */
  constructor(
    id: number,
    socket: WebSocket,
    protocol: string,
    channel: string,
    context: SessionContext,
    grant?: Grant,
    presented?: string,
  ) {
    this.id = id;
    this.#socket = socket;
    this.protocol = protocol;
    this.channel = channel;
    this.#context = context;
    this.#backend = context.backend;
    const limits = this.#limits = context.limits;
    this.#log = context.log;
    this.#onClosed = context.onClosed;
    this.#grant = grant;
    if (presented !== undefined) this.#presented.push(presented);
    const sendError = (message: string) => this.#sendError(message);
    this.#transmitter = new Transmitter(limits, this.stats, sendError);
    this.#tasks = new PeriodicTasks(limits, this.#transmitter, sendError);
    this.#forwarder = new Forwarder({
      id,
      socket,
      protocol,
      limits,
      stats: this.stats,
      log: this.#log,
      sendEvent: (event) => this.#sendEvent(event),
      sendError,
    });
    this.finished = new Promise((resolve) => this.#finish = resolve);
    socket.binaryType = "arraybuffer";
    socket.onmessage = (event) => this.#onMessage(event.data);
    socket.onclose = (event) => {
      this.#logSuppressedReports();
      this.#log.info("Client {id} disconnected ({code})", { id, code: event.code });
      this.#release();
    };
    socket.onerror = () => {}; // the close event follows and releases everything
    socket.onopen = () => {
      this.#requestTimer = setTimeout(() => {
        this.close(CloseCode.REQUEST_TIMEOUT, "No bus_request received in time");
      }, limits.requestTimeout);
    };
  }

  /** What this client may do: `rw` unless its token is read-only. */
  get role(): Role {
    return this.#grant?.role ?? "rw";
  }

  /** Where its token came from (`--token 1`, `tokens.txt:3`), if it has one. */
  get tokenLabel(): string | undefined {
    return this.#grant?.label;
  }

  /**
   * Applies a reloaded token table: a client whose token was removed is
   * closed with 4401, one whose token no longer opens its channel with 4403;
   * a changed role applies from now on.
   */
  regrant(tokens: TokenTable | null): void {
    if (!this.#grant || this.#state === "closed") return;
    if (tokens === null) return;
    const grant = tokens.regrant(this.#grant);
    if (!grant) return this.close(CloseCode.UNAUTHORIZED, "The access token was revoked");
    if (!allowsChannel(grant, this.channel)) {
      return this.close(
        CloseCode.FORBIDDEN,
        `The access token no longer opens channel "${this.channel}"`,
      );
    }
    this.#grant = grant;
  }

  /** Closes the connection with a code and a reason (cut to 123 bytes). */
  close(code: number, reason: string): void {
    if (this.#socket.readyState <= WebSocket.OPEN) {
      this.#forwarder.flush(); // frames held for a batch go out before the close
      const socket = this.#socket;
      const text = truncateCloseReason(reason);
      // Deno 2.9 writes no close frame when close() is called while it hands
      // out one of several messages that arrived together; a task later it does.
      setTimeout(() => {
        try {
          socket.close(code, text);
        } catch {
          // already closing
        }
      }, 0);
    }
    this.#release();
  }

  #release(): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    clearTimeout(this.#requestTimer);
    this.#forwarder.close();
    this.#transmitter.close();
    this.#tasks.clear();
    const bus = this.#bus;
    (bus ? bus.close() : Promise.resolve()).finally(() => {
      this.#onClosed(this);
      this.#finish();
    });
  }

  #sendEvent(event: CanEvent): void {
    if (this.#socket.readyState !== WebSocket.OPEN) return;
    this.#forwarder.flush(); // keep frames and events in order
    this.#socket.send(encodeEvent(event, this.protocol));
  }

  #sendError(message: string): void {
    this.stats.errors++;
    this.#log.debug("Client {id}: {message}", { id: this.id, message: this.#logSafe(message) });
    // A client that provokes errors and reads nothing must not grow our memory.
    if (this.#socket.bufferedAmount > this.#limits.maxBufferedBytes) return;
    this.#sendEvent({ type: "error", message });
  }

  // Error texts can quote what a client sent: never let a token through to a log.
  #redact(text: string): string {
    return this.#context.tokens()?.redact(text, this.#presented) ??
      (this.#presented.length ? text.split(this.#presented[0]).join("[token]") : text);
  }

  // Client-chosen text for one log line: no tokens, no control characters, bounded.
  #logSafe(text: string, max?: number): string {
    return logText(this.#redact(text), max);
  }

  #logSuppressedReports(): void {
    const left = this.#reportBudget.flush();
    if (left) {
      this.#log.warn("Client {id}: {count} more reported errors were not logged", {
        id: this.id,
        count: left,
      });
    }
  }

  #onMessage(data: string | ArrayBuffer): void {
    // The limits count bytes; a text is at most 3 UTF-8 bytes per UTF-16 unit,
    // so a short one needs no counting (the hot path).
    const size = typeof data !== "string"
      ? data.byteLength
      : data.length * 3 <= this.#limits.maxMessageSize && this.#state === "open"
      ? data.length
      : utf8Length(data);
    if (size > this.#limits.maxMessageSize) {
      return this.close(
        CloseCode.MESSAGE_TOO_BIG,
        `Message of ${size} bytes exceeds the limit of ${this.#limits.maxMessageSize}`,
      );
    }
    switch (this.#state) {
      case "waiting":
        if (size > this.#limits.maxConfigSize) {
          return this.close(
            CloseCode.MESSAGE_TOO_BIG,
            `bus_request of ${size} bytes exceeds the limit of ${this.#limits.maxConfigSize}`,
          );
        }
        this.#onRequest(data);
        return;
      case "opening":
        if (this.#inbox.length >= this.#limits.maxPendingInput) {
          return this.close(CloseCode.POLICY_VIOLATION, "Too many messages before bus_response");
        }
        this.#inbox.push(data);
        return;
      case "open":
        try {
          return this.#handle(data);
        } catch (error) {
          // A bug of ours or a backend's must cost this message, not the server.
          this.#log.error("Client {id}: handling a message failed: {error}", {
            id: this.id,
            error,
          });
          return this.#sendError(
            `The server could not handle the message: ${(error as Error)?.message ?? error}`,
          );
        }
    }
  }

  #decode(data: string | ArrayBuffer): CanEvent | undefined {
    try {
      return decodeEvent(typeof data === "string" ? data : new Uint8Array(data));
    } catch (error) {
      this.#sendError(`Invalid message: ${(error as Error).message}`);
      return undefined;
    }
  }

  async #onRequest(data: string | ArrayBuffer): Promise<void> {
    clearTimeout(this.#requestTimer);
    let event: CanEvent;
    try {
      event = decodeEvent(typeof data === "string" ? data : new Uint8Array(data));
    } catch (error) {
      return this.close(
        CloseCode.PROTOCOL_ERROR,
        `Invalid bus_request: ${(error as Error).message}`,
      );
    }
    if (event.type !== "bus_request") {
      return this.close(
        CloseCode.PROTOCOL_ERROR,
        `Expected a bus_request first, got ${event.type}`,
      );
    }
    if (!this.#authorize(event.config)) return;
    const full = this.#context.admit?.(this);
    if (full !== undefined) return this.close(CloseCode.TRY_AGAIN_LATER, full);
    this.#log.debug("Client {id} config {config}", {
      id: this.id,
      // Values and even key names could hold a token: redact the whole text.
      config: this.#logSafe(JSON.stringify(redactConfig(event.config)) ?? "", 2000),
    });
    let parsed;
    try {
      parsed = parseBusConfig(event.config, {
        interfaceName: this.#backend.interfaceName,
        channel: this.channel,
        bitrate: this.#limits.bitrate,
      });
    } catch (error) {
      return this.close(
        CloseCode.BAD_CONFIG,
        `Invalid bus_request config: ${(error as Error).message}`,
      );
    }
    if (parsed.ignored.length) {
      this.#log.debug("Client {id}: ignoring config keys {keys}", {
        id: this.id,
        keys: this.#logSafe(parsed.ignored.join(", ")),
      });
    }
    this.#state = "opening";
    try {
      this.#bus = await this.#backend.open(this.channel, parsed.options);
    } catch (error) {
      this.#log.warn("Client {id}: cannot open the bus: {error}", { id: this.id, error });
      return this.close(CloseCode.BUS_ERROR, `Cannot open the bus: ${(error as Error).message}`);
    }
    if (this.#state !== "opening") { // the client left while the bus opened
      await this.#bus.close();
      return;
    }
    this.#state = "open";
    this.#sendEvent({ type: "bus_response", channelInfo: this.#bus.channelInfo });
    this.#log.info("Client {id} opened {info}", { id: this.id, info: this.#bus.channelInfo });
    if (parsed.batches) this.#forwarder.batches = true;
    this.#forwarder.pump(this.#bus);
    for (const queued of this.#inbox.splice(0)) this.#handle(queued);
  }

  // A server with tokens admits a client whose upgrade carried none by the
  // `token` of its config (python-can-remote's client sends keyword arguments
  // there), before any bus is opened.
  #authorize(config: unknown): boolean {
    const tokens = this.#context.tokens();
    if (tokens === null || this.#grant) return true;
    const token = config !== null && typeof config === "object"
      ? (config as Record<string, unknown>).token
      : undefined;
    if (token === undefined || token === null) {
      this.close(
        CloseCode.UNAUTHORIZED,
        "This server requires an access token (token=... in the config, or a Bearer header)",
      );
      return false;
    }
    if (typeof token !== "string") {
      this.#context.authFailed?.(this);
      this.close(CloseCode.UNAUTHORIZED, "The access token must be a string");
      return false;
    }
    this.#presented.push(token);
    const grant = tokens.lookup(token);
    if (!grant) {
      this.#context.authFailed?.(this);
      this.#log.info("Client {id}: wrong access token", { id: this.id });
      this.close(CloseCode.UNAUTHORIZED, "Invalid access token");
      return false;
    }
    if (!allowsChannel(grant, this.channel)) {
      this.#context.authFailed?.(this);
      this.#log.info("Client {id}: {label} does not open channel {channel}", {
        id: this.id,
        label: grant.label,
        channel: this.channel,
      });
      this.close(
        CloseCode.FORBIDDEN,
        `The access token does not open channel "${this.channel}"`,
      );
      return false;
    }
    this.#grant = grant;
    this.#log.info("Client {id} authenticated by {label} ({role})", {
      id: this.id,
      label: grant.label,
      role: grant.role,
    });
    return true;
  }

  #handle(data: string | ArrayBuffer): void {
    const event = this.#decode(data);
    if (!event) return;
    switch (event.type) {
      case "message":
        if (this.role === "ro") return this.#sendError("read-only client: cannot send frames");
        return this.#transmitter.send(this.#bus!, event.frame);
      case "periodic_start":
        if (this.role === "ro") {
          return this.#sendError("read-only client: cannot start periodic tasks");
        }
        return this.#tasks.start(this.#bus!, event.frame, event.period, event.duration);
      case "periodic_stop":
        return this.#tasks.stop(event.arbitrationId);
      case "set_filters":
        try {
          return this.#bus!.setFilters(event.filters);
        } catch (error) {
          // e.g. a kernel that refuses the filter list: the old filters stay
          return this.#sendError(`Cannot set the filters: ${(error as Error).message}`);
        }
      case "bus_request":
        return this.#sendError(
          "The bus is already open; bus_request is only for the first message",
        );
      case "error":
        if (!this.#reportBudget.take()) return;
        this.#logSuppressedReports();
        this.#log.warn("Client {id} reported: {message}", {
          id: this.id,
          message: this.#logSafe(event.message),
        });
        return;
      default:
        return this.#sendError(`A client cannot send ${event.type} events`);
    }
  }
}

// A text's size in UTF-8 bytes (a lone surrogate counts 3, as its U+FFFD would).
function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 2; // the pair's two units make one 4-byte character
        i++;
      } else bytes += 2;
    } else bytes += 2;
  }
  return bytes;
}
