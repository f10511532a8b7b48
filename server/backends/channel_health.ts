// Watches one SocketCAN channel's health for the server: the link's state,
// bit timing, error counters and statistics over rtnetlink, polled, and its
// error frames on a socket of its own, so that a state change shows at once
// and a vcan (no controller, no netlink state) still has one. It warns the
// operator when the link is down or bus-off, with the command that fixes it.
import type { Logger } from "@logtape/logtape";
import {
  applyErrorFrame,
  type BusHealth,
  type BusState,
  healthChange,
  UNKNOWN_HEALTH,
  zeroStats,
} from "../../core/bus_health.ts";
import type { CanFrame } from "../../core/frame.ts";
import { BusClosedError, CanError } from "../../core/errors.ts";
import { getLink, type LinkStatus } from "../../ffi/rtnetlink.ts";
import { SocketCanBus } from "../../ffi/socketcan_bus.ts";

/** How often the link is read, in ms: a link going down shows within this time. */
export const HEALTH_POLL_MS = 250;

/** Called with the new health and what changed. */
export type HealthListener = (health: BusHealth, change: "state" | "counters") => void;

/** Options of {@linkcode ChannelHealth.start}. */
export interface ChannelHealthOptions {
  /** Where warnings go. */
  log: Logger;
  /** The bit rate to name in the fix for a down link. @default {500000} */
  bitrate?: number;
  /** Poll interval in ms. @default {HEALTH_POLL_MS} */
  pollMs?: number;
}

const NAMES: Record<string, BusState> = {
  ERROR_ACTIVE: "error-active",
  ERROR_WARNING: "error-warning",
  ERROR_PASSIVE: "error-passive",
  BUS_OFF: "bus-off",
  STOPPED: "stopped",
  SLEEPING: "stopped",
};

// Matches no data frame (one extended id with a full mask); error frames pass
// every filter on a raw socket whose error mask is CAN_ERR_MASK.
const ERROR_FRAMES_ONLY = [{ canId: 0x1fffffff, canMask: 0x1fffffff, extended: true }];

/** The live health of one SocketCAN channel. */
export class ChannelHealth {
  readonly channel: string;
  #health: BusHealth = UNKNOWN_HEALTH;
  #frameState: BusHealth; // what the error frames say (the only source on vcan)
  #controller = false; // the link is a CAN controller with netlink state
  #listeners = new Set<HealthListener>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #errors: SocketCanBus | undefined;
  #log: Logger;
  #bitrate: number;
  #closed = false;
  #pump: Promise<void> = Promise.resolve();

  private constructor(channel: string, options: ChannelHealthOptions) {
    this.channel = channel;
    this.#log = options.log;
    this.#bitrate = options.bitrate ?? 500000;
    this.#frameState = { ...UNKNOWN_HEALTH, state: "error-active", stats: zeroStats() };
  }

  /**
   * Reads the link once (warning when it is down) and keeps watching it.
   *
   * @param channel The interface.
   * @param options Logger, poll interval, the bit rate to suggest.
   * @returns The watcher; `close()` stops it.
   * @throws {CanError} When the link cannot be read (no such interface).
   */
  static async start(channel: string, options: ChannelHealthOptions): Promise<ChannelHealth> {
    const watcher = new ChannelHealth(channel, options);
    watcher.#update(getLink(channel));
    try {
      watcher.#errors = await SocketCanBus.open({ channel, canFilters: ERROR_FRAMES_ONLY });
      watcher.#pump = watcher.#readErrors(watcher.#errors);
    } catch (error) {
      // Without a socket (no CAN_RAW in the kernel) netlink alone tells the state.
      options.log.debug("No error-frame socket on {channel}: {error}", { channel, error });
    }
    watcher.#timer = setInterval(() => watcher.#poll(), options.pollMs ?? HEALTH_POLL_MS);
    return watcher;
  }

  /** The latest health. */
  get health(): BusHealth {
    return this.#health;
  }

  /**
   * Calls `listener` on every change until the returned function is called.
   *
   * @param listener Gets the new health and whether the state or only counters changed.
   * @returns Unsubscribes.
   */
  subscribe(listener: HealthListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Stops watching; resolves once the error-frame socket is closed. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#listeners.clear();
    await this.#errors?.close();
    await this.#pump;
  }

  #poll(): void {
    try {
      this.#update(getLink(this.channel));
    } catch (error) {
      if (error instanceof CanError && error.code === "ENODEV") this.#update(undefined);
      else this.#log.debug("Cannot read {channel}: {error}", { channel: this.channel, error });
    }
  }

  async #readErrors(bus: SocketCanBus): Promise<void> {
    while (!this.#closed) {
      let frame: CanFrame;
      try {
        frame = await bus.receive();
      } catch (error) {
        if (error instanceof BusClosedError) return;
        continue; // ENETDOWN and friends: the poll reports the link
      }
      if (!frame.isErrorFrame) continue;
      this.#frameState = applyErrorFrame(this.#frameState, frame, !this.#controller);
      // A controller's own state is read at once rather than at the next poll.
      if (this.#controller) this.#poll();
      else this.#set(this.#merge(this.#lastLink));
    }
  }

  #lastLink: LinkStatus | undefined;

  #update(link: LinkStatus | undefined): void {
    // A vcan that comes back up starts afresh, as a controller does.
    if (link?.up && !this.#lastLink?.up && this.#frameState.state !== "error-active") {
      this.#frameState = { ...this.#frameState, state: "error-active", errorCounters: null };
    }
    this.#lastLink = link;
    this.#set(this.#merge(link));
  }

  // Netlink where the driver has it, the error frames where it has not.
  #merge(link: LinkStatus | undefined): BusHealth {
    if (!link || !link.up) {
      return {
        ...(link ? this.#fromLink(link) : UNKNOWN_HEALTH),
        state: "down",
      };
    }
    if (link.kind === "can" && link.state !== null) {
      this.#controller = true;
      return this.#fromLink(link);
    }
    const frames = this.#frameState;
    return {
      ...this.#fromLink(link),
      state: frames.state,
      errorCounters: frames.errorCounters,
      stats: {
        ...frames.stats!,
        rxOverruns: frames.stats!.rxOverruns + (link.stats?.rxOverErrors ?? 0) +
          (link.stats?.rxFifoErrors ?? 0),
        txDropped: link.stats?.txDropped ?? 0,
      },
    };
  }

  #fromLink(link: LinkStatus): BusHealth {
    const d = link.deviceStats;
    return {
      state: link.state === null ? null : NAMES[link.state] ?? "stopped",
      bitrate: link.bitrate,
      samplePoint: link.samplePoint,
      dataBitrate: link.dataBitrate,
      errorCounters: link.berr,
      stats: {
        busErrors: d?.busError ?? 0,
        errorWarning: d?.errorWarning ?? 0,
        errorPassive: d?.errorPassive ?? 0,
        busOff: d?.busOff ?? 0,
        arbitrationLost: d?.arbitrationLost ?? 0,
        restarts: d?.restarts ?? 0,
        rxOverruns: (link.stats?.rxOverErrors ?? 0) + (link.stats?.rxFifoErrors ?? 0),
        txDropped: link.stats?.txDropped ?? 0,
      },
    };
  }

  #set(next: BusHealth): void {
    const before = this.#health;
    const change = healthChange(before, next);
    if (!change) return;
    this.#health = next;
    if (change === "state") this.#warn(before.state, next);
    for (const listener of this.#listeners) listener(next, change);
  }

  #warn(before: BusState | null, next: BusHealth): void {
    const channel = this.channel;
    const controller = this.#controller || this.#lastLink?.kind === "can";
    if (next.state === "down") {
      const fix = controller
        ? `sudo ip link set ${channel} up type can bitrate ${next.bitrate ?? this.#bitrate}`
        : `sudo ip link set ${channel} up`;
      this.#log.warn(
        "{channel} is down: frames sent to it are lost and none arrive until it is up. Bring it up: {fix} (or start the server with --bitrate)",
        { channel, fix },
      );
    } else if (next.state === "bus-off") {
      this.#log.warn(
        "{channel} is bus-off: it neither sends nor receives. Restart it: sudo ip link set {channel} type can restart (or automatically: --restart-ms 100)",
        { channel },
      );
    } else if (before === "down" || before === "bus-off" || before === null) {
      if (before !== null) {
        this.#log.info("{channel} is back: {state}", { channel, state: next.state });
      }
    } else if (next.state === "error-passive" || next.state === "error-warning") {
      this.#log.warn("{channel} is {state} (error counters tx {tx}, rx {rx})", {
        channel,
        state: next.state,
        tx: next.errorCounters?.tx ?? "?",
        rx: next.errorCounters?.rx ?? "?",
      });
    }
  }
}
