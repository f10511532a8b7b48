// One channel a gateway shares over MQTT: its bus, the batches of received
// frames going to the `rx` topic, and the frames of the `tx` topic going to
// the bus under the limits every WebSocket client has. The tx frames go out
// through a bus instance of their own, as a WebSocket client's do, so that
// the rx instance hears them: every consumer sees what any consumer sent,
// as nodes on one bus do, and the sender recognises its own frames.
import type { BusHealth } from "../../core/bus_health.ts";
import type { MqttClient } from "mqtt";
import type { Bus } from "../../core/bus.ts";
import { decodeBinaryBatch } from "../../core/codec_batch.ts";
import { decodeBinary } from "../../core/codec_binary.ts";
import type { CanFrame } from "../../core/frame.ts";
import { BINARY_MESSAGE_TYPE } from "../../core/protocol.ts";
import { DEFAULT_LIMITS, idAllowed, type Limits } from "../limits.ts";
import { TokenBucket } from "../rate_limit.ts";
import { FrameBatcher, type FrameBatcherOptions } from "./batcher.ts";
import { toBuffer } from "./connection.ts";
import type { ChannelStatus } from "./status.ts";
import { rxTopic, txTopic } from "./topics.ts";

/** What a {@linkcode GatewayChannel} needs besides its bus. */
export interface GatewayChannelOptions extends FrameBatcherOptions {
  gateway: string;
  channel: string;
  client: MqttClient;
  /** The server's limits; the tx topic gets the same as one WebSocket client. */
  limits: Partial<Limits>;
  /** Bytes handed to MQTT.js and not yet written to the socket before batches are dropped. */
  maxQueueBytes: number;
  /** Called with the reason of each refused tx message or frame. */
  onRefusal: (reason: string) => void;
  /** The channel's health, when the backend knows it. */
  health?: () => BusHealth | undefined;
}

/** Publishes one channel's frames and obeys its tx topic. */
export class GatewayChannel {
  readonly rxTopic: string;
  readonly txTopic: string;
  #bus: Bus;
  #txBus: Bus | undefined;
  #options: GatewayChannelOptions;
  #batcher: FrameBatcher;
  #bucket: TokenBucket;
  #limits: Limits;
  #queuedBytes = 0;
  #pendingSends = 0;
  #stop: (() => void) | undefined;
  readonly counters = { rx: 0, published: 0, dropped: 0, tx: 0, txRefused: 0 };

  /**
   * @param bus The bus whose frames are published.
   * @param txBus The bus the tx topic's frames are sent on; none without `--mqtt-tx`.
   * @param options Topics, limits and callbacks.
   */
  constructor(bus: Bus, txBus: Bus | undefined, options: GatewayChannelOptions) {
    this.#bus = bus;
    this.#txBus = txBus;
    this.#options = options;
    this.rxTopic = rxTopic(options.gateway, options.channel);
    this.txTopic = txTopic(options.gateway, options.channel);
    this.#batcher = new FrameBatcher((batch, frames) => this.#publish(batch, frames), options);
    const limits = this.#limits = withDefaults(options.limits);
    this.#bucket = new TokenBucket(limits.maxSendRate, limits.sendBurst);
  }

  /** Starts relaying received frames to the rx topic. */
  start(): void {
    const onEntry = (entry: CanFrame | Error) => {
      if (entry instanceof Error) return;
      this.counters.rx++;
      try {
        this.#batcher.push(entry);
      } catch {
        // A frame the binary format cannot carry never came from a real bus.
        this.counters.dropped++;
      }
    };
    if (this.#bus.subscribe) {
      this.#bus.subscribe(onEntry);
      return;
    }
    const controller = new AbortController();
    this.#stop = () => controller.abort();
    (async () => {
      while (!controller.signal.aborted) {
        try {
          onEntry(await this.#bus.receive({ signal: controller.signal }));
        } catch {
          return;
        }
      }
    })();
  }

  #publish(batch: Uint8Array<ArrayBuffer>, frames: number): void {
    const client = this.#options.client;
    if (!client.connected || this.#queuedBytes + batch.length > this.#options.maxQueueBytes) {
      this.counters.dropped += frames;
      return;
    }
    this.#queuedBytes += batch.length;
    this.counters.published += frames;
    client.publish(this.rxTopic, toBuffer(batch), { qos: 0 }, () => {
      this.#queuedBytes -= batch.length;
    });
  }

  /**
   * Sends the frames of one tx message on the bus, each under the limits.
   * @param payload A binary batch, or one binary message.
   */
  receiveTx(payload: Uint8Array): void {
    const txBus = this.#txBus;
    if (!txBus) return;
    const limits = this.#limits;
    let frames: CanFrame[];
    try {
      if (payload.length > limits.maxMessageSize) {
        throw new RangeError(
          `a ${payload.length}-byte message is larger than --max-message-size ${limits.maxMessageSize}`,
        );
      }
      frames = payload[0] === BINARY_MESSAGE_TYPE
        ? [decodeBinary(payload)]
        : decodeBinaryBatch(payload);
    } catch (error) {
      this.counters.txRefused++;
      this.#options.onRefusal(`${this.txTopic}: ${(error as Error).message}`);
      return;
    }
    for (const frame of frames) {
      const refusal = !idAllowed(limits.allowedIds, frame.arbitrationId)
        ? `id 0x${frame.arbitrationId.toString(16)} is not allowed (--allow-id)`
        : this.#pendingSends >= limits.maxPendingSends
        ? `${limits.maxPendingSends} frames already wait for the bus`
        : !this.#bucket.take()
        ? `over --max-send-rate ${limits.maxSendRate} frames/s`
        : undefined;
      if (refusal) {
        this.counters.txRefused++;
        this.#options.onRefusal(`${this.txTopic}: ${refusal}`);
        continue;
      }
      this.#pendingSends++;
      txBus.send(frame).then(
        () => this.counters.tx++,
        (error) => {
          this.counters.txRefused++;
          this.#options.onRefusal(`${this.txTopic}: ${(error as Error).message}`);
        },
      ).finally(() => this.#pendingSends--);
    }
  }

  /** The channel's part of the gateway status. */
  status(bitrate: number | null): ChannelStatus {
    const health = this.#options.health?.() ?? null;
    // The link's own bit rate (SocketCAN reads it over netlink) wins over --bitrate.
    return { bitrate: health?.bitrate ?? bitrate, health, ...this.counters };
  }

  /** Sends what is batched, stops relaying and closes the bus. */
  async close(): Promise<void> {
    this.#batcher.flush();
    this.#batcher.close();
    this.#stop?.();
    await this.#bus.close();
    await this.#txBus?.close();
  }
}

// The defaults of every limit not given (an option set to `undefined`, as
// the command line leaves one, keeps the default too).
function withDefaults(given: Partial<Limits>): Limits {
  const limits: Limits = { ...DEFAULT_LIMITS };
  for (const [key, value] of Object.entries(given)) {
    if (value !== undefined) (limits as unknown as Record<string, unknown>)[key] = value;
  }
  return limits;
}
