// A fleet channel re-shared by a hub: one MqttBus to the gateway and a
// virtual channel the hub's clients join. Frames from the gateway are sent
// into the virtual channel (keeping the gateway's timestamps); frames the
// clients send there go to the gateway's tx topic. The MqttBus recognises
// those frames when the gateway echoes them on rx, so clients never get a
// frame twice.
import { getLogger } from "@logtape/logtape";
import type { VirtualNetwork } from "../../core/virtual_bus.ts";
import { VirtualBus } from "../../core/virtual_bus.ts";
import type { CanFrame } from "../../core/frame.ts";
import { MqttBus, type MqttBusOptions } from "./mqtt_bus.ts";
import type { GatewayStatus } from "./status.ts";

/** One gateway channel served by a hub. */
export class FleetChannel {
  /** `GATEWAY/CHANNEL`, the name clients ask for. */
  readonly name: string;
  readonly uplink: MqttBus;
  #local: VirtualBus;
  /** Frames from clients the uplink could not publish (gateway without tx, broker away). */
  refused = 0;
  #lastRefusal: string | undefined;

  private constructor(name: string, uplink: MqttBus, local: VirtualBus) {
    this.name = name;
    this.uplink = uplink;
    this.#local = local;
  }

  /**
   * Connects to the gateway's channel and bridges it into `network`.
   * @param name The channel's name on the hub.
   * @param options The MqttBus to open.
   * @param network The hub's virtual network.
   * @returns The bridged channel.
   * @throws What {@linkcode MqttBus.open} throws.
   */
  static async open(
    name: string,
    options: MqttBusOptions,
    network: VirtualNetwork,
  ): Promise<FleetChannel> {
    const uplink = await MqttBus.open({ ...options, receiveOwnMessages: false, canFilters: null });
    const local = VirtualBus.open({ channel: name, network, preserveTimestamps: true });
    const channel = new FleetChannel(name, uplink, local);
    uplink.subscribe((entry) => {
      if (!(entry instanceof Error)) local.send(entry).catch(() => {});
    });
    local.subscribe((entry) => {
      if (!(entry instanceof Error)) channel.#forward(entry);
    });
    return channel;
  }

  #forward(frame: CanFrame): void {
    this.uplink.send(frame).catch((error) => {
      this.refused++;
      const reason = (error as Error).message;
      // The hub's other clients got the frame, the gateway's bus did not:
      // say so once per reason, not once per frame.
      if (reason !== this.#lastRefusal) {
        getLogger(["canremote", "mqtt"]).warn(
          "A client's frame for {channel} went nowhere: {reason}",
          {
            channel: this.name,
            reason,
          },
        );
      }
      this.#lastRefusal = reason;
    });
  }

  /** Why the last client frame did not reach the gateway, if one did not. */
  get lastRefusal(): string | undefined {
    return this.#lastRefusal;
  }

  /** The gateway's last status. */
  get status(): GatewayStatus | undefined {
    return this.uplink.gatewayStatus;
  }

  /** Leaves the virtual channel and disconnects. */
  async close(): Promise<void> {
    await this.#local.close();
    await this.uplink.close();
  }
}
