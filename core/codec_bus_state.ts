/**
 * The JSON payload of a `bus_state` event (PROTOCOL.md, "bus_state"): a
 * {@linkcode BusHealth} with snake_case wire names, checked field by field
 * when decoded.
 *
 * @module
 */

import type { BusHealth, BusState, BusStats } from "./bus_health.ts";

const STATES: readonly BusState[] = [
  "error-active",
  "error-warning",
  "error-passive",
  "bus-off",
  "stopped",
  "down",
];

// BusStats field → wire name.
const STATS: Readonly<Record<keyof BusStats, string>> = {
  busErrors: "bus_errors",
  errorWarning: "error_warning",
  errorPassive: "error_passive",
  busOff: "bus_off",
  arbitrationLost: "arbitration_lost",
  restarts: "restarts",
  rxOverruns: "rx_overruns",
  txDropped: "tx_dropped",
};

/**
 * Writes a health report as the `bus_state` payload's JSON text.
 *
 * @param health The report.
 * @returns JSON text.
 * @example
 * ```ts
 * import { busStateToJson } from "./codec_bus_state.ts";
 * import { UNKNOWN_HEALTH } from "./bus_health.ts";
 * const text = busStateToJson({ ...UNKNOWN_HEALTH, state: "bus-off", bitrate: 250000 });
 * if (!text.startsWith('{"state": "bus-off", "bitrate": 250000')) throw new Error(text);
 * ```
 */
export function busStateToJson(health: BusHealth): string {
  const stats = health.stats === null ? null : Object.fromEntries(
    Object.entries(STATS).map(([name, wire]) => [wire, health.stats![name as keyof BusStats]]),
  );
  return JSON.stringify({
    state: health.state,
    bitrate: health.bitrate,
    sample_point: health.samplePoint,
    data_bitrate: health.dataBitrate,
    error_counters: health.errorCounters,
    stats,
  }).replace(/([,:])(?=["{\[\dn-])/g, "$1 ");
}

/**
 * Reads a `bus_state` payload.
 *
 * @param payload The parsed JSON payload.
 * @returns The health report.
 * @throws {TypeError} When the payload or a field has the wrong type.
 * @throws {RangeError} For an unknown state or a negative count.
 * @example
 * ```ts
 * import { busStateFromJson } from "./codec_bus_state.ts";
 * const health = busStateFromJson({ state: "error-warning", error_counters: { tx: 96, rx: 0 } });
 * if (health.state !== "error-warning" || health.errorCounters!.tx !== 96) throw new Error();
 * ```
 */
export function busStateFromJson(payload: unknown): BusHealth {
  const p = object(payload, 'The "bus_state" payload');
  const state = p.state ?? null;
  if (state !== null && !STATES.includes(state as BusState)) {
    throw new RangeError(`"state" must be one of ${STATES.join(", ")} or null, got ${show(state)}`);
  }
  const counters = p.error_counters ?? null;
  let errorCounters: BusHealth["errorCounters"] = null;
  if (counters !== null) {
    const c = object(counters, '"error_counters"');
    errorCounters = {
      tx: count(c.tx, '"error_counters.tx"'),
      rx: count(c.rx, '"error_counters.rx"'),
    };
  }
  let stats: BusStats | null = null;
  if ((p.stats ?? null) !== null) {
    const s = object(p.stats, '"stats"');
    stats = Object.fromEntries(
      Object.entries(STATS).map(([name, wire]) => [name, count(s[wire] ?? 0, `"stats.${wire}"`)]),
    ) as unknown as BusStats;
  }
  return {
    state: state as BusState | null,
    bitrate: nullableCount(p.bitrate, '"bitrate"'),
    samplePoint: nullableNumber(p.sample_point, '"sample_point"'),
    dataBitrate: nullableCount(p.data_bitrate, '"data_bitrate"'),
    errorCounters,
    stats,
  };
}

function object(value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError(`${what} must be a JSON object, got ${show(value)}`);
  }
  return value as Record<string, unknown>;
}

function count(value: unknown, what: string): number {
  if (typeof value !== "number") {
    throw new TypeError(`${what} must be a number, got ${show(value)}`);
  }
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${what} must be a non-negative integer, got ${value}`);
  }
  return value;
}

function nullableCount(value: unknown, what: string): number | null {
  return value === undefined || value === null ? null : count(value, what);
}

function nullableNumber(value: unknown, what: string): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new TypeError(`${what} must be a non-negative number or null, got ${show(value)}`);
  }
  return value;
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? text.slice(0, 40) + "\u2026" : text;
}
