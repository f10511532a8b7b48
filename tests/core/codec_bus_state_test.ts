import { assertEquals, assertThrows } from "../_helpers/assert.ts";
import { decodeJson, encodeJson } from "../../core/codec_json.ts";
import { encodeEvent } from "../../core/codec.ts";
import type { BusHealth } from "../../core/bus_health.ts";
import { UNKNOWN_HEALTH, zeroStats } from "../../core/bus_health.ts";
import { BINARY_PROTOCOL } from "../../core/protocol.ts";

const kvaser: BusHealth = {
  state: "error-warning",
  bitrate: 250000,
  samplePoint: 0.875,
  dataBitrate: null,
  errorCounters: { tx: 96, rx: 3 },
  stats: { ...zeroStats(), errorWarning: 1, rxOverruns: 15 },
};

Deno.test("bus_state: the wire text has snake_case names and decodes back to the same health", () => {
  const text = encodeJson({ type: "bus_state", health: kvaser });
  assertEquals(
    text,
    '{"type": "bus_state", "payload": {"state": "error-warning", "bitrate": 250000, "sample_point": 0.875, ' +
      '"data_bitrate": null, "error_counters": {"tx": 96, "rx": 3}, "stats": {"bus_errors": 0, ' +
      '"error_warning": 1, "error_passive": 0, "bus_off": 0, "arbitration_lost": 0, "restarts": 0, ' +
      '"rx_overruns": 15, "tx_dropped": 0}}}',
  );
  assertEquals(decodeJson(text), { type: "bus_state", health: kvaser });
  assertEquals(decodeJson(encodeJson({ type: "bus_state", health: UNKNOWN_HEALTH })), {
    type: "bus_state",
    health: { ...UNKNOWN_HEALTH },
  });
  // The binary subprotocol sends it as JSON text, like every event but messages.
  assertEquals(encodeEvent({ type: "bus_state", health: kvaser }, BINARY_PROTOCOL), text);
});

Deno.test("bus_state: a bad payload is a TypeError or RangeError naming the field", () => {
  const decode = (payload: unknown) => decodeJson(JSON.stringify({ type: "bus_state", payload }));
  assertThrows(() => decode("bus-off"), TypeError, "payload must be a JSON object");
  assertThrows(() => decode({ state: "sleepy" }), RangeError, '"state" must be one of');
  assertThrows(
    () => decode({ error_counters: { tx: -1, rx: 0 } }),
    RangeError,
    "error_counters.tx",
  );
  assertThrows(() => decode({ stats: { bus_off: "1" } }), TypeError, "stats.bus_off");
  assertThrows(() => decode({ bitrate: 1.5 }), RangeError, '"bitrate"');
});
