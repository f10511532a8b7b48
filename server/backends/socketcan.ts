// Shares Linux SocketCAN interfaces: one raw socket per client. The bit rate
// is the operator's choice, set once when the server starts; clients never
// touch it.
import type { Bus, BusOptions } from "../../core/bus.ts";
import { CanError } from "../../core/errors.ts";
import { listCanInterfaces, SocketCanBus } from "../../ffi/socketcan_bus.ts";
import { setBitrate } from "../../ffi/libsocketcan.ts";
import type { Backend } from "./backend.ts";

/** Options of {@linkcode SocketCanBackend.create}. */
export interface SocketCanBackendOptions {
  /** Bit rate to set on every shared interface at start (needs CAP_NET_ADMIN). */
  bitrate?: number;
}

/** A backend of SocketCAN network interfaces. */
export class SocketCanBackend implements Backend {
  readonly interfaceName = "socketcan";
  readonly channels: readonly string[];

  private constructor(channels: readonly string[]) {
    this.channels = channels;
  }

  /**
   * Checks that every interface exists and sets the bit rate when asked.
   * @throws {CanError} `No CAN interface "can9"` (code `ENODEV`), or the bit rate error.
   */
  static create(
    channels: readonly string[],
    options: SocketCanBackendOptions = {},
  ): SocketCanBackend {
    const present = listCanInterfaces();
    for (const channel of channels) {
      if (!present.includes(channel)) {
        const known = present.length ? present.join(", ") : "none on this machine";
        throw new CanError("ENODEV", `No CAN interface "${channel}" (CAN interfaces: ${known})`);
      }
      if (options.bitrate !== undefined) setBitrate(channel, options.bitrate);
    }
    return new SocketCanBackend(channels);
  }

  open(channel: string, options: BusOptions): Promise<Bus> {
    // The bit rate was set once at start; a client's bus never sets it again.
    return SocketCanBus.open({ ...options, channel, bitrate: undefined, dataBitrate: undefined });
  }
}
