/**
 * The `.csv` format of python-can's `CSVWriter` and `CSVReader`:
 *
 * ```text
 * timestamp,arbitration_id,extended,remote,error,dlc,data
 * 1700000000.25,0x123,0,0,0,2,ESI=
 * ```
 *
 * | column | content |
 * | --- | --- |
 * | `timestamp` | Python's `repr()` of the float (every digit, so it reads back exactly) |
 * | `arbitration_id` | hex, `0x` and lowercase |
 * | `extended`, `remote`, `error` | `1` or `0` |
 * | `dlc` | the byte count (python-can's `dlc`) |
 * | `data` | base64 |
 *
 * The format has no CAN FD columns: as python-can, the writer drops
 * `isFd`, `bitrateSwitch` and `errorStateIndicator`. The reader marks a frame
 * with more than 8 bytes as CAN FD (python-can leaves it a classic frame,
 * which the frame model cannot hold). Channel and direction are not carried.
 *
 * The reader wants the header line first; a row must have the 7 columns, a
 * decimal timestamp, a hex id, `0`/`1` flags, a decimal dlc and base64 data.
 *
 * @module
 */

import { type CanFrame, createFrame, validateFrame } from "../core/frame.ts";
import { pythonFloatRepr } from "./_python.ts";
import { LineErrors, readLines, TextLogWriter } from "./_text.ts";
import type { LogSink, ReadLogOptions } from "./types.ts";

/** The header line python-can's `CSVWriter` writes. */
export const CSV_HEADER = "timestamp,arbitration_id,extended,remote,error,dlc,data";

function toBase64(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text);
}

function fromBase64(text: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 === 1) {
    throw new SyntaxError(`${JSON.stringify(text)} is not base64`);
  }
  let binary: string;
  try {
    binary = atob(text);
  } catch {
    throw new SyntaxError(`${JSON.stringify(text)} is not base64`);
  }
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/**
 * Writes python-can's CSV format.
 *
 * @example
 * ```ts
 * import { CsvWriter } from "./csv.ts";
 * import { createFrame } from "../core/frame.ts";
 * const chunks: Uint8Array[] = [];
 * const writer = new CsvWriter(new WritableStream({ write: (c) => void chunks.push(c) }));
 * await writer.write(createFrame({ timestamp: 1.5, arbitrationId: 0x123, isExtendedId: false, data: [1, 2] }));
 * await writer.close();
 * const text = new TextDecoder().decode(chunks[0]);
 * if (text.split("\n")[1] !== "1.5,0x123,0,0,0,2,AQI=") throw new Error(text);
 * ```
 */
export class CsvWriter extends TextLogWriter {
  /**
   * Buffers the header line.
   *
   * @param sink Where the text goes; closed by {@linkcode CsvWriter.close}.
   */
  constructor(sink: LogSink) {
    super(sink);
    void this.out.write(CSV_HEADER + "\n");
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
    const row = [
      pythonFloatRepr(f.timestamp),
      "0x" + f.arbitrationId.toString(16),
      f.isExtendedId ? "1" : "0",
      f.isRemoteFrame ? "1" : "0",
      f.isErrorFrame ? "1" : "0",
      String(f.dlc),
      toBase64(f.data),
    ];
    await this.out.write(row.join(",") + "\n");
  }
}

function flag(text: string, name: string): boolean {
  if (text !== "0" && text !== "1") {
    throw new SyntaxError(`${name} must be 0 or 1, got ${JSON.stringify(text)}`);
  }
  return text === "1";
}

function parseRow(line: string): CanFrame {
  const columns = line.split(",");
  if (columns.length !== 7) {
    throw new SyntaxError(`expected 7 columns (${CSV_HEADER}), got ${columns.length}`);
  }
  const [timestampText, idText, extended, remote, error, dlcText, dataText] = columns.map((c) =>
    c.trim()
  );
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(timestampText)) {
    throw new SyntaxError(`${JSON.stringify(timestampText)} is not a timestamp`);
  }
  if (!/^(0[xX])?[0-9a-fA-F]+$/.test(idText)) {
    throw new SyntaxError(`${JSON.stringify(idText)} is not a hex arbitration_id`);
  }
  if (!/^\d+$/.test(dlcText)) throw new SyntaxError(`${JSON.stringify(dlcText)} is not a dlc`);
  const data = fromBase64(dataText);
  const isRemoteFrame = flag(remote, "remote");
  const dlc = parseInt(dlcText, 10);
  return validateFrame(createFrame({
    timestamp: parseFloat(timestampText),
    arbitrationId: parseInt(idText, 16),
    isExtendedId: flag(extended, "extended"),
    isRemoteFrame,
    isErrorFrame: flag(error, "error"),
    isFd: !isRemoteFrame && (data.length > 8 || dlc > 8),
    dlc,
    data,
  }));
}

/**
 * Reads python-can's CSV format.
 *
 * @param stream The file's bytes.
 * @param options `onError` to skip bad lines instead of throwing.
 * @returns The frames (no channel, no direction).
 * @throws {SyntaxError} `line N: ...` for the first bad line when there is no `onError`.
 * @example
 * ```ts
 * import { readCsv } from "./csv.ts";
 * const text = "timestamp,arbitration_id,extended,remote,error,dlc,data\n1.5,0x123,0,0,0,2,AQI=\n";
 * const [frame] = await Array.fromAsync(readCsv(new Blob([text]).stream()));
 * if (frame.arbitrationId !== 0x123 || frame.data[1] !== 2) throw new Error();
 * ```
 */
export async function* readCsv(
  stream: ReadableStream<Uint8Array>,
  options: ReadLogOptions = {},
): AsyncGenerator<CanFrame> {
  const errors = new LineErrors(options);
  let empty = true;
  for await (const [number, line] of readLines(stream)) {
    if (empty) {
      empty = false;
      if (line.trim() !== CSV_HEADER) {
        errors.report(number, `expected the header ${JSON.stringify(CSV_HEADER)}`);
      }
      continue;
    }
    if (line.trim() === "") continue;
    let frame: CanFrame;
    try {
      frame = parseRow(line);
    } catch (error) {
      errors.report(number, error);
      continue;
    }
    yield frame;
  }
  if (empty) errors.report(1, "the file is empty");
}
