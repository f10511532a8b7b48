/**
 * The health of a CAN channel as a server reports it: the controller state,
 * bit timing, error counters and statistics. The same object is what
 * `GET /api/channels` lists per channel, what a `bus_state` event carries and
 * what `RemoteBus.busState` holds (PROTOCOL.md, "bus_state").
 *
 * @module
 */

import type { CanFrame } from "./frame.ts";

/**
 * A controller's fault confinement state (ISO 11898-1), `stopped` when the
 * controller is not running although its link is up, `down` when the link is down.
 */
export type BusState =
  | "error-active"
  | "error-warning"
  | "error-passive"
  | "bus-off"
  | "stopped"
  | "down";

/** Controller statistics: the driver's counters, or counted from error frames where it has none. */
export interface BusStats {
  /** Bus errors (protocol violations). */
  busErrors: number;
  /** Changes to error-warning. */
  errorWarning: number;
  /** Changes to error-passive. */
  errorPassive: number;
  /** Changes to bus-off. */
  busOff: number;
  /** Arbitration lost. */
  arbitrationLost: number;
  /** Restarts after bus-off. */
  restarts: number;
  /** Frames the controller lost because its receive buffer was full (`rx_over_errors` + `rx_fifo_errors`). */
  rxOverruns: number;
  /** Frames the interface dropped on transmit (`tx_dropped`). */
  txDropped: number;
}

/** What is known about a channel's bus. */
export interface BusHealth {
  /** The state; `null` where there is no controller (the virtual bus). */
  state: BusState | null;
  /** Nominal bit rate in bit/s, or `null` when unknown (vcan, the virtual bus). */
  bitrate: number | null;
  /** Sample point as a fraction such as 0.875, or `null`. */
  samplePoint: number | null;
  /** CAN FD data-phase bit rate, or `null`. */
  dataBitrate: number | null;
  /** Transmit and receive error counters, or `null` when unknown. */
  errorCounters: { tx: number; rx: number } | null;
  /** The statistics, or `null` when there are none (the virtual bus). */
  stats: BusStats | null;
}

/** The health of a bus nothing is known about (the virtual bus). */
export const UNKNOWN_HEALTH: Readonly<BusHealth> = Object.freeze({
  state: null,
  bitrate: null,
  samplePoint: null,
  dataBitrate: null,
  errorCounters: null,
  stats: null,
});

/**
 * All-zero {@linkcode BusStats}.
 *
 * @returns A new object.
 * @example
 * ```ts
 * import { zeroStats } from "./bus_health.ts";
 * if (zeroStats().busOff !== 0) throw new Error();
 * ```
 */
export function zeroStats(): BusStats {
  return {
    busErrors: 0,
    errorWarning: 0,
    errorPassive: 0,
    busOff: 0,
    arbitrationLost: 0,
    restarts: 0,
    rxOverruns: 0,
    txDropped: 0,
  };
}

/**
 * How bad a state is, for badges: 0 fine, 1 warning, 2 passive, 3 not on the bus.
 *
 * @param state The state.
 * @returns The severity, or `null` for an unknown state.
 * @example
 * ```ts
 * import { severity } from "./bus_health.ts";
 * if (severity("bus-off")! <= severity("error-warning")!) throw new Error();
 * ```
 */
export function severity(state: BusState | null): number | null {
  switch (state) {
    case "error-active":
      return 0;
    case "error-warning":
      return 1;
    case "error-passive":
      return 2;
    case "bus-off":
    case "stopped":
    case "down":
      return 3;
    default:
      return null;
  }
}

/**
 * Follows a controller's error frames (`linux/can/error.h`): the warning and
 * passive levels of `CAN_ERR_CRTL`, `CAN_ERR_BUSOFF`, `CAN_ERR_RESTARTED` and
 * the counters in data[6..7]. Where the driver has no statistics of its own
 * (`countStats`), the frames are counted too.
 *
 * @param health The health before the frame.
 * @param frame A frame; anything but an error frame leaves the health as it is.
 * @param countStats Count bus errors, transitions and overruns from the frames.
 * @returns The health after the frame (a new object when something changed).
 * @example cansend vcan0 20000004#0010 puts the bus in error-passive
 * ```ts
 * import { applyErrorFrame, UNKNOWN_HEALTH, zeroStats } from "./bus_health.ts";
 * import { createFrame } from "./frame.ts";
 * const before = { ...UNKNOWN_HEALTH, state: "error-active" as const, stats: zeroStats() };
 * const frame = createFrame({ arbitrationId: 0x4, isErrorFrame: true, data: [0, 0x10, 0, 0, 0, 0, 0, 0] });
 * const after = applyErrorFrame(before, frame, true);
 * if (after.state !== "error-passive" || after.stats!.errorPassive !== 1) throw new Error();
 * ```
 */
export function applyErrorFrame(
  health: BusHealth,
  frame: CanFrame,
  countStats: boolean,
): BusHealth {
  if (!frame.isErrorFrame) return health;
  const cls = frame.arbitrationId & 0x1fffffff;
  const d = (i: number) => frame.data[i] ?? 0;
  let state = health.state;
  const stats = health.stats ? { ...health.stats } : zeroStats();
  const to = (next: BusState) => {
    if (next === state) return;
    if (next === "error-warning") stats.errorWarning++;
    if (next === "error-passive") stats.errorPassive++;
    if (next === "bus-off") stats.busOff++;
    state = next;
  };
  if (cls & 0x4) { // CAN_ERR_CRTL
    const c = d(1);
    if (c & 0x30) to("error-passive");
    else if (c & 0x0c) to("error-warning");
    else if (c & 0x40) to("error-active");
    if (c & 0x01) stats.rxOverruns++;
  }
  if (cls & 0x2) stats.arbitrationLost++; // CAN_ERR_LOSTARB
  if (cls & 0x88) stats.busErrors++; // CAN_ERR_PROT | CAN_ERR_BUSERROR
  if (cls & 0x40) to("bus-off"); // CAN_ERR_BUSOFF
  if (cls & 0x100) { // CAN_ERR_RESTARTED
    to("error-active");
    stats.restarts++;
  }
  const counters = cls & 0x200 || d(6) || d(7) ? { tx: d(6), rx: d(7) } : health.errorCounters;
  return {
    ...health,
    state,
    errorCounters: counters,
    stats: countStats ? stats : health.stats,
  };
}

/**
 * Whether two health reports differ, and how: `"state"` when the state
 * changed (reported at once), `"counters"` when only numbers moved (reported
 * at most once a second), `undefined` when nothing changed.
 *
 * @param a One report.
 * @param b The other.
 * @returns The kind of difference.
 * @example
 * ```ts
 * import { healthChange, UNKNOWN_HEALTH } from "./bus_health.ts";
 * if (healthChange(UNKNOWN_HEALTH, { ...UNKNOWN_HEALTH, state: "down" }) !== "state") throw new Error();
 * ```
 */
export function healthChange(a: BusHealth, b: BusHealth): "state" | "counters" | undefined {
  if (a.state !== b.state) return "state";
  return JSON.stringify(a) === JSON.stringify(b) ? undefined : "counters";
}
