/**
 * The `.log` format: one `candump -L` line per frame, as can-utils' `candump
 * -l` and python-can's `CanutilsLogWriter` write it (see `candump.ts`).
 *
 * Blank lines and candump's own `DROPCOUNT:` notices are skipped.
 *
 * @module
 */

import { DEFAULT_CANDUMP_CHANNEL, parseCandump, stringifyCandump } from "../core/candump.ts";
import { type CanFrame, validateFrame } from "../core/frame.ts";
import { readFrameLines, TextLogWriter } from "./_text.ts";
import type { LogSink, ReadLogOptions } from "./types.ts";

/** Options of {@linkcode CandumpLogWriter}. */
export interface CandumpLogWriterOptions {
  /**
   * Channel written for frames without one; a number `n` is written `can<n>`.
   * @default {"vcan0"}
   */
  channel?: string | number;
}

/**
 * Writes `candump -L` lines (`(1700000000.250000) vcan0 123#11223344`).
 *
 * A frame with `isRx` set gets python-can's direction suffix ` R` or ` T`.
 *
 * @example
 * ```ts
 * import { CandumpLogWriter } from "./candump_log.ts";
 * import { createFrame } from "../core/frame.ts";
 * const chunks: Uint8Array[] = [];
 * const writer = new CandumpLogWriter(new WritableStream({ write: (c) => void chunks.push(c) }));
 * await writer.write(createFrame({ timestamp: 1.5, arbitrationId: 0x123, isExtendedId: false, data: [1] }));
 * await writer.close();
 * const text = new TextDecoder().decode(chunks[0]);
 * if (text !== "(0000000001.500000) vcan0 123#01\n") throw new Error(text);
 * ```
 */
export class CandumpLogWriter extends TextLogWriter {
  #channel: string | number;

  /**
   * @param sink Where the text goes; closed by {@linkcode CandumpLogWriter.close}.
   * @param options Default channel.
   */
  constructor(sink: LogSink, options: CandumpLogWriterOptions = {}) {
    super(sink);
    this.#channel = options.channel ?? DEFAULT_CANDUMP_CHANNEL;
  }

  /**
   * Adds a frame.
   *
   * @param frame The frame.
   * @returns Once the frame is buffered.
   * @throws {TypeError} When the writer is closed or a field has the wrong type.
   * @throws {RangeError} When the frame breaks a CAN rule or has a negative timestamp.
   */
  async write(frame: CanFrame): Promise<void> {
    this.out.check();
    await this.out.write(stringifyCandump(validateFrame(frame), this.#channel) + "\n");
  }
}

/**
 * Reads `candump -L` lines, as candump and python-can write them.
 *
 * @param stream The file's bytes.
 * @param options `onError` to skip bad lines instead of throwing.
 * @returns The frames, with `timestamp`, `channel` and (when the line has a direction) `isRx`.
 * @throws {SyntaxError} `line N: ...` for the first bad line when there is no `onError`.
 * @example
 * ```ts
 * import { readCandumpLog } from "./candump_log.ts";
 * const text = "(1700000000.250000) vcan0 123#11223344\n(1700000000.500000) vcan0 1F334455#R\n";
 * const frames = await Array.fromAsync(readCandumpLog(new Blob([text]).stream()));
 * if (frames.length !== 2 || !frames[1].isRemoteFrame) throw new Error();
 * ```
 */
export function readCandumpLog(
  stream: ReadableStream<Uint8Array>,
  options: ReadLogOptions = {},
): AsyncGenerator<CanFrame> {
  return readFrameLines(stream, options, parseCandump, (line) => line.startsWith("DROPCOUNT:"));
}
