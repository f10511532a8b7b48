// What a client sends once its bus is open, each event to its path: frames
// to the transmit path, periodic tasks to theirs, filters to the bus, its
// error reports to the log. This is the hot path of a sending client: a
// frame costs its decoding and direct calls, no closures, no promises.
import type { Bus } from "../../core/bus.ts";
import type { CanEvent } from "../../core/events.ts";
import { decodeEvent } from "../../core/codec.ts";
import type { ClientAccess } from "./client_access.ts";
import type { ClientLog } from "./client_log.ts";
import type { ClientData } from "./bus_request.ts";
import type { Transmitter } from "./transmit.ts";
import type { PeriodicTasks } from "./periodic_tasks.ts";

/** What {@linkcode ClientEvents} needs from its session. */
export interface ClientEventsOptions {
  /** The client's open bus. */
  bus: Bus;
  /** The client's role, read for every frame (a reload can change it). */
  access: ClientAccess;
  /** The transmit path. */
  transmitter: Transmitter;
  /** The periodic tasks. */
  tasks: PeriodicTasks;
  /** Logs the error events the client reports. */
  clientLog: ClientLog;
  /** Tells the client why something was refused. */
  sendError: (message: string) => void;
}

/**
 * Routes the events of a client whose bus is open. What it cannot take is
 * answered with an `error` event.
 *
 * @example A read-only client's frame is refused
 * ```ts
 * import { ClientEvents } from "./client_events.ts";
 * import { ClientAccess } from "./client_access.ts";
 * import { ClientLog } from "./client_log.ts";
 * import { TokenTable } from "../access/auth.ts";
 * import { Transmitter } from "./transmit.ts";
 * import { PeriodicTasks } from "./periodic_tasks.ts";
 * import { DEFAULT_LIMITS } from "../limits.ts";
 * import { VirtualBus } from "../../core/virtual_bus.ts";
 * import { getLogger } from "@logtape/logtape";
 * const log = getLogger("example");
 * const clientLog = new ClientLog(1, log, () => null);
 * const viewer = new TokenTable([{ token: "viewer-41bb0d93aa", role: "ro" }]).lookup("viewer-41bb0d93aa");
 * const access = new ClientAccess(
 *   { id: 1, channel: "0", log, clientLog, tokens: () => null, failed: () => {} },
 *   viewer,
 * );
 * const errors: string[] = [];
 * const sendError = (message: string) => errors.push(message);
 * const stats = { received: 0, sent: 0, dropped: 0, rateLimited: 0, errors: 0 };
 * const transmitter = new Transmitter(DEFAULT_LIMITS, stats, sendError);
 * const tasks = new PeriodicTasks(DEFAULT_LIMITS, transmitter, sendError);
 * await using bus = VirtualBus.open({ channel: "example" });
 * const events = new ClientEvents({ bus, access, transmitter, tasks, clientLog, sendError });
 * events.handle('{"type": "message", "payload": {"arbitration_id": 1, "data": []}}');
 * if (errors[0] !== "read-only client: cannot send frames") throw new Error(errors[0]);
 * transmitter.close();
 * ```
 */
export class ClientEvents {
  #bus: Bus;
  #access: ClientAccess;
  #transmitter: Transmitter;
  #tasks: PeriodicTasks;
  #clientLog: ClientLog;
  #sendError: (message: string) => void;

  /** @param options The session's bus and paths. */
  constructor(options: ClientEventsOptions) {
    this.#bus = options.bus;
    this.#access = options.access;
    this.#transmitter = options.transmitter;
    this.#tasks = options.tasks;
    this.#clientLog = options.clientLog;
    this.#sendError = options.sendError;
  }

  /**
   * Handles one message from the client.
   *
   * @param data The message, within the size limits.
   */
  handle(data: ClientData): void {
    const event = this.#decode(data);
    if (!event) return;
    switch (event.type) {
      case "message":
        if (this.#access.role === "ro") {
          return this.#sendError("read-only client: cannot send frames");
        }
        return this.#transmitter.send(this.#bus, event.frame);
      case "periodic_start":
        if (this.#access.role === "ro") {
          return this.#sendError("read-only client: cannot start periodic tasks");
        }
        return this.#tasks.start(this.#bus, event.frame, event.period, event.duration);
      case "periodic_stop":
        return this.#tasks.stop(event.arbitrationId);
      case "set_filters":
        try {
          return this.#bus.setFilters(event.filters);
        } catch (error) {
          // e.g. a kernel that refuses the filter list: the old filters stay
          return this.#sendError(`Cannot set the filters: ${(error as Error).message}`);
        }
      case "bus_request":
        return this.#sendError(
          "The bus is already open; bus_request is only for the first message",
        );
      case "error":
        return this.#clientLog.report(event.message);
      default:
        return this.#sendError(`A client cannot send ${event.type} events`);
    }
  }

  #decode(data: ClientData): CanEvent | undefined {
    try {
      return decodeEvent(
        typeof data === "string" || data instanceof Uint8Array ? data : new Uint8Array(data),
      );
    } catch (error) {
      this.#sendError(`Invalid message: ${(error as Error).message}`);
      return undefined;
    }
  }
}
