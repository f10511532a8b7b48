/**
 * The page's bus health card: the channel's controller state as a badge
 * coloured by severity, the bit rate, the error counters and the controller
 * statistics, from the server's `bus_state` reports (`RemoteBus.busState`).
 *
 * @module
 */

import type { BusHealth } from "../core/bus_health.ts";
import { severity } from "../core/bus_health.ts";
import { byId, setText } from "./_dom.ts";
import { formatCount } from "./format.ts";

/** The badge's words for a state; `null` is a bus without a controller. */
export function stateLabel(state: BusHealth["state"] | undefined): string {
  if (state === undefined) return "unknown";
  return state === null ? "no controller" : state;
}

function rate(bps: number | null): string {
  if (bps === null) return "\u2013";
  return bps >= 1e6 ? `${bps / 1e6} Mbit/s` : `${bps / 1e3} kbit/s`;
}

/** Fills the health card (ids `hl-*` in index.html). */
export class HealthPanel {
  #badge = byId("hl-state");
  #bitrate = byId("hl-bitrate");
  #counters = byId("hl-counters");
  #busErrors = byId("hl-bus-errors");
  #transitions = byId("hl-transitions");
  #overruns = byId("hl-overruns");
  #txDropped = byId("hl-tx-dropped");
  #state: BusHealth["state"] | undefined;

  /** The state last shown; `undefined` before any report. */
  get state(): BusHealth["state"] | undefined {
    return this.#state;
  }

  /**
   * Shows a report, or clears the card.
   *
   * @param health The latest report; `null` before the first (or from a server without bus_state).
   */
  update(health: BusHealth | null): void {
    const state = health?.state;
    this.#state = health ? state : undefined;
    setText(this.#badge, stateLabel(health ? state : undefined));
    this.#badge.dataset.severity = String(health ? severity(state ?? null) ?? "none" : "none");
    let bitrate = rate(health?.bitrate ?? null);
    if (health?.samplePoint) bitrate += ` @ ${(health.samplePoint * 100).toFixed(1)} %`;
    if (health?.dataBitrate) bitrate += `, data ${rate(health.dataBitrate)}`;
    setText(this.#bitrate, bitrate);
    const c = health?.errorCounters;
    setText(this.#counters, c ? `tx ${c.tx} \u00b7 rx ${c.rx}` : "\u2013");
    const s = health?.stats;
    setText(this.#busErrors, s ? formatCount(s.busErrors) : "\u2013");
    setText(
      this.#transitions,
      s
        ? `${s.errorWarning} warning \u00b7 ${s.errorPassive} passive \u00b7 ${s.busOff} bus-off \u00b7 ${s.restarts} restarts`
        : "\u2013",
    );
    this.#overruns.title = s ? `${s.arbitrationLost} arbitration lost` : "";
    setText(this.#overruns, s ? formatCount(s.rxOverruns) : "\u2013");
    setText(this.#txDropped, s ? formatCount(s.txDropped) : "\u2013");
  }
}
