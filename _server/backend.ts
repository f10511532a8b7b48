// The interfaces a server can share. Each client gets its own bus instance
// from the backend; the backend decides what a channel is.
import type { Bus, BusOptions } from "../bus.ts";
import { VirtualBus, VirtualNetwork } from "../virtual_bus.ts";

/** Opens per-client bus instances on the channels a server shares. */
export interface Backend {
  /** The `interface` name clients may name in their config (`virtual`, `socketcan`). */
  readonly interfaceName: string;
  /** Channels served; the first is also served at `/`. */
  readonly channels: readonly string[];
  /** Opens a bus instance for one client. */
  open(channel: string, options: BusOptions): Promise<Bus>;
}

/** A backend of in-process virtual channels, isolated in their own network. */
export class VirtualBackend implements Backend {
  readonly interfaceName = "virtual";
  readonly channels: readonly string[];
  /** The network the clients' buses join; the demo traffic joins it too. */
  readonly network: VirtualNetwork;

  constructor(
    channels: readonly (string | number)[] = ["0"],
    network: VirtualNetwork = new VirtualNetwork(),
  ) {
    this.channels = channels.map(String);
    this.network = network;
  }

  open(channel: string, options: BusOptions): Promise<Bus> {
    return Promise.resolve(VirtualBus.open({ ...options, channel, network: this.network }));
  }
}
