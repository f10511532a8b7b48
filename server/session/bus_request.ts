// A connection before its bus is open: it has `requestTimeout` to send its
// bus_request, which must fit `maxConfigSize`, carry a valid token if the
// upgrade did not, find a free place among the clients and a config the
// backend can open. What the client sends while the bus opens is kept, up
// to `maxPendingInput` messages, for the open bus to handle in order.
import type { Logger } from "@logtape/logtape";
import type { Bus } from "../../core/bus.ts";
import type { CanEvent } from "../../core/events.ts";
import { decodeEvent } from "../../core/codec.ts";
import { CloseCode } from "../../core/protocol.ts";
import type { Backend } from "../backends/backend.ts";
import { parseBusConfig, redactConfig } from "./bus_config.ts";
import type { Limits } from "../limits.ts";
import type { ClientAccess } from "./client_access.ts";
import type { ClientLog } from "./client_log.ts";

/** A message from the client as its socket hands it over. */
export type ClientData = string | ArrayBuffer | Uint8Array;

/** What a {@linkcode BusRequest} needs from its session. */
export interface BusRequestOptions {
  /** The session's id, for logs. */
  id: number;
  /** The channel the client connected to. */
  channel: string;
  /** Opens the client's bus. */
  backend: Backend;
  /** `requestTimeout`, `maxConfigSize`, `maxPendingInput` and `bitrate` apply. */
  limits: Limits;
  /** The server's logger. */
  log: Logger;
  /** Makes the client's config fit for the log. */
  clientLog: ClientLog;
  /** Checks the token in the config. */
  access: ClientAccess;
  /** Admits the client: `undefined`, or why the server cannot take it now (closed with 1013). */
  admit(): string | undefined;
  /** Closes the connection. */
  close(code: number, reason: string): void;
  /**
   * Takes the open bus.
   * @param bus The client's bus.
   * @param batches Whether the client takes message batches.
   * @param queued What the client sent while the bus opened, in order.
   * @param busState Whether the client takes `bus_state` events.
   */
  opened(bus: Bus, batches: boolean, queued: ClientData[], busState?: boolean): void;
}

/**
 * The wait for a client's `bus_request`, and the opening of its bus.
 *
 * @example A bus_request opens a bus; a frame sent meanwhile waits for it
 * ```ts
 * import { BusRequest } from "./bus_request.ts";
 * import { ClientAccess } from "./client_access.ts";
 * import { ClientLog } from "./client_log.ts";
 * import { VirtualBackend } from "../backends/backend.ts";
 * import { DEFAULT_LIMITS } from "../limits.ts";
 * import { getLogger } from "@logtape/logtape";
 * const log = getLogger("example");
 * const clientLog = new ClientLog(1, log, () => null);
 * const access = new ClientAccess({
 *   id: 1, channel: "0", log, clientLog, tokens: () => null, failed: () => {},
 * });
 * const { promise, resolve } = Promise.withResolvers<number>();
 * const request = new BusRequest({
 *   id: 1, channel: "0", backend: new VirtualBackend(), limits: DEFAULT_LIMITS, log, clientLog,
 *   access, admit: () => undefined, close: (code) => resolve(code),
 *   opened: async (bus, _batches, queued) => {
 *     await bus.close();
 *     resolve(queued.length);
 *   },
 * });
 * const config = '{"type": "bus_request", "payload": {"config": {}}}';
 * request.receive(config, config.length);
 * const early = '{"type": "message", "payload": {"arbitration_id": 1, "data": []}}';
 * request.receive(early, early.length);
 * if (await promise !== 1) throw new Error("one message queued");
 * ```
 */
export class BusRequest {
  #options: BusRequestOptions;
  #stage: "waiting" | "opening" | "done" = "waiting";
  #timer: ReturnType<typeof setTimeout> | undefined;
  #inbox: ClientData[] = [];

  /** @param options What the session provides. */
  constructor(options: BusRequestOptions) {
    this.#options = options;
  }

  /** Starts the `requestTimeout` (close 4408 without a `bus_request`); called once the socket opens. */
  start(): void {
    if (this.#stage === "done") return; // closed before the socket opened
    this.#timer = setTimeout(() => {
      this.#options.close(CloseCode.REQUEST_TIMEOUT, "No bus_request received in time");
    }, this.#options.limits.requestTimeout);
  }

  /** Ends the wait: the session closed. A bus that opens after this is closed at once. */
  cancel(): void {
    this.#stage = "done";
    clearTimeout(this.#timer);
  }

  /**
   * Takes a message from the client: the first is its `bus_request`, those
   * after it wait until the bus is open.
   *
   * @param data The message.
   * @param size Its size in bytes (exact up to `maxConfigSize`), already within `maxMessageSize`.
   */
  receive(data: ClientData, size: number): void {
    const { limits } = this.#options;
    switch (this.#stage) {
      case "waiting":
        if (size > limits.maxConfigSize) {
          return this.#options.close(
            CloseCode.MESSAGE_TOO_BIG,
            `bus_request of ${size} bytes exceeds the limit of ${limits.maxConfigSize}`,
          );
        }
        this.#onRequest(data);
        return;
      case "opening":
        if (this.#inbox.length >= limits.maxPendingInput) {
          return this.#options.close(
            CloseCode.POLICY_VIOLATION,
            "Too many messages before bus_response",
          );
        }
        this.#inbox.push(data);
        return;
    }
  }

  async #onRequest(data: ClientData): Promise<void> {
    const { id, channel, backend, limits, log, clientLog } = this.#options;
    const close = (code: number, reason: string) => this.#options.close(code, reason);
    clearTimeout(this.#timer);
    let event: CanEvent;
    try {
      event = decodeEvent(
        typeof data === "string" || data instanceof Uint8Array ? data : new Uint8Array(data),
      );
    } catch (error) {
      return close(CloseCode.PROTOCOL_ERROR, `Invalid bus_request: ${(error as Error).message}`);
    }
    if (event.type !== "bus_request") {
      return close(CloseCode.PROTOCOL_ERROR, `Expected a bus_request first, got ${event.type}`);
    }
    const refusal = this.#options.access.authorize(event.config);
    if (refusal) return close(...refusal);
    const full = this.#options.admit();
    if (full !== undefined) return close(CloseCode.TRY_AGAIN_LATER, full);
    log.debug("Client {id} config {config}", {
      id,
      // Values and even key names could hold a token: redact the whole text.
      config: clientLog.safe(JSON.stringify(redactConfig(event.config)) ?? "", 2000),
    });
    let parsed;
    try {
      parsed = parseBusConfig(event.config, {
        interfaceName: backend.interfaceName,
        channel,
        bitrate: limits.bitrate,
      });
    } catch (error) {
      return close(CloseCode.BAD_CONFIG, `Invalid bus_request config: ${(error as Error).message}`);
    }
    if (parsed.notes.length) {
      log.info("Client {id}: {notes}", { id, notes: parsed.notes.join("; ") });
    }
    if (parsed.ignored.length) {
      log.debug("Client {id}: ignoring config keys {keys}", {
        id,
        keys: clientLog.safe(parsed.ignored.join(", ")),
      });
    }
    this.#stage = "opening";
    let bus: Bus;
    try {
      bus = await backend.open(channel, parsed.options);
    } catch (error) {
      log.warn("Client {id}: cannot open the bus: {error}", { id, error });
      return close(CloseCode.BUS_ERROR, `Cannot open the bus: ${(error as Error).message}`);
    }
    if (this.#stage !== "opening") { // the client left while the bus opened
      await bus.close();
      return;
    }
    this.#stage = "done";
    this.#options.opened(bus, parsed.batches, this.#inbox.splice(0), parsed.busState);
  }
}
