/**
 * The `.asc` format: Vector ASCII logs, written exactly as python-can 4.1's
 * `ASCWriter` writes them and read as its `ASCReader` reads them.
 *
 * A written file looks like this (dates in local time):
 *
 * ```text
 * date Tue Nov 14 10:13:20.000 PM 2023
 * base hex  timestamps absolute
 * internal events logged
 * Begin Triggerblock Tue Nov 14 10:13:20.25 PM 2023
 *  0.000000 Start of measurement
 *  0.000000 1  123             Rx   d 2 11 22
 *  0.500000 1  1F334455x       Tx   r 8
 *  1.000000 CANFD   1 Rx        123                                   1 0 9 12 00 00 00 00 00 00 00 00 00 00 00 00        0    0     3000        0        0        0        0        0
 *  1.500000 1  ErrorFrame
 * End TriggerBlock
 * ```
 *
 * Timestamps are relative to the first frame written; the channel is the
 * frame's channel number plus one (`"can0"` and `0` are `1`), or the writer's
 * `channel` when the frame has none. As in python-can, an error frame is
 * written with the writer's channel and no content (`1  ErrorFrame`), and an
 * unset `isRx` is written `Rx`. Unlike python-can, a frame older than the
 * first one is written at `0.000000` rather than with its absolute time.
 *
 * Reading follows python-can's `ASCReader`: `base hex|dec`, ids with an `x`
 * for extended, `Rx`/`Tx` (`isRx` is `true` for `Rx` only), `d`/`r` classic
 * lines, `CANFD` lines (always `isFd`, as python-can 4.1 reads them), and
 * `ErrorFrame` lines as an error frame with python-can's `Message` defaults
 * (id 0, extended, no data, `isRx`). Channels read back as the ASC number
 * minus one. By default timestamps are relative to the trigger block, as
 * python-can's `LogReader` gives them; with `relativeTimestamp: false` the
 * `Begin Triggerblock` (or `date`) time is added, to the millisecond it carries.
 * Other events (statistics, comments, J1939, `Start of measurement`) are skipped.
 *
 * Where the frame model is stricter than python-can's reader: a classic DLC
 * 9-15 reads as 8 bytes (`dlc: 8`); a `CANFD` line with 0 data bytes is an
 * empty FD data frame (python-can makes it a remote frame, which CAN FD does
 * not have); a line with fewer data bytes than its DLC, a bad number or a
 * missing column is a bad line; so is a line that is neither a header keyword,
 * a comment nor an event starting with a timestamp. A `timestamps relative`
 * header (each timestamp counts from the previous event, per Vector) is
 * honoured; python-can 4.1 ignores it.
 *
 * @module
 */

import {
  CANFD_LENGTHS,
  type CanFrame,
  createFrame,
  lengthToDlc,
  validateFrame,
} from "../core/frame.ts";
import { channel2int, pythonFloatRepr } from "./_python.ts";
import { LineErrors, readLines, TextLogWriter } from "./_text.ts";
import type { LogSink, ReadLogOptions } from "./types.ts";

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

const pad2 = (n: number) => String(n).padStart(2, "0");

/** `strftime("%a %b %d %I:%M:%S.<fraction> %p %Y")` in local time, in the C locale. */
function ascDate(date: Date, fraction: string): string {
  const hours = date.getHours();
  return `${WEEKDAYS[date.getDay()]} ${MONTHS[date.getMonth()]} ${pad2(date.getDate())} ` +
    `${pad2(hours % 12 || 12)}:${pad2(date.getMinutes())}:${pad2(date.getSeconds())}.${fraction} ` +
    `${hours < 12 ? "AM" : "PM"} ${date.getFullYear()}`;
}

/** Python's `"{: 9.6f}".format(t)` for `t >= 0`. */
function eventTime(seconds: number): string {
  return ` ${seconds.toFixed(6)}`.padStart(9);
}

/** Options of {@linkcode AscWriter}. */
export interface AscWriterOptions {
  /**
   * ASC channel number (1-based) for frames without a channel and for every
   * error frame, as python-can's `ASCWriter(channel=)`.
   * @default {1}
   */
  channel?: number;
  /**
   * The time written in the `date` header line.
   * @default {new Date()}
   */
  now?: Date;
}

/**
 * Writes a Vector ASCII log as python-can 4.1's `ASCWriter`.
 *
 * @example
 * ```ts
 * import { AscWriter } from "./asc.ts";
 * import { createFrame } from "../core/frame.ts";
 * const chunks: Uint8Array[] = [];
 * const writer = new AscWriter(new WritableStream({ write: (c) => void chunks.push(c) }));
 * await writer.write(createFrame({ timestamp: 10, arbitrationId: 0x123, isExtendedId: false, data: [0x11] }));
 * await writer.close();
 * const lines = new TextDecoder().decode(chunks[0]).split("\n");
 * if (lines[5] !== " 0.000000 1  123             Rx   d 1 11") throw new Error(lines[5]);
 * if (lines[6] !== "End TriggerBlock") throw new Error(lines[6]);
 * ```
 */
export class AscWriter extends TextLogWriter {
  #channel: number;
  #started: number | undefined;

  /**
   * Buffers the header (`date`, `base hex  timestamps absolute`, `internal events logged`).
   *
   * @param sink Where the text goes; closed by {@linkcode AscWriter.close}.
   * @param options Default channel and header date.
   * @throws {RangeError} When `options.channel` is not a number.
   */
  constructor(sink: LogSink, options: AscWriterOptions = {}) {
    const channel = options.channel ?? 1;
    if (typeof channel !== "number" || !Number.isFinite(channel)) {
      throw new RangeError(
        `The ASC channel must be a number, got ${JSON.stringify(options.channel)}`,
      );
    }
    super(sink);
    this.#channel = channel;
    const now = options.now ?? new Date();
    void this.out.write(
      `date ${ascDate(now, String(now.getMilliseconds()).padStart(3, "0"))}\n` +
        "base hex  timestamps absolute\ninternal events logged\n",
    );
  }

  /** One write per frame, so that frames written without awaiting keep their order. */
  #event(timestamp: number, message: string): Promise<void> {
    let text = "";
    if (this.#started === undefined) {
      this.#started = timestamp;
      // python-can writes the first digits of repr(timestamp) as the fraction.
      const fraction = (pythonFloatRepr(timestamp).split(".")[1] ?? "0").slice(0, 3);
      const date = ascDate(new Date(Math.floor(timestamp) * 1000), fraction);
      text = `Begin Triggerblock ${date}\n${eventTime(0)} Start of measurement\n`;
    }
    const relative = timestamp >= this.#started ? timestamp - this.#started : 0;
    return this.out.write(`${text}${eventTime(relative)} ${message}\n`);
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
    const f = validateFrame(frame);
    if (f.isErrorFrame) return await this.#event(f.timestamp, `${this.#channel}  ErrorFrame`);
    const number = channel2int(f.channel);
    const channel = number === undefined ? this.#channel : number + 1;
    const id = f.arbitrationId.toString(16).toUpperCase() + (f.isExtendedId ? "x" : "");
    const dir = f.isRx === false ? "Tx" : "Rx";
    const data = Array.from(f.data, (b) => b.toString(16).toUpperCase().padStart(2, "0")).join(" ");
    let message: string;
    if (f.isFd) {
      const flags = (1 << 12) | (f.bitrateSwitch ? 1 << 13 : 0) |
        (f.errorStateIndicator ? 1 << 14 : 0);
      message = [
        "CANFD",
        String(channel).padStart(3),
        dir.padEnd(4),
        `${id.padStart(8)}  ${"".padStart(32)}`,
        f.bitrateSwitch ? "1" : "0",
        f.errorStateIndicator ? "1" : "0",
        lengthToDlc(f.data.length).toString(16),
        String(f.data.length).padStart(2),
        data,
        "0".padStart(8),
        "0".padStart(4),
        flags.toString(16).toUpperCase().padStart(8),
        ...new Array(5).fill("0".padStart(8)),
      ].join(" ");
    } else {
      const dtype = `${f.isRemoteFrame ? "r" : "d"} ${f.dlc.toString(16)}`;
      message = `${channel}  ${id.padEnd(15)} ${dir.padEnd(4)} ${dtype} ${data}`;
    }
    await this.#event(f.timestamp, message);
  }

  /** Writes `End TriggerBlock`, flushes and closes the sink. */
  override close(): Promise<void> {
    return this.out.close("End TriggerBlock\n");
  }
}

/** Options of {@linkcode readAsc}. */
export interface ReadAscOptions extends ReadLogOptions {
  /**
   * `true`: timestamps count from the trigger block (python-can's default);
   * `false`: the `Begin Triggerblock` (or `date`) time, in local time, is added.
   * @default {true}
   */
  relativeTimestamp?: boolean;
}

const MONTH_NUMBERS: Record<string, number> = {
  Jan: 1,
  Feb: 2,
  Mar: 3,
  Apr: 4,
  May: 5,
  Jun: 6,
  Jul: 7,
  Aug: 8,
  Sep: 9,
  Oct: 10,
  Nov: 11,
  Dec: 12,
  "Mär": 3,
  Mai: 5,
  Okt: 10,
  Dez: 12,
};

/** python-can's `ASCReader._datetime_to_timestamp()`, for the text after the weekday. */
function parseAscDate(text: string): number {
  const match =
    /^(\S+)\s+(\d{1,2})\s+(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,6}))?(?:\s+(AM|PM))?\s+(\d{4})$/i
      .exec(text.trim());
  const month = match &&
    (MONTH_NUMBERS[match[1]] ?? (/^\d{1,2}$/.test(match[1]) ? Number(match[1]) : 0));
  if (!match || !month || month > 12) {
    throw new SyntaxError(
      `${JSON.stringify(text)} is not a date like "Nov 14 10:13:20.250 PM 2023"`,
    );
  }
  let hours = Number(match[3]);
  if (match[7]) {
    if (hours < 1 || hours > 12) throw new SyntaxError(`${JSON.stringify(text)} has a bad hour`);
    hours = (hours % 12) + (match[7].toUpperCase() === "PM" ? 12 : 0);
  }
  const seconds = new Date(
    Number(match[8]),
    month - 1,
    Number(match[2]),
    hours,
    Number(match[4]),
    Number(match[5]),
  ).getTime() / 1000;
  const micros = Number((match[6] ?? "").padEnd(6, "0"));
  return seconds + micros / 1e6;
}

// python-can's test for a frame line: anything else that starts with a time is another event.
const FRAME_LINE = /^\d+\.\d+\s+(\d+\s+(\w+\s+(Tx|Rx)|ErrorFrame)|CANFD)/i;
const EVENT_LINE = /^\d+\.\d+(\s|$)/;

interface AscState {
  hex: boolean;
  deltas: boolean;
}

function parseInteger(text: string | undefined, hex: boolean, what: string): number {
  if (text === undefined) throw new SyntaxError(`missing ${what}`);
  if (!(hex ? /^[0-9a-f]+$/i : /^\d+$/).test(text)) {
    throw new SyntaxError(`${JSON.stringify(text)} is not a ${hex ? "hex" : "decimal"} ${what}`);
  }
  return parseInt(text, hex ? 16 : 10);
}

function parseBytes(tokens: string[], count: number, hex: boolean): number[] {
  if (tokens.length < count) {
    throw new SyntaxError(`expected ${count} data bytes, got ${tokens.length}`);
  }
  return tokens.slice(0, count).map((token) => {
    const byte = parseInteger(token, hex, "data byte");
    if (byte > 255) throw new SyntaxError(`data byte ${JSON.stringify(token)} is above 255`);
    return byte;
  });
}

function parseId(token: string | undefined, hex: boolean): [number, boolean] {
  if (token === undefined) throw new SyntaxError("missing id");
  const extended = /x$/i.test(token);
  return [parseInteger(extended ? token.slice(0, -1) : token, hex, "id"), extended];
}

/** Parses what follows the timestamp of a frame line (python-can's `_process_*_can_frame`). */
function parseFrameLine(rest: string, timestamp: number, state: AscState): CanFrame {
  const tokens = rest.split(/\s+/);
  if (tokens[0].toUpperCase() === "CANFD") {
    const [, channelText, direction, ...more] = tokens;
    const channel = parseInteger(channelText, false, "channel") - 1;
    if (direction === undefined) throw new SyntaxError("missing direction");
    const isRx = direction === "Rx";
    if (more.length > 0 && more[0].slice(0, 10).toLowerCase() === "errorframe") {
      return createFrame({ timestamp, channel, isRx, isFd: true, isErrorFrame: true });
    }
    const [arbitrationId, isExtendedId] = parseId(more[0], state.hex);
    let i = 1;
    if (more[i] !== undefined && !/^\d+$/.test(more[i])) i++; // symbolic name
    const [brs, esi, dlcText, lengthText] = more.slice(i, i + 4);
    if (lengthText === undefined) throw new SyntaxError("missing BRS, ESI, DLC or data length");
    parseInteger(dlcText, state.hex, "DLC");
    const length = parseInteger(lengthText, false, "data length");
    if (!CANFD_LENGTHS.includes(length)) {
      throw new SyntaxError(`${length} is not a CAN FD data length`);
    }
    return createFrame({
      timestamp,
      channel,
      isRx,
      arbitrationId,
      isExtendedId,
      isFd: true,
      bitrateSwitch: brs === "1",
      errorStateIndicator: esi === "1",
      data: parseBytes(more.slice(i + 4), length, state.hex),
    });
  }
  const channel = parseInteger(tokens[0], false, "channel") - 1;
  if (tokens[1]?.slice(0, 10).toLowerCase() === "errorframe") {
    return createFrame({ timestamp, channel, isRx: true, isErrorFrame: true });
  }
  const [arbitrationId, isExtendedId] = parseId(tokens[1], state.hex);
  const direction = tokens[2];
  const type = tokens[3];
  if (type === undefined) throw new SyntaxError("missing direction or frame type");
  const base = { timestamp, channel, isRx: direction === "Rx", arbitrationId, isExtendedId };
  if (type[0].toLowerCase() === "r") {
    // python-can takes the dlc only when it is made of digits.
    const dlc = tokens[4] !== undefined && /^\d+$/.test(tokens[4])
      ? Math.min(8, parseInteger(tokens[4], state.hex, "DLC"))
      : 0;
    return createFrame({ ...base, isRemoteFrame: true, dlc });
  }
  if (type.toLowerCase() !== "d") {
    throw new SyntaxError(`${JSON.stringify(type)} is not a frame type d or r`);
  }
  const code = parseInteger(tokens[4], state.hex, "DLC");
  return createFrame({ ...base, data: parseBytes(tokens.slice(5), Math.min(8, code), state.hex) });
}

/**
 * Reads a Vector ASCII log as python-can 4.1's `ASCReader` does.
 *
 * @param stream The file's bytes.
 * @param options `relativeTimestamp`, and `onError` to skip bad lines instead of throwing.
 * @returns The frames, with `channel` (ASC channel minus one) and `isRx`.
 * @throws {SyntaxError} `line N: ...` for the first bad line when there is no `onError`.
 * @example
 * ```ts
 * import { readAsc } from "./asc.ts";
 * const text = [
 *   "base hex  timestamps absolute",
 *   "Begin Triggerblock Tue Nov 14 10:13:20.250 PM 2023",
 *   "   0.500000 1  123x            Rx   d 2 AA BB",
 *   "End TriggerBlock",
 * ].join("\n");
 * const [frame] = await Array.fromAsync(readAsc(new Blob([text]).stream()));
 * if (frame.timestamp !== 0.5 || !frame.isExtendedId || frame.channel !== 0) throw new Error();
 * ```
 */
export async function* readAsc(
  stream: ReadableStream<Uint8Array>,
  options: ReadAscOptions = {},
): AsyncGenerator<CanFrame> {
  const errors = new LineErrors(options);
  const absolute = options.relativeTimestamp === false;
  const state: AscState = { hex: true, deltas: false };
  let start = 0;
  let clock = 0;
  let empty = true;
  for await (const [number, raw] of readLines(stream)) {
    const line = raw.trim();
    if (line === "") continue;
    empty = false;
    let frame: CanFrame | undefined;
    try {
      let match: RegExpExecArray | null;
      if (line.startsWith("//")) continue;
      if ((match = /^date\s+\w+\s+(.+)$/i.exec(line))) {
        if (absolute) start = parseAscDate(match[1]);
      } else if (
        (match = /^base\s+(hex|dec)(?:\s+timestamps\s+(absolute|relative))?/i.exec(line))
      ) {
        state.hex = match[1].toLowerCase() === "hex";
        state.deltas = match[2]?.toLowerCase() === "relative";
      } else if (/^(no)?\s*internal\s+events\s+logged/i.test(line)) {
        // header only
      } else if ((match = /^begin\s+triggerblock(?:\s+\w+\s+(.+))?$/i.exec(line))) {
        if (absolute && match[1]) start = parseAscDate(match[1]);
        clock = 0;
      } else if (/^end\s+triggerblock/i.test(line)) {
        // trailer only
      } else if (EVENT_LINE.test(line)) {
        const [time] = line.split(/\s/, 1);
        clock = state.deltas ? clock + parseFloat(time) : parseFloat(time);
        if (FRAME_LINE.test(line)) {
          const rest = line.slice(time.length).trim();
          frame = validateFrame(parseFrameLine(rest, clock + start, state));
        }
      } else {
        throw new SyntaxError(`${JSON.stringify(line.slice(0, 80))} is not an ASC line`);
      }
    } catch (error) {
      errors.report(number, error);
      continue;
    }
    if (frame) yield frame;
  }
  if (empty) errors.report(1, "the file is empty");
}
