// Interprets a client's bus_request config. Server-side choices (interface,
// channel, bitrate) win; a config that asks for another interface or channel,
// or gives a known key a bad value, is refused with a message naming it.
import type { BusOptions } from "../../core/bus.ts";
import { filterDefaults, filtersFromJson } from "../../core/codec_json.ts";
import { configBitrate, configBoolean, showValue } from "../../config/config_values.ts";

/** What the server serves, against which a config is checked. */
export interface Served {
  interfaceName: string;
  channel: string;
  bitrate?: number;
}

/** A config turned into bus options, plus the keys that were ignored. */
export interface ParsedConfig {
  /** The client takes `message_batch` events (`"message_batches": true`). */
  batches: boolean;
  /** The client takes `bus_state` events (`"bus_state": true`). */
  busState: boolean;
  options: BusOptions;
  ignored: string[];
  /** How filters without `can_id` or `can_mask` were read, for the log. */
  notes: string[];
}

// Keys the server reads itself (the session checks `token`), which the
// backend does not act on.
const PASSIVE_KEYS = new Set(["token"]);

/**
 * A config fit for a log line: the `token` value replaced, so that no secret
 * reaches a log (python-can-remote's server logs the whole config).
 *
 * @param config A `bus_request` config.
 * @returns A shallow copy without the token's value.
 */
export function redactConfig(config: unknown): unknown {
  if (config === null || typeof config !== "object" || Array.isArray(config)) return config;
  if (!("token" in config)) return config;
  return { ...config, token: "[redacted]" };
}

// python-can passes ~/.canrc values on as text ("False"); read them as
// configparser does rather than refusing them (PROTOCOL.md, "bus_request").
function bool(config: Record<string, unknown>, key: string): boolean | undefined {
  const value = config[key];
  if (value === undefined || value === null) return undefined;
  return configBoolean(value, key);
}

function bitrate(config: Record<string, unknown>, key: string): number | undefined {
  const value = config[key];
  if (value === undefined || value === null) return undefined;
  return configBitrate(value, key);
}

/**
 * Turns a bus_request config into {@linkcode BusOptions}.
 *
 * @throws {TypeError} / {RangeError} Naming the key and quoting the value.
 */
export function parseBusConfig(config: unknown, served: Served): ParsedConfig {
  if (config === null || typeof config !== "object" || Array.isArray(config)) {
    throw new TypeError(`config must be an object, got ${showValue(config)}`);
  }
  const c = config as Record<string, unknown>;
  // The value is never quoted: it may be a secret.
  if (c.token !== undefined && c.token !== null && typeof c.token !== "string") {
    throw new TypeError(`token must be a string, got a ${typeof c.token}`);
  }
  for (const key of ["interface", "bustype"]) {
    if (c[key] === undefined || c[key] === null) continue;
    if (c[key] !== served.interfaceName) {
      throw new RangeError(
        `This server serves the "${served.interfaceName}" interface; a client cannot choose ${
          JSON.stringify(c[key])
        }`,
      );
    }
  }
  if (c.channel !== undefined && c.channel !== null && String(c.channel) !== served.channel) {
    throw new RangeError(
      `This connection serves channel "${served.channel}"; connect to its URL for channel ${
        JSON.stringify(c.channel)
      }`,
    );
  }
  // Validated so a typo is reported, but a client never sets the bitrate of a
  // shared interface: the server's --bitrate applies.
  bitrate(c, "bitrate");
  bitrate(c, "data_bitrate");
  const options: BusOptions = {
    channel: served.channel,
    receiveOwnMessages: bool(c, "receive_own_messages") ?? false,
    preserveTimestamps: bool(c, "preserve_timestamps") ?? false,
    canFilters: filtersFromJson(c.can_filters, "can_filters"),
    fd: bool(c, "fd"),
    bitrate: served.bitrate,
  };
  const known = new Set([
    "interface",
    "bustype",
    "channel",
    "bitrate",
    "data_bitrate",
    "receive_own_messages",
    "preserve_timestamps",
    "can_filters",
    "fd",
    "message_batches",
    "bus_state",
  ]);
  const ignored = Object.keys(c).filter((key) => !known.has(key) && !PASSIVE_KEYS.has(key));
  return {
    options,
    ignored,
    notes: filterDefaults(c.can_filters),
    batches: bool(c, "message_batches") ?? false,
    busState: bool(c, "bus_state") ?? false,
  };
}
