/**
 * The hub: fleet channels, each a gateway's channel behind an MQTT broker,
 * shared with WebSocket clients (python-can-remote, `RemoteBus`, the page)
 * as any other backend's channels are. `server.ts -i mqtt -c
 * mqtt://broker:1883/gw1/can0` names them; `--mqtt-discover
 * mqtt://broker:1883` serves every gateway that announces itself, each
 * channel as `GATEWAY/CHANNEL`.
 *
 * @module
 */

import type { Bus, BusOptions } from "../../core/bus.ts";
import { VirtualBus, VirtualNetwork } from "../../core/virtual_bus.ts";
import type { Backend } from "./backend.ts";
import { FleetChannel } from "../mqtt/fleet_channel.ts";
import { MqttConnection, type MqttConnectOptions } from "../mqtt/connection.ts";
import { type GatewayStatus, parseStatus } from "../mqtt/status.ts";
import {
  checkTopicName,
  type FleetAddress,
  parseBrokerUrl,
  parseFleetUrl,
  statusGateway,
  statusTopic,
} from "../mqtt/topics.ts";

/** Options of {@linkcode MqttBackend.create}. */
export interface MqttBackendOptions
  extends Omit<MqttConnectOptions, "broker" | "will" | "clientId"> {
  /** Fleet channels, `mqtt://HOST:PORT/GATEWAY/CHANNEL`. */
  channels?: readonly string[];
  /** A broker whose announced gateways are all served (`mqtt://HOST:PORT`). */
  discover?: string;
}

/** What the hub knows of one channel, for the channel list. */
export interface FleetChannelState {
  /** `true` or `false` from the gateway's status; `null` before one arrived. */
  online: boolean | null;
  /** The bit rate the gateway reports, or `null`. */
  bitrate: number | null;
  /** The controller health the gateway reports, or `null`. */
  health: unknown;
}

/**
 * Fleet channels as a backend.
 *
 * @example
 * ```ts ignore
 * import { MqttBackend } from "./mqtt.ts";
 * import { serve } from "../serve.ts";
 * const backend = await MqttBackend.create({ channels: ["mqtt://127.0.0.1:1883/gw1/can0"] });
 * await using server = await serve({ port: 0, backend });
 * // ws://127.0.0.1:PORT/ (and /gw1%2Fcan0) is gw1's can0
 * ```
 */
export class MqttBackend implements Backend, AsyncDisposable {
  /** `"mqtt"`. */
  readonly interfaceName = "mqtt";
  /** The network the clients' buses join. */
  readonly network: VirtualNetwork = new VirtualNetwork();
  #named: Map<string, FleetAddress>;
  #options: MqttBackendOptions;
  #open = new Map<string, Promise<FleetChannel>>();
  #discovery: MqttConnection | undefined;
  #announced = new Map<string, GatewayStatus>();

  private constructor(named: Map<string, FleetAddress>, options: MqttBackendOptions) {
    this.#named = named;
    this.#options = options;
  }

  /**
   * Connects to the named channels' brokers and to the discovery broker.
   *
   * @param options Fleet channels, a discovery broker and credentials.
   * @returns The backend.
   * @throws {RangeError} When neither channels nor `discover` is given, or two
   *   channels have the same `GATEWAY/CHANNEL`.
   * @throws {CanError} When a broker refuses the credentials or cannot be reached.
   */
  static async create(options: MqttBackendOptions): Promise<MqttBackend> {
    const named = new Map<string, FleetAddress>();
    for (const url of options.channels ?? []) {
      const where = parseFleetUrl(url);
      const name = `${where.gateway}/${where.channel}`;
      if (named.has(name)) throw new RangeError(`The fleet channel ${name} is named twice`);
      named.set(name, where);
    }
    if (named.size === 0 && options.discover === undefined) {
      throw new RangeError(
        "The mqtt interface needs channels (mqtt://HOST:PORT/GATEWAY/CHANNEL) or --mqtt-discover",
      );
    }
    const backend = new MqttBackend(named, options);
    try {
      // Named channels connect now, so a wrong broker or password stops the start.
      for (const name of named.keys()) await backend.#channel(name);
      if (options.discover !== undefined) await backend.#discover(options.discover);
    } catch (error) {
      await backend.close();
      throw error;
    }
    return backend;
  }

  async #discover(broker: string): Promise<void> {
    parseBrokerUrl(broker);
    const connection = await MqttConnection.open({ ...this.#options, broker });
    this.#discovery = connection;
    connection.client.on("message", (topic, payload) => {
      const gateway = statusGateway(topic);
      if (gateway === undefined) return;
      try {
        const status = parseStatus(payload);
        if (status) this.#announced.set(gateway, status);
        else this.#announced.delete(gateway);
      } catch {
        // Not a gateway's status; ignored like any other stranger on the topic.
      }
    });
    await connection.subscribe([statusTopic("+")]);
  }

  /** Named channels, then the discovered ones, sorted; the first is also served at `/`. */
  get channels(): readonly string[] {
    const found: string[] = [];
    for (const [gateway, status] of this.#announced) {
      for (const channel of Object.keys(status.channels)) {
        const name = `${gateway}/${channel}`;
        // A status is anyone's publish: a channel named "+" or "#" would
        // subscribe the hub to other topics, so such names are not served.
        if (!this.#named.has(name) && isTopicLevel(channel)) found.push(name);
      }
    }
    return [...this.#named.keys(), ...found.sort()];
  }

  /**
   * What the hub knows of a channel: its gateway online or not, bit rate and health.
   * @param name `GATEWAY/CHANNEL`.
   * @returns The state; `online` is `null` before the gateway's status arrived.
   */
  describe(name: string): FleetChannelState {
    const [gateway, channel] = name.split("/");
    const status = this.#announced.get(gateway) ?? this.#statusCache.get(name);
    const entry = status?.channels[channel];
    return {
      online: status?.online ?? null,
      bitrate: entry?.bitrate ?? null,
      health: entry?.health ?? null,
    };
  }

  // The last status of each open channel's gateway; describe() never connects.
  #statusCache = new Map<string, GatewayStatus>();

  #channel(name: string): Promise<FleetChannel> {
    let opening = this.#open.get(name);
    if (!opening) {
      const where = this.#named.get(name) ?? this.#discovered(name);
      const [gateway, channel] = [where.gateway, where.channel];
      opening = FleetChannel.open(name, {
        ...this.#options,
        channel: `${where.broker}/${encodeURIComponent(gateway)}/${encodeURIComponent(channel)}`,
      }, this.network);
      opening.then((c) => {
        c.uplink.onGatewayStatus((s) => {
          if (s) this.#statusCache.set(name, s);
        });
        if (c.status) this.#statusCache.set(name, c.status);
      }, () => this.#open.delete(name));
      this.#open.set(name, opening);
    }
    return opening;
  }

  #discovered(name: string): FleetAddress {
    const [gateway, channel] = name.split("/");
    if (this.#options.discover === undefined || !this.#announced.get(gateway)?.channels[channel]) {
      throw new RangeError(`No fleet channel ${JSON.stringify(name)}`);
    }
    return { broker: this.#options.discover.replace(/\/+$/, ""), gateway, channel };
  }

  /**
   * Opens a bus for one client on a fleet channel, connecting to its gateway
   * on the first one.
   *
   * @param channel `GATEWAY/CHANNEL`.
   * @param options The client's bus options.
   * @returns The client's bus.
   * @throws {RangeError} For a channel the hub does not serve.
   * @throws {CanError} When the broker cannot be reached.
   */
  async open(channel: string, options: BusOptions): Promise<Bus> {
    await this.#channel(channel);
    return VirtualBus.open({ ...options, channel, network: this.network });
  }

  /** Disconnects from every broker. Idempotent. @returns A promise that resolves once closed. */
  async close(): Promise<void> {
    const open = [...this.#open.values()];
    this.#open.clear();
    for (const opening of open) await opening.then((c) => c.close(), () => {});
    await this.#discovery?.close();
    this.#discovery = undefined;
  }

  /** Closes at the end of an `await using` block. @returns `close()`'s promise. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function isTopicLevel(name: string): boolean {
  try {
    checkTopicName("channel", name);
    return true;
  } catch {
    return false;
  }
}
