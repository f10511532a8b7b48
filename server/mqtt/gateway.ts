/**
 * The gateway: a server's shared channels published to an MQTT broker
 * (`--mqtt URL --gateway NAME`). Received frames go to
 * `canremote/v1/{gateway}/{channel}/rx` in 10 ms / 16 KiB batches; with `tx`
 * the gateway obeys `.../tx`; a retained status with a last will tells
 * consumers whether it is online. The WebSocket clients are not affected by
 * the broker: a broker outage only drops (and counts) what would be published.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { Backend } from "../backends/backend.ts";
import type { Limits } from "../limits.ts";
import { MqttConnection, type MqttConnectOptions } from "./connection.ts";
import { GatewayChannel } from "./gateway_channel.ts";
import type { GatewayStatus } from "./status.ts";
import { checkTopicName, statusTopic } from "./topics.ts";
import meta from "../../deno.json" with { type: "json" };

/** Options of {@linkcode MqttGateway.start}. */
export interface MqttGatewayOptions extends MqttConnectOptions {
  /** The gateway's name, one topic level (`bench-7`). */
  gateway: string;
  /** The backend whose channels are published; the gateway opens one bus per channel. */
  backend: Backend;
  /**
   * Channels to publish.
   * @default {backend.channels}
   */
  channels?: readonly string[];
  /**
   * Obey the `tx` topics (the broker's ACLs decide who may publish there).
   * @default {false}
   */
  tx?: boolean;
  /** The server's limits, applied to the tx topics as to one WebSocket client. */
  limits?: Partial<Limits>;
  /**
   * Milliseconds between two status publishes.
   * @default {10000}
   */
  statusInterval?: number;
  /**
   * Bytes per channel handed to MQTT.js but not yet written to the socket;
   * beyond it batches are dropped and counted.
   * @default {1048576}
   */
  maxQueueBytes?: number;
  /**
   * Milliseconds a received frame waits for others before its batch is published.
   * @default {10}
   */
  flushInterval?: number;
  /**
   * Largest batch in bytes.
   * @default {16384}
   */
  maxBatchBytes?: number;
}

/**
 * A running gateway.
 *
 * @example
 * ```ts ignore
 * import { serve } from "../../server.ts";
 * import { MqttGateway } from "./gateway.ts";
 * await using server = await serve({ port: 0 });
 * await using gateway = await MqttGateway.start({
 *   broker: "mqtt://127.0.0.1:1883",
 *   gateway: "bench-7",
 *   backend: server.backend,
 * });
 * console.log(gateway.status());
 * ```
 */
export class MqttGateway implements AsyncDisposable {
  /** The gateway's name. */
  readonly gateway: string;
  #connection: MqttConnection;
  #channels: Map<string, GatewayChannel>;
  #options: MqttGatewayOptions;
  #started: string;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed: Promise<void> | undefined;

  private constructor(
    connection: MqttConnection,
    channels: Map<string, GatewayChannel>,
    options: MqttGatewayOptions,
    started: string,
  ) {
    this.gateway = options.gateway;
    this.#started = started;
    this.#connection = connection;
    this.#channels = channels;
    this.#options = options;
  }

  /**
   * Connects to the broker, opens a bus on every channel and starts publishing.
   *
   * @param options Broker, credentials, gateway name, backend and limits.
   * @returns The running gateway.
   * @throws {RangeError} For a gateway or channel name that cannot be a topic level.
   * @throws {CanError} When the broker refuses the credentials (`EACCES`) or
   *   cannot be reached (`ECONNREFUSED`); nothing stays open.
   */
  static async start(options: MqttGatewayOptions): Promise<MqttGateway> {
    const gateway = checkTopicName("gateway", options.gateway);
    const names = [...(options.channels ?? options.backend.channels)];
    for (const name of names) checkTopicName("channel", name);
    const log = getLogger(["canremote", "mqtt"]);
    const started = new Date().toISOString();
    const offline = (channels: Record<string, unknown>) =>
      JSON.stringify({ ...baseStatus(options, started), online: false, channels });
    const connection = await MqttConnection.open({
      ...options,
      clientId: options.clientId ?? `canremote-${gateway}-${crypto.randomUUID().slice(0, 8)}`,
      will: {
        topic: statusTopic(gateway),
        payload: offline(Object.fromEntries(names.map((n) => [n, { bitrate: null }]))),
        retain: true,
      },
    });
    let refusals = 0;
    let lastLog = -Infinity;
    const onRefusal = (reason: string) => {
      refusals++;
      // One line per 10 s at most: a flood on the tx topic must not flood the log.
      if (performance.now() - lastLog < 10_000) return;
      lastLog = performance.now();
      log.warn("Refused a frame from MQTT ({count} since the last report): {reason}", {
        count: refusals,
        reason,
      });
      refusals = 0;
    };
    const channels = new Map<string, GatewayChannel>();
    try {
      for (const name of names) {
        const bus = await options.backend.open(name, {});
        let txBus;
        try {
          txBus = options.tx ? await options.backend.open(name, {}) : undefined;
        } catch (error) {
          await bus.close();
          throw error;
        }
        const backend = options.backend;
        channels.set(
          name,
          new GatewayChannel(bus, txBus, {
            gateway,
            channel: name,
            client: connection.client,
            limits: options.limits ?? {},
            maxQueueBytes: options.maxQueueBytes ?? 1 << 20,
            flushInterval: options.flushInterval,
            maxBytes: options.maxBatchBytes,
            onRefusal,
            health: backend.health && (() => backend.health?.(name)),
          }),
        );
      }
    } catch (error) {
      for (const channel of channels.values()) await channel.close();
      await connection.close();
      throw error;
    }
    const self = new MqttGateway(connection, channels, options, started);
    self.#begin();
    return self;
  }

  #begin(): void {
    const log = getLogger(["canremote", "mqtt"]);
    const client = this.#connection.client;
    const byTopic = new Map([...this.#channels.values()].map((c) => [c.txTopic, c]));
    if (this.#options.tx) {
      client.on("message", (topic, payload) => byTopic.get(topic)?.receiveTx(payload));
      this.#connection.subscribe([...byTopic.keys()]).then((refused) => {
        if (refused.length) {
          log.error("The broker refused the subscription to {topics}: no frames from MQTT", {
            topics: refused.join(", "),
          });
        }
      }, () => {});
    }
    for (const channel of this.#channels.values()) channel.start();
    this.#connection.onStateChange((connected, reason) => {
      if (connected) {
        log.info("Reconnected to {broker}", { broker: this.#connection.broker });
        this.#publishStatus();
      } else {
        log.warn("Lost the MQTT broker {broker} ({reason}); retrying", {
          broker: this.#connection.broker,
          reason: reason ?? "connection closed",
        });
      }
    });
    this.#publishStatus();
    this.#timer = setInterval(() => this.#publishStatus(), this.#options.statusInterval ?? 10_000);
  }

  /**
   * The status as published now.
   * @returns The status object.
   */
  status(): GatewayStatus {
    const bitrate = this.#options.limits?.bitrate ?? null;
    return {
      ...baseStatus(this.#options, this.#started),
      online: true,
      updated: new Date().toISOString(),
      channels: Object.fromEntries(
        [...this.#channels].map(([name, channel]) => [name, channel.status(bitrate)]),
      ),
      reconnects: this.#connection.reconnects,
    };
  }

  #publishStatus(): void {
    if (!this.#connection.connected) return;
    this.#connection.client.publish(
      statusTopic(this.gateway),
      JSON.stringify(this.status()),
      { qos: 1, retain: true },
    );
  }

  /**
   * Publishes what is batched, says `online: false` in the status and
   * disconnects; then closes the buses. Idempotent.
   * @returns A promise that resolves once everything is closed.
   */
  close(): Promise<void> {
    return this.#closed ??= (async () => {
      clearInterval(this.#timer);
      for (const channel of this.#channels.values()) await channel.close();
      const status = { ...this.status(), online: false };
      await this.#connection.close({
        topic: statusTopic(this.gateway),
        payload: JSON.stringify(status),
        retain: true,
      });
    })();
  }

  /** Closes the gateway at the end of an `await using` block. @returns `close()`'s promise. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function baseStatus(options: MqttGatewayOptions, started: string) {
  return {
    gateway: options.gateway,
    version: meta.version,
    interface: options.backend.interfaceName,
    tx: options.tx ?? false,
    started,
  };
}
