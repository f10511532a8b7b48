// One client connection, from its upgrade to its close: its socket, its
// state, and what leaves it. The stages are elsewhere: bus_request.ts waits
// for the bus_request and opens the bus, client_events.ts routes what the
// client sends then; transmit.ts (client → bus), periodic_tasks.ts and
// forward.ts (bus → client) are the paths; client_access.ts holds its grant
// and client_log.ts keeps its text and tokens in check on the way to the log.
import type { SessionStats } from "./stats.ts";
import type { Logger } from "@logtape/logtape";
import type { Bus } from "../../core/bus.ts";
import type { CanEvent } from "../../core/events.ts";
import { encodeEvent } from "../../core/codec.ts";
import { CloseCode, truncateCloseReason } from "../../core/protocol.ts";
import type { Backend } from "../backends/backend.ts";
import type { Limits } from "../limits.ts";
import type { Grant, Role, TokenTable } from "../access/auth.ts";
import { Transmitter } from "./transmit.ts";
import { PeriodicTasks } from "./periodic_tasks.ts";
import { Forwarder } from "./forward.ts";
import { ClientLog } from "./client_log.ts";
import { ClientAccess } from "./client_access.ts";
import { BusRequest, type ClientData } from "./bus_request.ts";
import { ClientEvents } from "./client_events.ts";
import { BusHealthEvents } from "./bus_health_events.ts";
import { SendLosses } from "./send_losses.ts";
import { utf8Length } from "../utf8_length.ts";
import { closeText } from "./close_text.ts";

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

export type { SessionStats } from "./stats.ts";

/**
 * One client connection, from its upgrade to its close: a
 * {@linkcode BusRequest} reads the `bus_request`, admits the client and
 * opens its bus, then {@linkcode ClientEvents} routes what the client sends
 * to the transmit path or its periodic tasks, while a {@linkcode Forwarder}
 * relays the bus's frames to it.
 *
 * @example A server of one session (../http/bridge.ts makes one for every accepted upgrade)
 * ```ts
 * import { Session } from "./session.ts";
 * import { VirtualBackend } from "../backends/backend.ts";
 * import { DEFAULT_LIMITS } from "../limits.ts";
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
    notSent: 0,
  };
  #socket: WebSocket;
  #limits: Limits;
  #log: Logger;
  #clientLog: ClientLog;
  #access: ClientAccess;
  #transmitter: Transmitter;
  #tasks: PeriodicTasks;
  #forwarder: Forwarder;
  #request: BusRequest;
  // Set once the bus is open, with #bus.
  #events: ClientEvents | undefined;
  #bus: Bus | undefined;
  #backend: Backend;
  #health: BusHealthEvents | undefined;
  #losses: SendLosses;
  // "waiting" until the bus is open (the BusRequest tells its stages apart).
  #state: "waiting" | "open" | "closed" = "waiting";
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
    const limits = this.#limits = context.limits;
    const log = this.#log = context.log;
    this.#onClosed = context.onClosed;
    this.#backend = context.backend;
    const clientLog = this.#clientLog = new ClientLog(id, log, () => context.tokens(), presented);
    this.#access = new ClientAccess({
      id,
      channel,
      log,
      clientLog,
      tokens: () => context.tokens(),
      failed: () => context.authFailed?.(this),
    }, grant);
    const sendError = (message: string) => this.#sendError(message);
    this.#losses = new SendLosses({ id, channel, log, stats: this.stats, sendError });
    this.#transmitter = new Transmitter(limits, this.stats, sendError, this.#losses);
    this.#tasks = new PeriodicTasks(limits, this.#transmitter, sendError);
    this.#forwarder = new Forwarder({
      id,
      socket,
      protocol,
      limits,
      stats: this.stats,
      log,
      sendEvent: (event) => this.#sendEvent(event),
      sendError,
    });
    this.#request = new BusRequest({
      id,
      channel,
      backend: context.backend,
      limits,
      log,
      clientLog,
      access: this.#access,
      admit: () => context.admit?.(this),
      close: (code, reason) => this.close(code, reason),
      opened: (bus, batches, queued, busState) => this.#opened(bus, batches, queued, busState),
    });
    this.finished = new Promise((resolve) => this.#finish = resolve);
    socket.binaryType = "arraybuffer";
    socket.onmessage = (event) => this.#onMessage(event.data);
    socket.onclose = (event) => {
      clientLog.flushReports();
      log.info("Client {id} disconnected ({how})", { id, how: closeText(event.code) });
      this.#release();
    };
    socket.onerror = () => {}; // the close event follows and releases everything
    socket.onopen = () => this.#request.start();
  }

  /** What this client may do: `rw` unless its token is read-only. */
  get role(): Role {
    return this.#access.role;
  }

  /** Where its token came from (`--token 1`, `tokens.txt:3`), if it has one. */
  get tokenLabel(): string | undefined {
    return this.#access.label;
  }

  /**
   * Applies a reloaded token table: a client whose token was removed is
   * closed with 4401, one whose token no longer opens its channel with 4403;
   * a changed role applies from now on.
   */
  regrant(tokens: TokenTable | null): void {
    if (this.#state === "closed") return;
    const refusal = this.#access.regrant(tokens);
    if (refusal) this.close(...refusal);
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
    this.#request.cancel();
    this.#forwarder.close();
    this.#transmitter.close();
    this.#health?.close();
    this.#losses.close();
    this.#tasks.clear();
    const bus = this.#bus;
    (bus ? bus.close() : Promise.resolve()).finally(() => {
      this.#onClosed(this);
      this.#finish();
    });
  }

  #opened(bus: Bus, batches: boolean, queued: ClientData[], busState = false): void {
    this.#bus = bus;
    const events = this.#events = new ClientEvents({
      bus,
      access: this.#access,
      transmitter: this.#transmitter,
      tasks: this.#tasks,
      clientLog: this.#clientLog,
      sendError: (message) => this.#sendError(message),
    });
    this.#state = "open";
    this.#sendEvent({ type: "bus_response", channelInfo: bus.channelInfo });
    this.#log.info("Client {id} opened {info}", { id: this.id, info: bus.channelInfo });
    if (batches) this.#forwarder.batches = true;
    this.#health = new BusHealthEvents({
      id: this.id,
      channel: this.channel,
      backend: this.#backend,
      bus,
      busState,
      stats: this.stats,
      log: this.#log,
      sendEvent: (event) => this.#sendEvent(event),
      sendError: (message) => this.#sendError(message),
    });
    this.#forwarder.pump(bus);
    for (const data of queued) this.#handleSafely(events, data);
  }

  // A bug of ours or a backend's must cost this message, not the server.
  #handleSafely(events: ClientEvents, data: ClientData): void {
    try {
      events.handle(data);
    } catch (error) {
      this.#log.error("Client {id}: handling a message failed: {error}", { id: this.id, error });
      this.#sendError(
        `The server could not handle the message: ${(error as Error)?.message ?? error}`,
      );
    }
  }

  #sendEvent(event: CanEvent): void {
    if (this.#socket.readyState !== WebSocket.OPEN) return;
    this.#forwarder.flush(); // keep frames and events in order
    this.#socket.send(encodeEvent(event, this.protocol));
  }

  #sendError(message: string): void {
    this.stats.errors++;
    this.#log.debug("Client {id}: {message}", {
      id: this.id,
      message: this.#clientLog.safe(message),
    });
    // A client that provokes errors and reads nothing must not grow our memory.
    if (this.#socket.bufferedAmount > this.#limits.maxBufferedBytes) return;
    this.#sendEvent({ type: "error", message });
  }

  #onMessage(data: ClientData): void {
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
        return this.#request.receive(data, size);
      case "open":
        return this.#handleSafely(this.#events!, data);
    }
  }
}
