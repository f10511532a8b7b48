/**
 * `createBus()`: python-can's `can.Bus()` for canremote. It completes the
 * options from python-can's configuration sources (`~/.canrc` and the other
 * files, `CAN_*` variables, {@linkcode rc}; see `config.ts`) and opens a
 * {@linkcode RemoteBus}, a {@linkcode VirtualBus} or a {@linkcode SocketCanBus}.
 *
 * Keys from the configuration use python-can's snake_case names; each
 * interface takes these (anything else is refused, naming where it came from):
 *
 * | key | remote | virtual | socketcan |
 * | --- | --- | --- | --- |
 * | `channel` | server URL `ws://host:54701/` | channel name | network interface `can0` |
 * | `bitrate`, `data_bitrate`, `fd` | sent to the server | accepted, no effect | set on the interface |
 * | `receive_own_messages` | sent to the server | yes | yes |
 * | `can_filters` (a list, or its JSON text in a file) | sent to the server | yes | kernel filters |
 * | `preserve_timestamps` | sent to the server | yes | - |
 * | `rx_queue_size` | - | receive queue length | - |
 * | `send_timeout`, `receive_buffer_size`, `queue_limit` | - | - | yes |
 *
 * `interface = mqtt` takes `channel = mqtt://HOST:PORT/GATEWAY/CHANNEL` (a
 * fleet gateway's channel, docs/fleet.md), `receive_own_messages`,
 * `can_filters`, `rx_queue_size`, `mqtt_user`, `mqtt_password_file`,
 * `mqtt_ca` (a PEM file) and `mqtt_keepalive` (seconds); the password may
 * also come from `CANREMOTE_MQTT_PASSWORD`.
 * | anything else | sent to the server as is | - | - |
 *
 * Booleans in files may be written `True`/`False`, `yes`/`no`, `on`/`off` or `1`/`0`.
 *
 * @module
 */

import type { BusOptions, CanFilter } from "../core/bus.ts";
import { checkFilters } from "../core/bus.ts";
import { filtersFromJson } from "../core/codec_json.ts";
import { type ReconnectOptions, RemoteBus } from "../client.ts";
import { websocketUrl } from "../client/url.ts";
import { configBoolean, configNumber } from "./config_values.ts";
import { type BusConfig, configOrigin, type Environment, loadConfig } from "./canrc.ts";
import { SocketCanBus } from "../ffi/socketcan_bus.ts";
import { VirtualBus, type VirtualNetwork } from "../core/virtual_bus.ts";
import { MqttBus } from "../server/mqtt/mqtt_bus.ts";

export { rc } from "./canrc.ts";
// The types of the buses createBus() returns and of its options, for type
// annotations (the classes themselves are in @canremote/client and ffi/).
export type {
  Bus,
  BusOptions,
  CanFilter,
  PeriodicOptions,
  PeriodicTask,
  ReceiveOptions,
} from "../core/bus.ts";
export type { CanFrame } from "../core/frame.ts";
export type { Environment } from "./canrc.ts";
export type {
  DroppedDetail,
  ReconnectOptions,
  RemoteBus,
  RemoteBusEventMap,
  RemoteBusState,
  StateChangeDetail,
  TokenTransport,
} from "../client.ts";
export type { VirtualBus, VirtualNetwork } from "../core/virtual_bus.ts";
export type { SocketCanBus } from "../ffi/socketcan_bus.ts";
export type { MqttBus } from "../server/mqtt/mqtt_bus.ts";

/** A bus {@linkcode createBus} opens. */
export type AnyBus = RemoteBus | VirtualBus | SocketCanBus | MqttBus;

/** Options of {@linkcode createBus}: python-can's `can.Bus()` arguments, camelCase. */
export interface CreateBusOptions extends BusOptions {
  /** `"remote"`, `"virtual"` or `"socketcan"`; taken from the configuration when left out. */
  interface?: string;
  /** Selects the config file section and the `CAN_*_<context>` variables (python-can's `context`). */
  context?: string;
  /**
   * Config file(s) to read instead of python-can's list.
   * @default {CONFIG_FILES}
   */
  configPath?: string | readonly string[];
  /**
   * Environment to read `CAN_*` and `HOME` from.
   * @default {Deno.env}
   */
  env?: Environment;
  /** More options under python-can's snake_case names (`{receive_own_messages: true}`); the camelCase ones win. */
  config?: Readonly<Record<string, unknown>>;
  /** remote: aborts connecting. */
  signal?: AbortSignal;
  /** remote: milliseconds to wait for the server's answer ({@linkcode RemoteBusOptions.timeout}). */
  timeout?: number;
  /** remote: reconnect after a lost connection. */
  reconnect?: boolean | ReconnectOptions;
  /** remote: subprotocol to offer. */
  protocol?: "binary" | "json";
  /** remote: bytes held unsent before `send()` waits. */
  maxBufferedAmount?: number;
  /**
   * remote: the `Deno.HttpClient` to connect with, e.g. one that trusts a
   * private CA (`Deno.createHttpClient({ caCerts: [pem] })`); the caller closes it.
   */
  httpClient?: Deno.HttpClient;
  /** virtual: the network to join. */
  network?: VirtualNetwork;
  /** Frames kept for a reader that falls behind. */
  queueLimit?: number;
  /** socketcan: seconds a send retries on a full transmit queue. */
  sendTimeout?: number;
  /** socketcan: kernel receive buffer in bytes. */
  receiveBufferSize?: number;
}

type Kind = "boolean" | "number" | "filters" | "any";

const COMMON: Record<string, [string, Kind]> = {
  bitrate: ["bitrate", "number"],
  data_bitrate: ["dataBitrate", "number"],
  fd: ["fd", "boolean"],
  receive_own_messages: ["receiveOwnMessages", "boolean"],
  can_filters: ["canFilters", "filters"],
};

const KEYS: Record<"virtual" | "socketcan" | "mqtt", Record<string, [string, Kind]>> = {
  virtual: {
    ...COMMON,
    preserve_timestamps: ["preserveTimestamps", "boolean"],
    rx_queue_size: ["queueLimit", "number"],
  },
  socketcan: {
    ...COMMON,
    send_timeout: ["sendTimeout", "number"],
    receive_buffer_size: ["receiveBufferSize", "number"],
    queue_limit: ["queueLimit", "number"],
  },
  mqtt: {
    receive_own_messages: ["receiveOwnMessages", "boolean"],
    can_filters: ["canFilters", "filters"],
    rx_queue_size: ["queueLimit", "number"],
    mqtt_user: ["username", "any"],
    mqtt_password_file: ["passwordFile", "any"],
    mqtt_ca: ["caFile", "any"],
    mqtt_keepalive: ["keepalive", "number"],
  },
};

// Keys whose type the remote interface knows; the rest go to the server as given.
const REMOTE_KINDS: Record<string, Kind> = {
  fd: "boolean",
  receive_own_messages: "boolean",
  preserve_timestamps: "boolean",
  can_filters: "filters",
};

function origin(config: BusConfig, key: string): string {
  const where = configOrigin(config, key);
  return where ? ` (from ${where})` : "";
}

function convert(config: BusConfig, key: string, kind: Kind): unknown {
  const value = config[key];
  if (kind === "boolean") return configBoolean(value, key, origin(config, key));
  if (kind === "number") return configNumber(value, key, origin(config, key));
  if (kind === "filters") return filters(config, key);
  return value;
}

function filters(config: BusConfig, key: string): CanFilter[] | null {
  let value = config[key];
  const where = origin(config, key);
  if (typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch {
      throw new SyntaxError(
        `${key} must be a JSON list such as [{"can_id": 256, "can_mask": 1792}], got ${
          JSON.stringify(value)
        }${where}`,
      );
    }
  }
  try {
    // The wire's reading: a filter without can_mask or can_id means what it means on a server.
    return filtersFromJson(value, key);
  } catch (error) {
    const message = `${(error as Error).message}${where}`;
    throw error instanceof RangeError ? new RangeError(message) : new TypeError(message);
  }
}

function toWire(filters: CanFilter[] | null): Record<string, unknown>[] | null {
  return filters?.map((f) =>
    f.extended === undefined
      ? { can_id: f.canId, can_mask: f.canMask }
      : { can_id: f.canId, can_mask: f.canMask, extended: f.extended }
  ) ?? null;
}

// The camelCase bus options as python-can's keyword arguments: they are the
// highest-ranking source, as python-can's `can.Bus(**kwargs)`.
function givenConfig(options: CreateBusOptions): Record<string, unknown> {
  const given: Record<string, unknown> = { ...options.config };
  const set = (key: string, value: unknown) => {
    if (value !== undefined) given[key] = value;
  };
  set("interface", options.interface);
  set("channel", options.channel);
  set("bitrate", options.bitrate);
  set("data_bitrate", options.dataBitrate);
  set("fd", options.fd);
  set("receive_own_messages", options.receiveOwnMessages);
  set("preserve_timestamps", options.preserveTimestamps);
  if (options.canFilters !== undefined) {
    set("can_filters", toWire(checkFilters(options.canFilters)));
  }
  return given;
}

function remoteUrl(config: BusConfig): string {
  const channel = config.channel;
  if (channel === null || channel === undefined || String(channel).trim() === "") {
    throw new RangeError(
      "The remote interface needs the server's URL as its channel, such as " +
        "ws://myhostname:54701/ (-c on the command line, channel = in ~/.canrc, or CAN_CHANNEL); " +
        (channel === null ? "none is configured" : `got an empty one${origin(config, "channel")}`),
    );
  }
  return websocketUrl(String(channel));
}

/**
 * Opens a bus, python-can's `can.Bus()`: the options given here win, the
 * rest comes from {@linkcode rc}, the `CAN_*` variables and the config files.
 *
 * @param options Interface, channel, bus options, config sources, and the
 *   options of the chosen backend.
 * @returns The open bus: `interface = remote` gives a {@linkcode RemoteBus}
 *   (`channel` is the server's URL), `virtual` a {@linkcode VirtualBus},
 *   `socketcan` a {@linkcode SocketCanBus} (`channel` is the network interface).
 * @throws {RangeError} When no interface is configured, it is unknown, or a number is bad;
 *   the message names the value's source.
 * @throws {TypeError} When a key is not one the interface takes, or a value has the wrong type.
 * @throws {SyntaxError} For a malformed config file: `<file>:<line>: <problem>`.
 * @throws What the backend's `open()`/`connect()` throws (`RemoteError`, `CanError`, ...).
 * @example The virtual bus, with the channel from the environment
 * ```ts
 * import { createBus } from "./create_bus.ts";
 * await using bus = await createBus({ interface: "virtual", env: { CAN_CHANNEL: "demo" }, configPath: [] });
 * if (bus.channelInfo !== "virtual channel demo") throw new Error(bus.channelInfo);
 * ```
 * @example A remote server named in ~/.canrc
 * ```ts ignore
 * // ~/.canrc:
 * //   [default]
 * //   interface = remote
 * //   channel = ws://myhostname:54701/
 * import { createBus } from "./create_bus.ts";
 * await using bus = await createBus();
 * for await (const frame of bus) console.log(frame);
 * ```
 */
export async function createBus(options: CreateBusOptions = {}): Promise<AnyBus> {
  const config = loadConfig({
    config: givenConfig(options),
    context: options.context,
    path: options.configPath,
    env: options.env,
  });
  const { interface: name, channel: _channel, ...rest } = config;
  if (name === "remote") {
    const wire: Record<string, unknown> = {};
    for (const key of Object.keys(rest)) {
      const kind = REMOTE_KINDS[key];
      wire[key] = kind ? convert(config, key, kind) : rest[key];
      if (key === "can_filters") wire[key] = toWire(wire[key] as CanFilter[] | null);
    }
    return await RemoteBus.connect(remoteUrl(config), {
      config: wire,
      signal: options.signal,
      timeout: options.timeout,
      reconnect: options.reconnect,
      protocol: options.protocol,
      maxBufferedAmount: options.maxBufferedAmount,
      queueLimit: options.queueLimit,
      httpClient: options.httpClient,
    });
  }
  const known = KEYS[name];
  const backend: Record<string, unknown> = {};
  for (const key of Object.keys(rest)) {
    const entry = known[key];
    if (!entry) {
      throw new TypeError(
        `The ${name} interface does not take ${JSON.stringify(key)}${
          origin(config, key)
        }; it takes ${Object.keys(known).join(", ")}`,
      );
    }
    backend[entry[0]] = convert(config, key, entry[1]);
  }
  const channel = config.channel ?? undefined;
  if (name === "mqtt") {
    const { caFile, ...mqtt } = backend;
    return await MqttBus.open({
      ...mqtt,
      channel: channel as string,
      ca: caFile === undefined ? undefined : await Deno.readTextFile(String(caFile)),
      queueLimit: options.queueLimit ?? backend.queueLimit as number | undefined,
      env: options.env,
    });
  }
  if (name === "virtual") {
    return VirtualBus.open({
      ...backend,
      channel,
      network: options.network,
      queueLimit: options.queueLimit ?? backend.queueLimit as number | undefined,
    });
  }
  if (channel === undefined) {
    throw new RangeError(
      "The socketcan interface needs a network interface as its channel, such as can0 " +
        "(-c on the command line, channel = in ~/.canrc, or CAN_CHANNEL); none is configured",
    );
  }
  return await SocketCanBus.open({
    ...backend,
    channel: String(channel),
    queueLimit: options.queueLimit ?? backend.queueLimit as number | undefined,
    sendTimeout: options.sendTimeout ?? backend.sendTimeout as number | undefined,
    receiveBufferSize: options.receiveBufferSize ??
      backend.receiveBufferSize as number | undefined,
  });
}
