// Private: the events a RemoteBus dispatches and its connection states,
// public types that client.ts re-exports.
import type { BusHealth } from "../core/bus_health.ts";

/**
 * Where a {@linkcode RemoteBus} is. `"connecting"` lasts while `connect()` is
 * pending, which resolves in `"open"`; `"reconnecting"` only happens with the
 * `reconnect` option; `"closed"` is final.
 *
 * @example
 * ```ts
 * import type { RemoteBusState } from "../client.ts";
 * const label = (state: RemoteBusState) => state === "open" ? "online" : state;
 * if (label("reconnecting") !== "reconnecting") throw new Error();
 * ```
 */
export type RemoteBusState = "connecting" | "open" | "reconnecting" | "closed";

/**
 * `detail` of a `"statechange"` event.
 *
 * @example
 * ```ts
 * import type { StateChangeDetail } from "../client.ts";
 * import { RemoteError } from "../core/errors.ts";
 * const detail: StateChangeDetail = { state: "reconnecting", error: new RemoteError("bye", { code: 1001 }) };
 * if (!(detail.error instanceof RemoteError) || detail.error.code !== 1001) throw new Error();
 * ```
 */
export interface StateChangeDetail {
  /** The new state. */
  state: RemoteBusState;
  /** Why the connection was lost (`"reconnecting"`) or the bus closed (`"closed"`, absent after `close()`). */
  error?: unknown;
}

/**
 * `detail` of a `"dropped"` event: the server's `dropped` notice.
 *
 * @example
 * ```ts
 * import type { DroppedDetail } from "../client.ts";
 * const notice: DroppedDetail = { count: 12, total: 40 };
 * if (notice.total < notice.count) throw new Error();
 * ```
 */
export interface DroppedDetail {
  /** Frames dropped since the previous notice. */
  count: number;
  /** Frames dropped since this connection opened. */
  total: number;
}

/**
 * Events a {@linkcode RemoteBus} dispatches, for typed listeners.
 *
 * @example
 * ```ts
 * import type { RemoteBusEventMap } from "../client.ts";
 * const onState = (event: RemoteBusEventMap["statechange"]) => event.detail.state;
 * const event = new CustomEvent("statechange", { detail: { state: "open" as const } });
 * if (onState(event) !== "open") throw new Error();
 * ```
 */
export interface RemoteBusEventMap {
  /** An `error` event from the server; `error` is the {@linkcode RemoteError} that `receive()` also rejects with. */
  error: ErrorEvent;
  /** The server dropped frames for this client because it read too slowly. */
  dropped: CustomEvent<DroppedDetail>;
  /** {@linkcode RemoteBus.state} changed. */
  statechange: CustomEvent<StateChangeDetail>;
  /** The server reported the channel's health (`busState: true`); `detail` is the report. */
  busstate: CustomEvent<BusHealth>;
}
