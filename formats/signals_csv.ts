/**
 * Decoded signals as CSV, one row per signal value, for `logger --dbc`:
 * `timestamp,message,signal,value,unit,label`.
 *
 * @module
 */

import type { CanFrame } from "../core/frame.ts";
import type { DecodedMessage } from "../core/dbc/types.ts";
import { pythonFloatRepr } from "./_python.ts";
import { TextLogWriter } from "./_text.ts";
import type { LogSink } from "./types.ts";

/** The header line of {@linkcode SignalsCsvWriter}. */
export const SIGNALS_CSV_HEADER = "timestamp,message,signal,value,unit,label";

/** A CSV field, quoted (RFC 4180) when it holds a comma, a quote or a line break. */
function field(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * Writes the signals of each frame its decoder knows; other frames write nothing.
 *
 * @example
 * ```ts
 * import { SignalsCsvWriter } from "./signals_csv.ts";
 * import { parseDbc } from "../core/dbc/parse.ts";
 * const db = parseDbc('BO_ 1 Gearbox: 1 X\n SG_ Gear : 0|8@1+ (1,0) [0|7] "" X\nVAL_ 1 Gear 3 "Third" ;');
 * let text = "";
 * const sink = new WritableStream<Uint8Array>({ write: (c) => void (text += new TextDecoder().decode(c)) });
 * const writer = new SignalsCsvWriter(sink, (frame) => db.decode(frame));
 * await writer.write({ ...db.encode("Gearbox", { Gear: 3 }), timestamp: 1.5 });
 * await writer.close();
 * if (text !== "timestamp,message,signal,value,unit,label\n1.5,Gearbox,Gear,3,,Third\n") throw new Error(text);
 * ```
 */
export class SignalsCsvWriter extends TextLogWriter {
  #decode: (frame: CanFrame) => DecodedMessage | undefined;

  /**
   * @param sink Where the text goes; closed by `close()`.
   * @param decode Decodes a frame, `undefined` for one it does not know.
   */
  constructor(sink: LogSink, decode: (frame: CanFrame) => DecodedMessage | undefined) {
    super(sink);
    this.#decode = decode;
    void this.out.write(SIGNALS_CSV_HEADER + "\n");
  }

  /**
   * Adds one row per signal of the frame.
   *
   * @param frame The frame.
   * @returns Once the rows are buffered.
   */
  async write(frame: CanFrame): Promise<void> {
    this.out.check();
    const decoded = this.#decode(frame);
    if (!decoded) return;
    const time = pythonFloatRepr(frame.timestamp);
    let rows = "";
    for (const [name, signal] of Object.entries(decoded.signals)) {
      rows += `${time},${field(decoded.name)},${field(name)},${signal.value},${
        field(signal.unit)
      },${field(signal.label ?? "")}\n`;
    }
    if (rows) await this.out.write(rows);
  }
}
