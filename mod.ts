/**
 * canremote's client package: the CAN frame model, the python-can-remote wire
 * codecs and `RemoteBus`, for Deno and browsers alike.
 *
 * @example
 * ```ts ignore
 * import { createFrame, RemoteBus } from "jsr:@canremote/client";
 * await using bus = await RemoteBus.connect("ws://127.0.0.1:54701/");
 * await bus.send(createFrame({ arbitrationId: 0x123, isExtendedId: false, data: [1, 2, 3] }));
 * for await (const frame of bus) console.log(frame);
 * ```
 *
 * @module
 */

export * from "./frame.ts";
export * from "./errors.ts";
export * from "./bus.ts";
export * from "./protocol.ts";
export * from "./events.ts";
export * from "./codec.ts";
export * from "./codec_binary.ts";
export * from "./codec_batch.ts";
export * from "./codec_json.ts";
export * from "./candump.ts";
export * from "./virtual_bus.ts";
export * from "./client.ts";
