/**
 * canremote's client package: the CAN frame model, the python-can-remote wire
 * codecs and `RemoteBus`, for Deno and browsers alike. Import it as
 * `jsr:@canremote/client`.
 *
 * @example Sending a frame and hearing it back
 * ```ts
 * import { createFrame, RemoteBus } from "./mod.ts";
 * // A server to talk to; yours runs elsewhere: ws://canbox.lab:54701/
 * import { serve } from "./server.ts";
 * await using server = await serve({ port: 0 });
 *
 * await using bus = await RemoteBus.connect(server.url, { receiveOwnMessages: true });
 * await bus.send(createFrame({ arbitrationId: 0x123, isExtendedId: false, data: [1, 2, 3] }));
 * for await (const frame of bus) {
 *   if (frame.arbitrationId === 0x123) break; // frame.data, frame.timestamp, ...
 * }
 * ```
 *
 * @module
 */

export * from "./core/frame.ts";
export * from "./core/errors.ts";
export * from "./core/bus.ts";
export * from "./core/protocol.ts";
export * from "./core/events.ts";
export * from "./core/codec.ts";
export * from "./core/codec_binary.ts";
export * from "./core/codec_batch.ts";
export * from "./core/codec_json.ts";
export * from "./core/candump.ts";
export * from "./core/virtual_bus.ts";
export * from "./core/error_frame.ts";
export * from "./core/bus_health.ts";
export * from "./core/codec_bus_state.ts";
export * from "./client.ts";
