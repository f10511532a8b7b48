/**
 * One connection to an MQTT broker through MQTT.js, the way every fleet part
 * needs it: credentials that never reach a log, a clear error when the
 * broker refuses or cannot be reached at first, and afterwards reconnection
 * with exponential backoff (MQTT.js alone retries at a fixed period).
 *
 * @module
 */

import type { IClientOptions, MqttClient } from "mqtt";
import { Buffer } from "node:buffer";
import { CanError } from "../../core/errors.ts";
import { after } from "../../core/_sleep.ts";
import { parseBrokerUrl } from "./topics.ts";

/** The environment variable a password is read from when no file is named. */
export const PASSWORD_VARIABLE = "CANREMOTE_MQTT_PASSWORD";

/** Options of {@linkcode MqttConnection.open}. */
export interface MqttConnectOptions {
  /** `mqtt://[user@]host:port` or `mqtts://...`; a path is ignored. */
  broker: string;
  /** The user name; wins over one in `broker`. */
  username?: string;
  /** The password; wins over `passwordFile` and {@linkcode PASSWORD_VARIABLE}. */
  password?: string;
  /** A file holding the password (one trailing newline is dropped). */
  passwordFile?: string;
  /** PEM certificates to trust for `mqtts://` besides the system's. */
  ca?: string;
  /**
   * Seconds between keep-alive pings; the broker declares the client gone
   * after 1.5 times this without a packet (MQTT 3.1.1 section 3.1.2.10).
   * @default {10}
   */
  keepalive?: number;
  /** The MQTT client id; a random one by default. */
  clientId?: string;
  /** The last will the broker publishes when the connection dies. */
  will?: { topic: string; payload: Uint8Array | string; retain: boolean };
  /**
   * Milliseconds to wait for the first CONNACK.
   * @default {10000}
   */
  connectTimeout?: number;
  /**
   * Longest wait between two reconnection attempts, in milliseconds.
   * @default {30000}
   */
  maxBackoff?: number;
  /** Where {@linkcode PASSWORD_VARIABLE} is read. @default {Deno.env} */
  env?: Readonly<Record<string, string | undefined>>;
}

const FIRST_BACKOFF_MS = 500;

// MQTT 3.1.1 CONNACK return codes (section 3.2.2.3) and their MQTT 5 equivalents.
const REFUSALS: Record<number, string> = {
  1: "unacceptable protocol version",
  2: "client id rejected",
  3: "server unavailable",
  4: "bad user name or password",
  // Mosquitto answers a wrong password with 5, not 4.
  5: "not authorized (wrong user name or password, or a user the broker does not admit)",
  134: "bad user name or password",
  135: "not authorized",
};

/**
 * A broker connection that reconnects by itself after it was established once.
 *
 * @example
 * ```ts ignore
 * import { MqttConnection } from "./connection.ts";
 * const connection = await MqttConnection.open({ broker: "mqtt://127.0.0.1:1883" });
 * connection.client.publish("canremote/v1/hello", "hi");
 * await connection.close();
 * ```
 */
export class MqttConnection {
  /** The MQTT.js client; publish and subscribe on it. */
  readonly client: MqttClient;
  /** The broker, without credentials, for messages. */
  readonly broker: string;
  /** Connections established after the first one. */
  reconnects = 0;
  #backoff = FIRST_BACKOFF_MS;
  #maxBackoff: number;
  #cancelRetry: (() => void) | undefined;
  #closing = false;
  #lastError: string | undefined;
  #onState = new Set<(connected: boolean, reason?: string) => void>();
  #topics = new Set<string>();

  private constructor(client: MqttClient, broker: string, maxBackoff: number) {
    this.client = client;
    this.broker = broker;
    this.#maxBackoff = maxBackoff;
  }

  /**
   * Connects and waits for the broker's CONNACK.
   *
   * @param options The broker, credentials and session options.
   * @returns The connection.
   * @throws {CanError} `EACCES` when the broker refuses the credentials,
   *   `ECONNREFUSED` when it refuses the connection for another reason or
   *   cannot be reached, `ETIMEDOUT` without an answer in `connectTimeout`.
   * @throws {SyntaxError} / {RangeError} For a bad broker URL.
   * @throws {Deno.errors.NotFound} When `passwordFile` does not exist.
   */
  static async open(options: MqttConnectOptions): Promise<MqttConnection> {
    const url = parseBrokerUrl(options.broker);
    const username = options.username ??
      (url.username ? decodeURIComponent(url.username) : undefined);
    const password = options.password ??
      (options.passwordFile !== undefined
        ? (await Deno.readTextFile(options.passwordFile)).replace(/\r?\n$/, "")
        : (options.env ? options.env[PASSWORD_VARIABLE] : Deno.env.get(PASSWORD_VARIABLE)));
    const port = Number(url.port || (url.protocol === "mqtts:" ? 8883 : 1883));
    const broker = `${url.protocol}//${url.hostname}:${port}`;
    const clientOptions: IClientOptions = {
      protocol: url.protocol === "mqtts:" ? "mqtts" : "mqtt",
      host: url.hostname.replace(/^\[|\]$/g, ""),
      port,
      // NATS's MQTT listener speaks 3.1.1 only; every broker does.
      protocolVersion: 4,
      keepalive: options.keepalive ?? 10,
      clientId: options.clientId,
      clean: true,
      // Subscriptions are renewed by subscribe() below: MQTT.js's own
      // renewal does not follow a reconnect() after reconnectPeriod 0.
      resubscribe: false,
      // Reconnection is ours, with backoff (see #retry).
      reconnectPeriod: 0,
      connectTimeout: options.connectTimeout ?? 10_000,
      // QoS 0 publishes made while offline are dropped and counted by the
      // caller, not queued without bound inside MQTT.js.
      queueQoSZero: false,
      username,
      password,
      ca: options.ca,
      // SNI names a host, never an address (RFC 6066 section 3).
      servername: /^[\d.]+$|^\[/.test(url.hostname) ? undefined : url.hostname,
      will: options.will
        ? {
          topic: options.will.topic,
          payload: toBuffer(options.will.payload),
          retain: options.will.retain,
          qos: 1,
        }
        : undefined,
    };
    // Loaded here, not at start-up: only a server with --mqtt or an MQTT bus
    // needs it, and loading it cost every start about 20 ms of 180 here
    // (docs/benchmark.md). A string literal, so `deno compile` still embeds it
    // (tests/layout_test.ts checks both).
    const { default: mqtt } = await import("mqtt");
    const client = mqtt.connect(clientOptions);
    const connection = new MqttConnection(client, broker, options.maxBackoff ?? 30_000);
    const who = username === undefined ? "" : ` as user ${JSON.stringify(username)}`;
    await new Promise<void>((resolve, reject) => {
      const fail = (error: CanError) => {
        client.off("connect", ok);
        client.off("error", onError);
        client.off("close", onClose);
        client.end(true);
        reject(error);
      };
      const ok = () => {
        client.off("error", onError);
        client.off("close", onClose);
        client.off("connect", ok);
        resolve();
      };
      const onError = (error: Error & { code?: number | string }) => {
        const refusal = typeof error.code === "number" ? REFUSALS[error.code] : undefined;
        if (refusal) {
          const code = error.code === 4 || error.code === 5 || (error.code as number) >= 134
            ? "EACCES"
            : "ECONNREFUSED";
          fail(
            new CanError(code, `MQTT broker ${broker} refused the connection${who}: ${refusal}`),
          );
        } else if (error.message === "connack timeout") {
          fail(new CanError("ETIMEDOUT", `MQTT broker ${broker} did not answer${who}`));
        } else {
          fail(
            new CanError("ECONNREFUSED", `Cannot reach MQTT broker ${broker}: ${error.message}`, {
              cause: error,
            }),
          );
        }
      };
      const onClose = () =>
        fail(new CanError("ECONNREFUSED", `MQTT broker ${broker} closed the connection${who}`));
      client.on("connect", ok);
      client.on("error", onError);
      client.on("close", onClose);
    });
    connection.#watch();
    return connection;
  }

  /** `true` while connected to the broker. */
  get connected(): boolean {
    return this.client.connected;
  }

  /** Why the last connection or attempt failed, for status and logs. */
  get lastError(): string | undefined {
    return this.#lastError;
  }

  /**
   * Calls `listener` whenever the connection comes up (`true`) or goes down (`false`).
   * @param listener Called with the new state and, when down, the reason.
   */
  onStateChange(listener: (connected: boolean, reason?: string) => void): void {
    this.#onState.add(listener);
  }

  /**
   * Subscribes with QoS 0, now and again after every reconnection (a clean
   * session starts without subscriptions).
   *
   * @param topics Topic filters.
   * @returns The filters the broker refused (SUBACK 0x80, MQTT 3.1.1 section 3.9.3).
   */
  async subscribe(topics: string[]): Promise<string[]> {
    for (const topic of topics) this.#topics.add(topic);
    const granted = await this.client.subscribeAsync(topics, { qos: 0 });
    return granted.filter((g) => g.qos === 128).map((g) => g.topic);
  }

  #watch(): void {
    this.client.on("error", (error) => {
      this.#lastError = error.message;
    });
    this.client.on("close", () => {
      if (this.#closing) return;
      for (const listener of this.#onState) listener(false, this.#lastError);
      this.#retry();
    });
    this.client.on("connect", () => {
      this.reconnects++;
      if (this.#topics.size) this.client.subscribe([...this.#topics], { qos: 0 });
      this.#backoff = FIRST_BACKOFF_MS;
      this.#lastError = undefined;
      for (const listener of this.#onState) listener(true);
    });
  }

  // Exponential backoff with jitter, so gateways that lost the same broker
  // do not all come back in the same millisecond.
  #retry(): void {
    if (this.#closing || this.#cancelRetry) return;
    const delay = this.#backoff * (0.75 + Math.random() / 2);
    this.#backoff = Math.min(this.#backoff * 2, this.#maxBackoff);
    this.#cancelRetry = after(delay, () => {
      this.#cancelRetry = undefined;
      if (!this.#closing) this.client.reconnect();
    });
  }

  /**
   * Publishes `payload` before closing, if connected (a status saying "offline").
   * Disconnects cleanly so that the broker does not publish the last will.
   * Idempotent.
   *
   * @param farewell A last message to publish first.
   * @returns A promise that resolves once the socket is closed.
   */
  async close(
    farewell?: { topic: string; payload: Uint8Array | string; retain: boolean },
  ): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    this.#cancelRetry?.();
    if (farewell && this.client.connected) {
      await new Promise<void>((resolve) =>
        this.client.publish(
          farewell.topic,
          toBuffer(farewell.payload),
          { qos: 1, retain: farewell.retain },
          () => resolve(),
        )
      );
    }
    await new Promise<void>((resolve) =>
      this.client.end(!this.client.connected, {}, () => resolve())
    );
  }
}

/**
 * MQTT.js's typings want a Node `Buffer`; Deno's `node:buffer` gives one
 * sharing the bytes, without a copy.
 * @param bytes The payload.
 * @returns The same bytes as a Buffer.
 */
export function toBuffer(bytes: Uint8Array | string): Buffer {
  return typeof bytes === "string"
    ? Buffer.from(bytes)
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
