// The interfaces a server can share. Each client gets its own bus instance
// from the backend; the backend decides what a channel is.
import type { Bus, BusOptions } from "../../core/bus.ts";
import type { BusHealth } from "../../core/bus_health.ts";
import { VirtualBus, VirtualNetwork } from "../../core/virtual_bus.ts";

/** Opens per-client bus instances on the channels a server shares. */
export interface Backend {
  /** The `interface` name clients may name in their config (`virtual`, `socketcan`). */
  readonly interfaceName: string;
  /** Channels served; the first is also served at `/`. */
  readonly channels: readonly string[];
  /** Opens a bus instance for one client. */
  open(channel: string, options: BusOptions): Promise<Bus>;
  /**
   * More about a channel for `/api/channels`, when the backend knows it (the
   * MQTT hub: `{online, bitrate, health}` of the channel's gateway).
   */
  describe?(channel: string): object;
  /** A channel's health (state, bit rate, counters); left out where there is none to tell. */
  health?(channel: string): BusHealth | undefined;
  /**
   * Calls `listener` when a channel's health changes: `"state"` for a new
   * state, `"counters"` when only numbers moved.
   * @returns Unsubscribes.
   */
  watchHealth?(
    channel: string,
    listener: (health: BusHealth, change: "state" | "counters") => void,
  ): () => void;
  /** Releases what the backend holds (a relay's upstream connection, link watchers); `serve()` calls it for a backend it created. */
  close?(): Promise<void>;
}

/**
 * A backend of in-process virtual channels, isolated in their own network:
 * what `serve()` shares for `interface: "virtual"`.
 *
 * @example Frames from this process reach a client of channel 1
 * ```ts
 * import { serve, VirtualBackend } from "../../server.ts";
 * import { RemoteBus } from "../../client.ts";
 * import { createFrame } from "../../core/frame.ts";
 * const backend = new VirtualBackend(["0", "1"]);
 * await using server = await serve({ port: 0, backend });
 * await using local = await backend.open("1", {}); // a bus as a client's session gets one
 * await using client = await RemoteBus.connect(new URL("/1", server.url));
 * await local.send(createFrame({ arbitrationId: 0x123, isExtendedId: false, data: [1] }));
 * const frame = await client.receive({ signal: AbortSignal.timeout(2000) });
 * if (frame.arbitrationId !== 0x123) throw new Error();
 * ```
 */
export class VirtualBackend implements Backend {
  /** Always `"virtual"`, python-can's name of the interface. */
  readonly interfaceName = "virtual";
  /** The channel names served, as strings; the first is also served at `/`. */
  readonly channels: readonly string[];
  /** The network the clients' buses join; the demo traffic joins it too. */
  readonly network: VirtualNetwork;

  /**
   * Creates the backend; no bus is open until a client asks for one.
   *
   * @param channels Channels to serve; numbers become their decimal text.
   * @param network The network the buses join, to share it with buses of this process.
   * @example
   * ```ts
   * import { VirtualBackend } from "../../server.ts";
   * const backend = new VirtualBackend([0, "vcan1"]);
   * if (backend.channels.join() !== "0,vcan1") throw new Error();
   * ```
   */
  constructor(
    channels: readonly (string | number)[] = ["0"],
    network: VirtualNetwork = new VirtualNetwork(),
  ) {
    this.channels = channels.map(String);
    this.network = network;
  }

  /**
   * Opens a bus on a channel of the network, as a client's session does.
   *
   * @param channel The channel name.
   * @param options The client's bus options (filters, `receiveOwnMessages`, ...).
   * @returns The open bus; the caller closes it.
   * @throws {TypeError} / {RangeError} For malformed filters.
   * @example
   * ```ts
   * import { VirtualBackend } from "../../server.ts";
   * const backend = new VirtualBackend();
   * await using bus = await backend.open("0", { receiveOwnMessages: true });
   * if (backend.network.channelSize("0") !== 1) throw new Error();
   * ```
   */
  open(channel: string, options: BusOptions): Promise<Bus> {
    return Promise.resolve(VirtualBus.open({ ...options, channel, network: this.network }));
  }
}
