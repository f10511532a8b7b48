// Shares Linux SocketCAN interfaces: one raw socket per channel, whose frames
// every client's bus filters for itself (ffi/socketcan_channel.ts), or with
// `shareSockets: false` one raw socket per client. The link
// (bit rate, FD, restart-ms, listen-only, up) is the operator's choice, set
// once when the server starts and only when asked; clients never touch it.
// Each channel's health is watched for /api/channels and bus_state events.
import type { Logger } from "@logtape/logtape";
import { getLogger } from "@logtape/logtape";
import type { Bus, BusOptions } from "../../core/bus.ts";
import type { BusHealth } from "../../core/bus_health.ts";
import { CanError } from "../../core/errors.ts";
import { listCanInterfaces, SocketCanBus } from "../../ffi/socketcan_bus.ts";
import { type CanLinkConfig, setLink } from "../../ffi/rtnetlink.ts";
import { SocketCanChannel } from "../../ffi/socketcan_channel.ts";
import { SocketCanChannelBus } from "../../ffi/socketcan_channel_bus.ts";
import type { Backend } from "./backend.ts";
import { ChannelHealth, type HealthListener } from "./channel_health.ts";

/** Options of {@linkcode SocketCanBackend.create}: how to bring the links up. */
export interface SocketCanBackendOptions {
  /** Bit rate to set on every shared interface, which is then brought up (needs CAP_NET_ADMIN). */
  bitrate?: number;
  /** CAN FD data-phase bit rate (with `fd`). */
  dataBitrate?: number;
  /** CAN FD mode on. */
  fd?: boolean;
  /** Automatic restart after bus-off, ms (0: off). */
  restartMs?: number;
  /** Listen-only mode: the controller never sends, not even ACKs. */
  listenOnly?: boolean;
  /** Where link warnings go. @default {getLogger(["canremote", "server"])} */
  log?: Logger;
  /** How often each link is read, in ms. @default {250} */
  pollMs?: number;
  /**
   * One socket per channel, shared by its clients: each frame is read and
   * decoded once however many clients there are. `false`: a socket per client.
   * @default {true}
   */
  shareSockets?: boolean;
}

/** A backend of SocketCAN network interfaces. */
export class SocketCanBackend implements Backend {
  readonly interfaceName = "socketcan";
  readonly channels: readonly string[];
  #health: Map<string, ChannelHealth>;
  #shareSockets: boolean;
  #shared = new Map<string, SocketCanChannel>();

  private constructor(
    channels: readonly string[],
    health: Map<string, ChannelHealth>,
    shareSockets: boolean,
  ) {
    this.channels = channels;
    this.#health = health;
    this.#shareSockets = shareSockets;
  }

  /**
   * Checks that every interface exists, configures and brings up the links
   * when asked (any of `bitrate`, `dataBitrate`, `fd`, `restartMs`,
   * `listenOnly`), and starts watching their health; a link that is down
   * is reported at once in the log.
   * @throws {CanError} `No CAN interface "can9"` (code `ENODEV`), or the link's
   *   refusal (`EPERM` without CAP_NET_ADMIN, with the fixes).
   */
  static async create(
    channels: readonly string[],
    options: SocketCanBackendOptions = {},
  ): Promise<SocketCanBackend> {
    const present = listCanInterfaces();
    for (const channel of channels) {
      if (!present.includes(channel)) {
        const known = present.length ? present.join(", ") : "none on this machine";
        throw new CanError("ENODEV", `No CAN interface "${channel}" (CAN interfaces: ${known})`);
      }
    }
    const config: CanLinkConfig = {
      bitrate: options.bitrate,
      dataBitrate: options.dataBitrate,
      fd: options.fd,
      restartMs: options.restartMs,
      listenOnly: options.listenOnly,
    };
    for (const key of Object.keys(config) as (keyof CanLinkConfig)[]) {
      if (config[key] === undefined) delete config[key];
    }
    if (Object.keys(config).length) {
      for (const channel of channels) setLink(channel, { ...config, up: true });
    }
    const log = options.log ?? getLogger(["canremote", "server"]);
    const health = new Map<string, ChannelHealth>();
    try {
      for (const channel of channels) {
        health.set(
          channel,
          await ChannelHealth.start(channel, {
            log,
            bitrate: options.bitrate,
            pollMs: options.pollMs,
          }),
        );
      }
    } catch (error) {
      await Promise.all([...health.values()].map((h) => h.close()));
      throw error;
    }
    return new SocketCanBackend(channels, health, options.shareSockets ?? true);
  }

  open(channel: string, options: BusOptions): Promise<Bus> {
    // The link was configured once at start; a client's bus never changes it.
    const busOptions = { ...options, channel, bitrate: undefined, dataBitrate: undefined };
    if (!this.#shareSockets) return SocketCanBus.open(busOptions);
    let shared = this.#shared.get(channel);
    try {
      // The last bus to leave closes its channel; the next client opens another.
      if (!shared || shared.closed) {
        shared = SocketCanChannel.open(channel);
        this.#shared.set(channel, shared);
      }
      return Promise.resolve(SocketCanChannelBus.open(shared, busOptions));
    } catch (error) {
      // A client's bad options must not leave a socket open that nobody reads.
      if (shared?.size === 0) return shared.close().then(() => Promise.reject(error));
      return Promise.reject(error);
    }
  }

  /**
   * The channel's health now.
   * @param channel A served channel.
   * @returns State, bit timing, counters and statistics.
   */
  health(channel: string): BusHealth | undefined {
    return this.#health.get(channel)?.health;
  }

  /**
   * Calls `listener` on every change of the channel's health.
   * @returns Unsubscribes.
   */
  watchHealth(channel: string, listener: HealthListener): () => void {
    return this.#health.get(channel)?.subscribe(listener) ?? (() => {});
  }

  /** Stops watching the links. */
  async close(): Promise<void> {
    await Promise.all([...this.#health.values()].map((h) => h.close()));
    await Promise.all([...this.#shared.values()].map((c) => c.close()));
  }
}
