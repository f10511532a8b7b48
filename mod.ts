/**
 * canremote's client package: the CAN frame model, the python-can-remote wire
 * codecs, `RemoteBus` and DBC signal decoding (`parseDbc`), for Deno and
 * browsers alike. Import it as `jsr:@canremote/client`.
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
 * @example Decoding signals with a DBC file
 * ```ts
 * import { createFrame, parseDbc } from "./mod.ts";
 * const db = parseDbc(`BO_ 2364540158 EEC1: 8 Engine
 *  SG_ EngineSpeed : 24|16@1+ (0.125,0) [0|8031.875] "rpm" Vector__XXX`);
 * const frame = createFrame({ arbitrationId: 0x0cf004fe, data: [0, 0, 0, 0x40, 0x1f, 0, 0, 0] });
 * const decoded = db.decode(frame); // { name: "EEC1", signals: { EngineSpeed: { value: 1000, unit: "rpm", ... } } }
 * if (decoded?.signals.EngineSpeed.value !== 1000) throw new Error();
 * const sent = db.encode("EEC1", { EngineSpeed: 1500 }); // a CanFrame for bus.send()
 * if (sent.data[3] !== 0xe0 || sent.data[4] !== 0x2e) throw new Error();
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
export * from "./core/dbc/types.ts";
export { parseDbc } from "./core/dbc/parse.ts";
export { decodeDbcText } from "./core/dbc/text.ts";
export { DbcDatabase, type DbcDatabaseInit, type DecodableFrame } from "./core/dbc/database.ts";
export { decodeSignals, type EncodeOptions, encodeSignals, signalValue } from "./core/dbc/codec.ts";
export { DbcCollection, type NamedDbc } from "./core/dbc/collection.ts";
export * from "./core/error_frame.ts";
export * from "./core/bus_health.ts";
export * from "./core/codec_bus_state.ts";
export * from "./client.ts";
