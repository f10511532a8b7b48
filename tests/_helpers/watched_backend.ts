// A virtual backend whose channel health a test sets, as SocketCanBackend
// sets it from netlink and error frames (tests/vm/ runs that on a real kernel).
import { VirtualBackend } from "../../server/backends/backend.ts";
import { type BusHealth, UNKNOWN_HEALTH, zeroStats } from "../../core/bus_health.ts";

type Listener = (health: BusHealth, change: "state" | "counters") => void;

export class WatchedBackend extends VirtualBackend {
  current: BusHealth = {
    ...UNKNOWN_HEALTH,
    state: "error-active",
    bitrate: 500000,
    samplePoint: 0.875,
    errorCounters: { tx: 0, rx: 0 },
    stats: zeroStats(),
  };
  #listeners = new Set<Listener>();

  health(): BusHealth {
    return this.current;
  }

  watchHealth(_channel: string, listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Changes the health and tells the watchers, as a link change would. */
  set(next: BusHealth, change: "state" | "counters" = "state"): void {
    this.current = next;
    for (const listener of this.#listeners) listener(next, change);
  }
}
