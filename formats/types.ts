/**
 * The contract every log format of `formats/` follows: a writer class with
 * `write()`, `flush()` and `close()` over a byte sink, and a reader as an
 * async generator over a byte stream.
 *
 * Bad lines: a reader throws a `SyntaxError` whose message starts with
 * `line N: ` at the first line it cannot read (an empty file is
 * `line 1: the file is empty`). With an `onError` callback it reports each
 * such error there instead, skips the line and reads on.
 *
 * @module
 */

import type { CanFrame } from "../core/frame.ts";

/**
 * Where a writer puts its bytes: a `WritableStream`, or anything with a
 * `writable` stream such as a `Deno.FsFile`. The writer closes it on `close()`.
 */
export type LogSink = WritableStream<Uint8Array> | {
  readonly writable: WritableStream<Uint8Array>;
};

/**
 * A log file writer. Frames are buffered; `flush()` hands them to the sink
 * and `close()` flushes everything, writes the format's trailer and closes
 * the sink, so no frame is lost when `close()` is awaited.
 */
export interface LogWriter extends AsyncDisposable {
  /**
   * Adds a frame to the log.
   *
   * @param frame The frame; it is checked with `validateFrame()`.
   * @returns A promise that settles once the frame is buffered (and, when the
   *   buffer was full, written to the sink).
   * @throws {TypeError} When the writer is closed or a field has the wrong type.
   * @throws {RangeError} When the frame breaks a CAN rule or the format cannot hold it.
   */
  write(frame: CanFrame): Promise<void>;
  /** Writes every buffered frame to the sink. */
  flush(): Promise<void>;
  /** Flushes, writes the trailer and closes the sink. Calling it again does nothing. */
  close(): Promise<void>;
}

/** Options every reader takes. */
export interface ReadLogOptions {
  /**
   * Called with each bad line's `SyntaxError` (message `line N: ...`); the
   * line is skipped and reading goes on. Without it the reader throws that
   * error at the first bad line.
   */
  onError?: (error: SyntaxError) => void;
}
