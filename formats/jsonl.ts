/**
 * The `.jsonl` format (canremote's own): one JSON object per line, the
 * frame's fields under their {@linkcode CanFrame} names.
 *
 * ```text
 * {"timestamp":1700000000.25,"arbitrationId":291,"isExtendedId":false,"isRemoteFrame":false,"isErrorFrame":false,"isFd":false,"bitrateSwitch":false,"errorStateIndicator":false,"dlc":2,"data":"1122","channel":"vcan0","isRx":true}
 * ```
 *
 * | field | type | when absent on reading |
 * | --- | --- | --- |
 * | `timestamp` | number, seconds since the epoch (every digit kept) | required |
 * | `arbitrationId` | number | required |
 * | `isExtendedId` | boolean | `true`, python-can's default |
 * | `isRemoteFrame`, `isErrorFrame`, `isFd`, `bitrateSwitch`, `errorStateIndicator` | boolean | `false` |
 * | `dlc` | number, a byte count | the data length |
 * | `data` | lowercase hex string (an array of byte values is read too) | empty |
 * | `channel` | string or number | not set (written only when set) |
 * | `isRx` | boolean | not set (written only when set) |
 *
 * Other fields are ignored on reading. Blank lines are skipped.
 *
 * @module
 */

import { type CanFrame, type CanFrameInit, createFrame, validateFrame } from "../core/frame.ts";
import { readFrameLines, TextLogWriter } from "./_text.ts";
import type { LogSink, ReadLogOptions } from "./types.ts";

/**
 * Encodes a frame as one `.jsonl` line (without the line end).
 *
 * @param frame The frame; it is checked with `validateFrame()`.
 * @returns The JSON text.
 * @throws {TypeError} When a field has the wrong type.
 * @throws {RangeError} When the frame breaks a CAN rule.
 * @example
 * ```ts
 * import { stringifyJsonl } from "./jsonl.ts";
 * import { createFrame } from "../core/frame.ts";
 * const line = stringifyJsonl(createFrame({ arbitrationId: 1, data: [0xab] }));
 * if (JSON.parse(line).data !== "ab") throw new Error(line);
 * ```
 */
export function stringifyJsonl(frame: CanFrame): string {
  const f = validateFrame(frame);
  const object: Record<string, unknown> = {
    timestamp: f.timestamp,
    arbitrationId: f.arbitrationId,
    isExtendedId: f.isExtendedId,
    isRemoteFrame: f.isRemoteFrame,
    isErrorFrame: f.isErrorFrame,
    isFd: f.isFd,
    bitrateSwitch: f.bitrateSwitch,
    errorStateIndicator: f.errorStateIndicator,
    dlc: f.dlc,
    data: Array.from(f.data, (b) => b.toString(16).padStart(2, "0")).join(""),
  };
  if (f.channel !== undefined) {
    if (typeof f.channel !== "string" && typeof f.channel !== "number") {
      throw new TypeError(`channel must be a string or a number, got ${typeof f.channel}`);
    }
    object.channel = f.channel;
  }
  if (f.isRx !== undefined) {
    if (typeof f.isRx !== "boolean") {
      throw new TypeError(`isRx must be a boolean, got ${typeof f.isRx}`);
    }
    object.isRx = f.isRx;
  }
  return JSON.stringify(object);
}

const BOOLEANS = [
  "isExtendedId",
  "isRemoteFrame",
  "isErrorFrame",
  "isFd",
  "bitrateSwitch",
  "errorStateIndicator",
  "isRx",
] as const;

function parseData(value: unknown): Uint8Array {
  if (typeof value === "string") {
    if (!/^([0-9a-fA-F]{2})*$/.test(value)) {
      throw new SyntaxError(`data ${JSON.stringify(value)} is not an even number of hex digits`);
    }
    return Uint8Array.from(value.match(/../g) ?? [], (h) => parseInt(h, 16));
  }
  if (Array.isArray(value) && value.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) {
    return Uint8Array.from(value);
  }
  throw new TypeError(
    `data must be a hex string or an array of bytes, got ${JSON.stringify(value)}`,
  );
}

/**
 * Decodes one `.jsonl` line.
 *
 * @param line The JSON text of one frame.
 * @returns The frame.
 * @throws {SyntaxError} When the line is not JSON.
 * @throws {TypeError} When it is not an object or a field has the wrong type.
 * @throws {RangeError} When the frame breaks a CAN rule.
 * @example
 * ```ts
 * import { parseJsonl } from "./jsonl.ts";
 * const frame = parseJsonl('{"timestamp":1.5,"arbitrationId":291,"isExtendedId":false,"data":"0102"}');
 * if (frame.dlc !== 2 || frame.isExtendedId) throw new Error();
 * ```
 */
export function parseJsonl(line: string): CanFrame {
  const object: unknown = JSON.parse(line);
  if (object === null || typeof object !== "object" || Array.isArray(object)) {
    throw new TypeError(`A .jsonl line must be a JSON object, got ${line.slice(0, 80)}`);
  }
  const o = object as Record<string, unknown>;
  for (const key of ["timestamp", "arbitrationId"]) {
    if (typeof o[key] !== "number") {
      throw new TypeError(
        o[key] === undefined
          ? `${key} is missing`
          : `${key} must be a number, got ${JSON.stringify(o[key])}`,
      );
    }
  }
  const init: CanFrameInit = {
    timestamp: o.timestamp as number,
    arbitrationId: o.arbitrationId as number,
    data: o.data === undefined ? [] : parseData(o.data),
  };
  for (const key of BOOLEANS) {
    if (o[key] === undefined) continue;
    if (typeof o[key] !== "boolean") {
      throw new TypeError(`${key} must be a boolean, got ${JSON.stringify(o[key])}`);
    }
    init[key] = o[key] as boolean;
  }
  if (o.dlc !== undefined) {
    if (typeof o.dlc !== "number") {
      throw new TypeError(`dlc must be a number, got ${JSON.stringify(o.dlc)}`);
    }
    init.dlc = o.dlc;
  }
  if (o.channel !== undefined) {
    if (typeof o.channel !== "string" && typeof o.channel !== "number") {
      throw new TypeError(`channel must be a string or a number, got ${JSON.stringify(o.channel)}`);
    }
    init.channel = o.channel;
  }
  return validateFrame(createFrame(init));
}

/**
 * Writes one JSON object per frame.
 *
 * @example
 * ```ts
 * import { JsonlWriter } from "./jsonl.ts";
 * import { createFrame } from "../core/frame.ts";
 * const chunks: Uint8Array[] = [];
 * const writer = new JsonlWriter(new WritableStream({ write: (c) => void chunks.push(c) }));
 * await writer.write(createFrame({ timestamp: 1.5, arbitrationId: 0x123, data: [1] }));
 * await writer.close();
 * if (!new TextDecoder().decode(chunks[0]).endsWith('"data":"01"}\n')) throw new Error();
 * ```
 */
export class JsonlWriter extends TextLogWriter {
  /** @param sink Where the text goes; closed by {@linkcode JsonlWriter.close}. */
  constructor(sink: LogSink) {
    super(sink);
  }

  /**
   * Adds a frame.
   *
   * @param frame The frame.
   * @returns Once the frame is buffered.
   * @throws {TypeError} When the writer is closed or a field has the wrong type.
   * @throws {RangeError} When the frame breaks a CAN rule.
   */
  async write(frame: CanFrame): Promise<void> {
    this.out.check();
    await this.out.write(stringifyJsonl(frame) + "\n");
  }
}

/**
 * Reads one JSON object per line.
 *
 * @param stream The file's bytes.
 * @param options `onError` to skip bad lines instead of throwing.
 * @returns The frames.
 * @throws {SyntaxError} `line N: ...` for the first bad line when there is no `onError`.
 * @example
 * ```ts
 * import { readJsonl } from "./jsonl.ts";
 * const text = '{"timestamp":1,"arbitrationId":5,"data":[1,2]}\n';
 * const [frame] = await Array.fromAsync(readJsonl(new Blob([text]).stream()));
 * if (frame.arbitrationId !== 5 || frame.dlc !== 2) throw new Error();
 * ```
 */
export function readJsonl(
  stream: ReadableStream<Uint8Array>,
  options: ReadLogOptions = {},
): AsyncGenerator<CanFrame> {
  return readFrameLines(stream, options, parseJsonl);
}
