/**
 * The canremote server: shares a CAN bus (the built-in virtual bus or Linux
 * SocketCAN) with any number of WebSocket clients, python-can-remote
 * compatible, and serves a web page to inspect the traffic.
 *
 * Run it: `deno run -A jsr:@canremote/server --interface socketcan --channel can0`.
 *
 * @example
 * ```ts
 * import { serve } from "./server.ts";
 * await using server = await serve({ port: 0, channels: ["0"] });
 * console.log(`listening on ${server.url}`);
 * ```
 *
 * @module
 */

import { main } from "./server/cli.ts";

export { serve } from "./server/serve.ts";
export type { CanServer, ServeOptions } from "./server/serve.ts";
export type { Backend } from "./server/backends/backend.ts";
export { VirtualBackend } from "./server/backends/backend.ts";
export { RelayBackend } from "./server/backends/relay.ts";
export type { RelayBackendOptions } from "./server/backends/relay.ts";
export type { IdRange, Limits } from "./server/limits.ts";
export { DEFAULT_LIMITS, parseIdRange } from "./server/limits.ts";
export type { Role, TokenEntry } from "./server/access/auth.ts";
export type { DbcFile } from "./server/http/dbc_list.ts";
// The bus types Backend and VirtualBackend use; the classes that implement
// them live in @canremote/client.
export type {
  Bus,
  BusOptions,
  CanFilter,
  PeriodicOptions,
  PeriodicTask,
  ReceiveOptions,
} from "./core/bus.ts";
export type { CanFrame } from "./core/frame.ts";
// A value, so a local bus and a VirtualBackend can share one network (tools' `network`).
export { VirtualBus, VirtualNetwork } from "./core/virtual_bus.ts";
// The fleet (docs/fleet.md): a gateway publishing to an MQTT broker, the hub's
// backend, and a gateway's channel as a bus.
export { MqttGateway, type MqttGatewayOptions } from "./server/mqtt/gateway.ts";
export { MqttBackend, type MqttBackendOptions } from "./server/backends/mqtt.ts";
export { MqttBus, type MqttBusOptions } from "./server/mqtt/mqtt_bus.ts";
export type { ChannelStatus, GatewayStatus } from "./server/mqtt/status.ts";

if (import.meta.main) Deno.exit(await main(Deno.args));
