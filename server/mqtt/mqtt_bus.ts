/**
 * `MqttBus`: one gateway's channel, read from and written to through an MQTT
 * broker, with the `Bus` contract. `createBus({ interface: "mqtt", channel:
 * "mqtt://broker:1883/GATEWAY/CHANNEL" })` opens one, and so does every tool
 * with `-i mqtt`.
 *
 * What differs from a bus on the gateway itself, because MQTT carries the
 * frames and nothing else:
 * - filters are applied here, on the consumer: every frame of the channel
 *   crosses the network;
 * - periodic tasks run here, on the consumer's clock: each frame is one
 *   publish, and the task stops when this process does;
 * - `send()` resolves once the frame is handed to the broker; whether the
 *   broker's ACL lets it through to the gateway is not reported by MQTT
 *   3.1.1 (a refused publish is dropped silently). A gateway that runs
 *   without `--mqtt-tx` is known from its status, and `send()` refuses then.
 * - the gateway sends a tx frame through a bus instance of its own, so the
 *   frame comes back on `rx` for every consumer; this bus recognises its own
 *   frames there (the oldest unanswered frame with the same id, flags and
 *   data, for 5 s) and delivers them only with `receiveOwnMessages`, with
 *   the gateway's timestamp: an own frame received is one that reached the bus.
 *
 * @module
 */

import type {
  Bus,
  BusOptions,
  CanFilter,
  PeriodicOptions,
  PeriodicTask,
  ReceiveOptions,
} from "../../core/bus.ts";
import { checkFilters, matchesFilters } from "../../core/bus.ts";
import { decodeBinaryBatch, encodeFramesBatch } from "../../core/codec_batch.ts";
import { checkEncodable } from "../../core/codec_binary.ts";
import { BusClosedError, CanError } from "../../core/errors.ts";
import { type CanFrame, validateFrame } from "../../core/frame.ts";
import { FrameQueue } from "../../core/_frame_queue.ts";
import { LocalPeriodicTask } from "../../core/_periodic.ts";
import { MqttConnection, type MqttConnectOptions, toBuffer } from "./connection.ts";
import { type GatewayStatus, parseStatus } from "./status.ts";
import { parseFleetUrl, rxTopic, statusTopic, txTopic } from "./topics.ts";

// How long a sent frame waits to be recognised on rx, and how many wait at once.
const ECHO_WAIT_MS = 5000;
const MAX_UNANSWERED = 10_000;

function frameKey(f: CanFrame): string {
  const flags = (f.isExtendedId ? 1 : 0) | (f.isRemoteFrame ? 2 : 0) | (f.isFd ? 4 : 0) |
    (f.bitrateSwitch ? 8 : 0) | (f.isErrorFrame ? 16 : 0);
  return `${f.arbitrationId}/${flags}/${f.dlc}/${f.data.join(",")}`;
}

/** Options of {@linkcode MqttBus.open}. */
export interface MqttBusOptions extends BusOptions, Omit<MqttConnectOptions, "broker" | "will"> {
  /** `mqtt://HOST:PORT/GATEWAY/CHANNEL` (or `mqtts://`). */
  channel: string;
  /**
   * Frames kept for a reader that falls behind; beyond it the oldest go
   * (counted in {@linkcode MqttBus.dropped}).
   * @default {65536}
   */
  queueLimit?: number;
}

/**
 * A gateway's channel through an MQTT broker.
 *
 * @example
 * ```ts ignore
 * import { MqttBus } from "./mqtt_bus.ts";
 * await using bus = await MqttBus.open({ channel: "mqtt://127.0.0.1:1883/bench-7/can0" });
 * for await (const frame of bus) console.log(frame.arbitrationId.toString(16));
 * ```
 */
export class MqttBus implements Bus {
  /** `"mqtt channel GATEWAY/CHANNEL on mqtt://HOST:PORT"`. */
  readonly channelInfo: string;
  /** The gateway's name. */
  readonly gateway: string;
  /** The channel's name on the gateway. */
  readonly channel: string;
  #connection: MqttConnection;
  #queue: FrameQueue;
  #filters: CanFilter[] | null;
  #receiveOwn: boolean;
  #tasks = new Set<LocalPeriodicTask>();
  #status: GatewayStatus | undefined;
  #statusListeners = new Set<(status: GatewayStatus | undefined) => void>();
  #rx: string;
  #tx: string;
  // Frames sent and not yet heard back from the gateway: [key, expiry in ms].
  #unanswered: [string, number][] = [];
  #label: string;

  private constructor(
    connection: MqttConnection,
    options: MqttBusOptions,
    gateway: string,
    channel: string,
  ) {
    this.#connection = connection;
    this.gateway = gateway;
    this.channel = channel;
    this.#label = `${gateway}/${channel}`;
    this.channelInfo = `mqtt channel ${this.#label} on ${connection.broker}`;
    this.#queue = new FrameQueue(options.queueLimit);
    this.#filters = checkFilters(options.canFilters);
    this.#receiveOwn = options.receiveOwnMessages ?? false;
    this.#rx = rxTopic(gateway, channel);
    this.#tx = txTopic(gateway, channel);
  }

  /**
   * Connects to the broker and subscribes to the channel's frames and its gateway's status.
   *
   * @param options The channel URL, credentials and bus options.
   * @returns The open bus; frames published from now on arrive.
   * @throws {SyntaxError} / {RangeError} For a malformed channel URL or filters.
   * @throws {CanError} `EACCES` when the broker refuses the credentials,
   *   `ECONNREFUSED` when it cannot be reached, `EACCES` when it refuses the subscription.
   */
  static async open(options: MqttBusOptions): Promise<MqttBus> {
    if (typeof options.channel !== "string") {
      throw new TypeError(
        `The mqtt interface's channel is mqtt://HOST:PORT/GATEWAY/CHANNEL, got ${
          JSON.stringify(options.channel)
        }`,
      );
    }
    const where = parseFleetUrl(options.channel);
    checkFilters(options.canFilters);
    const connection = await MqttConnection.open({ ...options, broker: where.broker });
    const bus = new MqttBus(connection, options, where.gateway, where.channel);
    try {
      await bus.#subscribe();
    } catch (error) {
      await connection.close();
      throw error;
    }
    return bus;
  }

  async #subscribe(): Promise<void> {
    const client = this.#connection.client;
    const status = statusTopic(this.gateway);
    client.on("message", (topic, payload) => {
      if (topic === this.#rx) this.#onBatch(payload);
      else if (topic === status) this.#onStatus(payload);
    });
    const refused = await this.#connection.subscribe([this.#rx, status]);
    if (refused.length) {
      throw new CanError(
        "EACCES",
        `MQTT broker ${this.#connection.broker} refused the subscription to ${refused.join(", ")}`,
      );
    }
  }

  #onBatch(payload: Uint8Array): void {
    let frames: CanFrame[];
    try {
      frames = decodeBinaryBatch(payload);
    } catch {
      // Not a gateway's batch: some other publisher on the topic; nothing to deliver.
      return;
    }
    for (const frame of frames) {
      frame.channel = this.#label;
      frame.isRx = true;
      if (this.#unanswered.length && this.#isOwn(frame)) {
        if (!this.#receiveOwn) continue;
        frame.isRx = false;
      }
      if (matchesFilters(frame, this.#filters)) this.#queue.push(frame);
    }
  }

  #isOwn(frame: CanFrame): boolean {
    const now = performance.now();
    while (this.#unanswered.length && this.#unanswered[0][1] < now) this.#unanswered.shift();
    const key = frameKey(frame);
    const index = this.#unanswered.findIndex(([k]) => k === key);
    if (index < 0) return false;
    this.#unanswered.splice(index, 1);
    return true;
  }

  #onStatus(payload: Uint8Array): void {
    try {
      this.#status = parseStatus(payload);
    } catch {
      return;
    }
    for (const listener of this.#statusListeners) listener(this.#status);
  }

  /** The gateway's last status, or `undefined` before one arrived (or when the gateway never announced itself). */
  get gatewayStatus(): GatewayStatus | undefined {
    return this.#status;
  }

  /**
   * Calls `listener` with each status the gateway publishes.
   * @param listener Called with the new status.
   */
  onGatewayStatus(listener: (status: GatewayStatus | undefined) => void): void {
    this.#statusListeners.add(listener);
  }

  /** `true` once `close()` was called. */
  get closed(): boolean {
    return this.#queue.closed;
  }

  /** Frames dropped because nobody read them in time. */
  get dropped(): number {
    return this.#queue.dropped;
  }

  /** `true` while the broker connection is up. */
  get connected(): boolean {
    return this.#connection.connected;
  }

  /**
   * Publishes a frame on the channel's `tx` topic.
   *
   * @param frame The frame.
   * @returns A promise that resolves once the frame is written to the broker connection.
   * @throws {TypeError} / {RangeError} For an invalid frame; nothing is sent.
   * @throws {CanError} `EACCES` when the gateway's status says it does not take
   *   frames, `ENOTCONN` while the broker is unreachable.
   * @throws {BusClosedError} When the bus is closed.
   */
  send(frame: CanFrame): Promise<void> {
    try {
      const batch = this.#prepare(frame);
      const { promise, resolve, reject } = Promise.withResolvers<void>();
      this.#connection.client.publish(this.#tx, toBuffer(batch), { qos: 0 }, (error) => {
        if (error) reject(new CanError("ENOTCONN", error.message, { cause: error }));
        else resolve();
      });
      return promise;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #prepare(frame: CanFrame): Uint8Array<ArrayBuffer> {
    if (this.closed) throw new BusClosedError(`The ${this.channelInfo} bus is closed`);
    const checked = validateFrame(frame);
    checkEncodable(checked);
    if (this.#status && this.#status.tx === false) {
      throw new CanError(
        "EACCES",
        `Gateway ${JSON.stringify(this.gateway)} does not take frames: it runs without --mqtt-tx`,
      );
    }
    if (!this.#connection.connected) {
      throw new CanError("ENOTCONN", `Not connected to MQTT broker ${this.#connection.broker}`);
    }
    const batch = encodeFramesBatch([checked]);
    if (this.#unanswered.length >= MAX_UNANSWERED) this.#unanswered.shift();
    this.#unanswered.push([frameKey(checked), performance.now() + ECHO_WAIT_MS]);
    return batch;
  }

  /**
   * Waits for the next frame that passes the filters.
   * @param options `signal` to stop waiting.
   * @returns The frame, with `channel` set to `GATEWAY/CHANNEL` and the gateway's receive timestamp.
   * @throws {BusClosedError} When the bus closes while waiting.
   */
  receive(options: ReceiveOptions = {}): Promise<CanFrame> {
    return this.#queue.receive(options.signal);
  }

  /**
   * Takes a frame that already arrived, without waiting.
   * @returns The frame, or `undefined` when none is queued.
   * @throws {BusClosedError} When the bus is closed and empty.
   */
  poll(): CanFrame | undefined {
    return this.#queue.poll();
  }

  /**
   * Hands every frame to `listener` as it arrives instead of queueing it.
   * @param listener Called with each frame that passes the filters.
   */
  subscribe(listener: (entry: CanFrame | Error) => void): void {
    this.#queue.subscribe(listener);
  }

  /**
   * Sends `frame` every `period` seconds from this process (one publish each).
   * @param frame The frame.
   * @param period Seconds between two transmissions, at least 0.001.
   * @param options `duration` in seconds.
   * @returns The task; it stops at the first frame that cannot be sent.
   * @throws {TypeError} / {RangeError} For an invalid frame, period or duration.
   * @throws {BusClosedError} When the bus is closed.
   */
  sendPeriodic(frame: CanFrame, period: number, options: PeriodicOptions = {}): PeriodicTask {
    if (this.closed) throw new BusClosedError(`The ${this.channelInfo} bus is closed`);
    const task = new LocalPeriodicTask(
      frame,
      period,
      (f) => {
        const batch = this.#prepare(f);
        this.#connection.client.publish(this.#tx, toBuffer(batch), { qos: 0 });
      },
      (t) => this.#tasks.delete(t),
      options,
    );
    if (!task.stopped) this.#tasks.add(task);
    return task;
  }

  /**
   * Replaces the filters applied to frames arriving from now on.
   * @param filters Filters; `null`, `undefined` or `[]` passes everything.
   * @throws {TypeError} / {RangeError} For malformed filters.
   */
  setFilters(filters?: CanFilter[] | null): void {
    this.#filters = checkFilters(filters);
  }

  /**
   * Stops the periodic tasks, disconnects and rejects pending receives. Idempotent.
   * @returns A promise that resolves once the connection is closed.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    for (const task of [...this.#tasks]) task.stop();
    this.#queue.close(new BusClosedError(`The ${this.channelInfo} bus is closed`), true);
    await this.#connection.close();
  }

  /** Iterates over received frames until the bus closes. @returns The iterator. */
  [Symbol.asyncIterator](): AsyncIterator<CanFrame> {
    return this.#queue.iterate();
  }

  /** Closes the bus at the end of an `await using` block. @returns `close()`'s promise. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
