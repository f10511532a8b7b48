// What one client hears about its channel's health: `bus_state` events when
// its config asked for them (at once, on every change of state, at most once
// a second while only counters move); for every client, an `error` event when
// the link is down as it connects (later, its bus says so: ENETDOWN), and `dropped` notices for frames
// lost before they reached it: controller overruns (rx_over_errors,
// rx_fifo_errors) and its own socket's overruns (SO_RXQ_OVFL).
import type { Logger } from "@logtape/logtape";
import type { Bus } from "../../core/bus.ts";
import type { BusHealth } from "../../core/bus_health.ts";
import type { CanEvent } from "../../core/events.ts";
import type { Backend } from "../backends/backend.ts";
import type { SessionStats } from "./stats.ts";

/** Shortest interval between two `bus_state` events about counters only, in ms. */
export const COUNTERS_INTERVAL_MS = 1000;
/** How often the client's socket is checked for kernel drops, in ms. */
const DROP_CHECK_MS = 1000;

/** What {@linkcode BusHealthEvents} needs from its session. */
export interface BusHealthEventsOptions {
  id: number;
  channel: string;
  backend: Backend;
  bus: Bus;
  /** The client asked for `bus_state` events. */
  busState: boolean;
  stats: SessionStats;
  log: Logger;
  sendEvent(event: CanEvent): void;
  sendError(message: string): void;
}

/**
 * Tells one client about its channel's health until closed.
 *
 * @example A client of the virtual bus that asked for bus_state gets one report
 * ```ts
 * import { BusHealthEvents } from "./bus_health_events.ts";
 * import { VirtualBackend } from "../backends/backend.ts";
 * import { getLogger } from "@logtape/logtape";
 * const backend = new VirtualBackend();
 * await using bus = await backend.open("0", {});
 * const events: unknown[] = [];
 * const stats = { received: 0, sent: 0, dropped: 0, rateLimited: 0, errors: 0 };
 * const reporter = new BusHealthEvents({
 *   id: 1, channel: "0", backend, bus, busState: true, stats, log: getLogger("example"),
 *   sendEvent: (e) => events.push(e), sendError: () => {},
 * });
 * reporter.close();
 * if (events.length !== 1) throw new Error(); // state null: the virtual bus has no controller
 * ```
 */
export class BusHealthEvents {
  #options: BusHealthEventsOptions;
  #unsubscribe: () => void = () => {};
  #timer: ReturnType<typeof setTimeout> | undefined;
  #dropTimer: ReturnType<typeof setInterval> | undefined;
  #lastSent = -Infinity;
  #overruns: number;
  #socketDropped: number;
  #closed = false;

  /** Sends the current health (if asked) and starts following it. */
  constructor(options: BusHealthEventsOptions) {
    this.#options = options;
    const { backend, channel, bus } = options;
    const health = backend.health?.(channel);
    this.#overruns = health?.stats?.rxOverruns ?? 0;
    this.#socketDropped = droppedOf(bus);
    if (options.busState) this.#send(health);
    // Later, the bus itself reports the link going down (ENETDOWN).
    if (health?.state === "down") {
      options.sendError(
        `"${channel}" is down: frames sent now are lost and none arrive until the server's operator brings it up`,
      );
    }
    if (backend.watchHealth) {
      this.#unsubscribe = backend.watchHealth(channel, (h, change) => this.#changed(h, change));
    }
    if (droppedOf(bus) >= 0) this.#dropTimer = setInterval(() => this.#checkDrops(), DROP_CHECK_MS);
  }

  /** Stops the reports. */
  close(): void {
    this.#closed = true;
    this.#unsubscribe();
    clearTimeout(this.#timer);
    clearInterval(this.#dropTimer);
  }

  #changed(health: BusHealth, change: "state" | "counters"): void {
    if (this.#closed) return;
    const overruns = health.stats?.rxOverruns ?? 0;
    if (overruns > this.#overruns) this.#dropped(overruns - this.#overruns, "controller overrun");
    this.#overruns = overruns;
    if (!this.#options.busState) return;
    const wait = this.#lastSent + COUNTERS_INTERVAL_MS - performance.now();
    if (change === "state" || wait <= 0) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#send(health);
    } else {
      this.#timer ??= setTimeout(() => {
        this.#timer = undefined;
        this.#send(this.#options.backend.health?.(this.#options.channel));
      }, wait);
    }
  }

  #send(health: BusHealth | undefined): void {
    if (this.#closed) return;
    this.#lastSent = performance.now();
    this.#options.sendEvent({
      type: "bus_state",
      health: health ?? {
        state: null,
        bitrate: null,
        samplePoint: null,
        dataBitrate: null,
        errorCounters: null,
        stats: null,
      },
    });
  }

  #checkDrops(): void {
    const dropped = droppedOf(this.#options.bus);
    if (dropped > this.#socketDropped) {
      this.#dropped(dropped - this.#socketDropped, "receive buffer overrun");
    }
    this.#socketDropped = dropped;
  }

  #dropped(count: number, why: string): void {
    const { stats, log, id, channel } = this.#options;
    stats.dropped += count;
    log.info("Client {id}: {count} frames lost on {channel} ({why})", { id, count, channel, why });
    this.#options.sendEvent({ type: "dropped", count, total: stats.dropped });
  }
}

// The frames a bus lost before they were queued (SocketCanBus.dropped), or -1.
function droppedOf(bus: Bus): number {
  const dropped = (bus as { dropped?: unknown }).dropped;
  return typeof dropped === "number" ? dropped : -1;
}
