// Private: the options of RemoteBus.connect(), checked and turned into what
// the bus keeps: the bus_request config under python-can's names, the
// filters, the token and how it travels, the HTTP client, timeouts and limits.
import type { ReconnectOptions, RemoteBusOptions, TokenTransport } from "./options.ts";
import { type CanFilter, checkFilters } from "../core/bus.ts";
import { filtersFromJson, WIRE_NAMES } from "../core/codec_json.ts";
import { BINARY_PROTOCOL, JSON_PROTOCOL } from "../core/protocol.ts";
import { filtersToJson } from "../core/_filters_json.ts";

// The BusOptions that go into the bus_request config, under WIRE_NAMES.
const CONFIG_OPTIONS: ReadonlySet<string> = new Set([
  "channel",
  "bitrate",
  "dataBitrate",
  "fd",
  "receiveOwnMessages",
  "canFilters",
  "preserveTimestamps",
]);

const TOKEN_TRANSPORTS: readonly string[] = ["header", "subprotocol", "config"];

/** {@linkcode RemoteBusOptions} checked, with their defaults filled in. */
export interface RemoteSettings {
  /** Subprotocols to offer, in order. */
  offered: readonly string[];
  /** The `bus_request` config, with the token when it travels there. */
  config: Record<string, unknown>;
  /** Filters for received frames as given; `null` passes everything. */
  filters: CanFilter[] | null;
  /** The access token, if any. */
  token: string | undefined;
  /** How the token travels. */
  tokenTransport: TokenTransport;
  /** The `Deno.HttpClient` to connect with, if any (not checked: Deno checks it). */
  httpClient: object | undefined;
  /** Milliseconds to wait for a `bus_response`. */
  timeout: number;
  /** Back-off, or `null` when the bus does not reconnect. */
  retry: Required<ReconnectOptions> | null;
  /** Unsent bytes above which `send()` waits. */
  maxBuffered: number;
  /** Received frames kept for a slow reader. */
  queueLimit: number;
}

/**
 * Checks the options of `RemoteBus.connect()` and fills in their defaults.
 *
 * @param options The options as given.
 * @returns The settings.
 * @throws {TypeError} / {RangeError} For a bad option, naming it and quoting the value.
 * @example
 * ```ts
 * import { remoteSettings } from "./config.ts";
 * const settings = remoteSettings({ config: { bitrate: "500000" }, receiveOwnMessages: true, token: "k" });
 * const expected = '{"bitrate":500000,"receive_own_messages":true,"message_batches":true}';
 * if (JSON.stringify(settings.config) !== expected) {
 *   throw new Error(JSON.stringify(settings.config));
 * }
 * if (settings.token !== "k" || settings.retry !== null) throw new Error();
 * ```
 */
export function remoteSettings(options: RemoteBusOptions): RemoteSettings {
  const protocol = options.protocol ?? "binary";
  if (protocol !== "binary" && protocol !== "json") {
    throw new TypeError(`protocol must be "binary" or "json", got ${JSON.stringify(protocol)}`);
  }
  const { config, filters } = wireConfig(options);
  const token = options.token ?? config.token;
  delete config.token;
  if (token !== undefined && (typeof token !== "string" || token === "")) {
    throw new TypeError("token must be a non-empty string");
  }
  const tokenTransport = options.tokenTransport ??
    ("Deno" in globalThis ? "header" : "subprotocol");
  if (!TOKEN_TRANSPORTS.includes(tokenTransport)) {
    throw new TypeError(
      `tokenTransport must be "header", "subprotocol" or "config", got ${
        JSON.stringify(tokenTransport)
      }`,
    );
  }
  if (token !== undefined && tokenTransport === "config") config.token = token;
  const batches = options.messageBatches ?? true;
  if (typeof batches !== "boolean") {
    throw new TypeError(`messageBatches must be true or false, got ${JSON.stringify(batches)}`);
  }
  if (batches && config.message_batches === undefined) config.message_batches = true;
  const busState = options.busState ?? false;
  if (typeof busState !== "boolean") {
    throw new TypeError(`busState must be true or false, got ${JSON.stringify(busState)}`);
  }
  if (busState && config.bus_state === undefined) config.bus_state = true;
  const timeout = positive(options.timeout ?? 5000, "timeout");
  const retry = retryOptions(options.reconnect);
  const maxBuffered = nonNegative(options.maxBufferedAmount ?? 1 << 20, "maxBufferedAmount");
  const queueLimit = options.queueLimit ?? 1 << 16;
  if (!Number.isInteger(queueLimit) || queueLimit < 1) {
    throw new RangeError(`queueLimit must be a positive integer, got ${queueLimit}`);
  }
  return {
    offered: protocol === "json" ? [JSON_PROTOCOL] : [BINARY_PROTOCOL, JSON_PROTOCOL],
    config,
    filters,
    token,
    tokenTransport,
    httpClient: options.httpClient,
    timeout,
    retry,
    maxBuffered,
    queueLimit,
  };
}

/**
 * Puts filters into a `bus_request` config as `can_filters`, or takes them
 * out for none.
 *
 * @param config The config to change.
 * @param filters Checked filters; `null` for none.
 * @example
 * ```ts
 * import { setConfigFilters } from "./config.ts";
 * const config: Record<string, unknown> = { can_filters: [] };
 * setConfigFilters(config, null);
 * if ("can_filters" in config) throw new Error();
 * ```
 */
export function setConfigFilters(
  config: Record<string, unknown>,
  filters: readonly CanFilter[] | null,
): void {
  if (filters) config.can_filters = filtersToJson(filters);
  else delete config.can_filters;
}

// The bus_request config: the raw config, then the camelCase options under
// python-can's names in the order they were written (python-can-remote's
// client sends its keyword arguments in call order, events.json).
function wireConfig(
  options: RemoteBusOptions,
): { config: Record<string, unknown>; filters: CanFilter[] | null } {
  const raw = options.config ?? {};
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new TypeError(`config must be an object, got ${JSON.stringify(raw)}`);
  }
  const config: Record<string, unknown> = { ...raw };
  let filters = filtersFromJson(config.can_filters, "config.can_filters");
  for (const [key, value] of Object.entries(options)) {
    if (!CONFIG_OPTIONS.has(key) || value === undefined) continue;
    if (key === "canFilters") {
      filters = checkFilters(value);
      setConfigFilters(config, filters);
    } else {
      config[WIRE_NAMES[key]] = value;
    }
  }
  // python-can's config loading turns these strings into numbers and booleans
  // before python-can-remote's client sends them (can/util.py, _create_bus_config).
  for (const key of ["bitrate", "data_bitrate"]) {
    const value = config[key];
    if (typeof value === "string" && /^\s*\d+\s*$/.test(value)) config[key] = Number(value);
  }
  if (typeof config.fd === "string") config.fd = !["0", "False", "false"].includes(config.fd);
  return { config, filters };
}

function retryOptions(value: RemoteBusOptions["reconnect"]): Required<ReconnectOptions> | null {
  if (value === undefined || value === false) return null;
  const given = value === true ? {} : value;
  if (given === null || typeof given !== "object") {
    throw new TypeError(`reconnect must be a boolean or an object, got ${JSON.stringify(value)}`);
  }
  const initialDelay = nonNegative(given.initialDelay ?? 250, "reconnect.initialDelay");
  const maxDelay = nonNegative(given.maxDelay ?? 5000, "reconnect.maxDelay");
  const maxRetries = given.maxRetries ?? Infinity;
  if (typeof maxRetries !== "number" || !(maxRetries >= 0)) {
    throw new RangeError(`reconnect.maxRetries must be a non-negative number, got ${maxRetries}`);
  }
  return { initialDelay, maxDelay: Math.max(maxDelay, initialDelay), maxRetries };
}

function positive(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${name} must be a positive number, got ${value}`);
  }
  return value;
}

function nonNegative(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative number, got ${value}`);
  }
  return value;
}
