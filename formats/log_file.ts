/**
 * Log files by name: the format follows the extension, as python-can's
 * `can.Logger` and `can.LogReader` choose it, with an optional `.gz` suffix
 * for gzip (`trace.asc.gz`).
 *
 * | extension | format |
 * | --- | --- |
 * | `.log` | `candump -L` lines ({@linkcode CandumpLogWriter}, {@linkcode readCandumpLog}) |
 * | `.asc` | Vector ASCII ({@linkcode AscWriter}, {@linkcode readAsc}) |
 * | `.csv` | python-can CSV ({@linkcode CsvWriter}, {@linkcode readCsv}) |
 * | `.jsonl` | one JSON object per line ({@linkcode JsonlWriter}, {@linkcode readJsonl}) |
 *
 * @module
 */

import type { CanFrame } from "../core/frame.ts";
import { AscWriter, readAsc, type ReadAscOptions } from "./asc.ts";
import { CandumpLogWriter, readCandumpLog } from "./candump_log.ts";
import { CsvWriter, readCsv } from "./csv.ts";
import { JsonlWriter, readJsonl } from "./jsonl.ts";
import { fileSink } from "./_file_sink.ts";
import { gzipSink } from "./_gzip.ts";
import { gunzipStream } from "./_gunzip.ts";
import { channel2int } from "./_python.ts";
import type { LogSink, LogWriter } from "./types.ts";

/** A log format, named after its file extension. */
export type LogFormat = "log" | "asc" | "csv" | "jsonl";

/** Every {@linkcode LogFormat}. */
export const LOG_FORMATS: readonly LogFormat[] = Object.freeze(["log", "asc", "csv", "jsonl"]);

/** What {@linkcode logFormatOf} found in a file name. */
export interface LogFileType {
  /** The format. */
  format: LogFormat;
  /** `true` when the name ends in `.gz`. */
  gzip: boolean;
}

/**
 * Finds the format of a log file from its name (case-insensitive).
 *
 * @param path The file name or URL.
 * @returns The format, and whether the file is gzipped.
 * @throws {RangeError} When the extension is not one of `.log`, `.asc`, `.csv`, `.jsonl`, optionally followed by `.gz`.
 * @example
 * ```ts
 * import { logFormatOf } from "./log_file.ts";
 * const type = logFormatOf("trace.ASC.gz");
 * if (type.format !== "asc" || !type.gzip) throw new Error();
 * ```
 */
export function logFormatOf(path: string | URL): LogFileType {
  const name = (path instanceof URL ? path.pathname : path).split(/[\\/]/).pop() ?? "";
  const parts = name.toLowerCase().split(".");
  const gzip = parts.length > 2 && parts[parts.length - 1] === "gz";
  const extension = parts.length > 1 ? parts[parts.length - (gzip ? 2 : 1)] : "";
  if (!(LOG_FORMATS as readonly string[]).includes(extension)) {
    throw new RangeError(
      `Unknown log format of ${
        JSON.stringify(String(path))
      }: use .log, .asc, .csv or .jsonl, optionally with .gz`,
    );
  }
  return { format: extension as LogFormat, gzip };
}

/** Options of {@linkcode createLogWriter} and {@linkcode openLogWriter}. */
export interface LogWriterOptions {
  /**
   * Channel assumed for frames that carry none: `.log` writes it (a number
   * `n` as `can<n>`, default `"vcan0"`), `.asc` writes its number plus one
   * (default ASC channel 1). Ignored by `.csv` and `.jsonl`.
   */
  channel?: string | number;
  /**
   * The time in an `.asc` file's `date` header.
   * @default {new Date()}
   */
  now?: Date;
}

/**
 * Creates the writer of a format over a sink.
 *
 * @param format The format.
 * @param sink Where the text goes; closed by the writer's `close()`.
 * @param options Default channel and `.asc` header date.
 * @returns The writer.
 * @throws {RangeError} When `format` is not a {@linkcode LogFormat}.
 * @example
 * ```ts
 * import { createLogWriter } from "./log_file.ts";
 * import { createFrame } from "../core/frame.ts";
 * const writer = createLogWriter("log", new WritableStream());
 * await writer.write(createFrame({ arbitrationId: 1 }));
 * await writer.close();
 * ```
 */
export function createLogWriter(
  format: LogFormat,
  sink: LogSink,
  options: LogWriterOptions = {},
): LogWriter {
  switch (format) {
    case "log":
      return new CandumpLogWriter(sink, { channel: options.channel });
    case "asc": {
      const number = channel2int(options.channel);
      return new AscWriter(sink, {
        channel: number === undefined ? undefined : number + 1,
        now: options.now,
      });
    }
    case "csv":
      return new CsvWriter(sink);
    case "jsonl":
      return new JsonlWriter(sink);
    default:
      throw new RangeError(`Unknown log format ${JSON.stringify(format)}`);
  }
}

/** Options of {@linkcode readLog} and {@linkcode readLogFile}. */
export type ReadLogFileOptions = ReadAscOptions;

/**
 * Reads frames of a format from a byte stream.
 *
 * @param format The format.
 * @param stream The file's bytes (already decompressed).
 * @param options `onError`, and `relativeTimestamp` for `.asc`.
 * @returns The frames.
 * @throws {SyntaxError} `line N: ...` for the first bad line when there is no `onError`.
 * @throws {RangeError} When `format` is not a {@linkcode LogFormat}.
 * @example
 * ```ts
 * import { readLog } from "./log_file.ts";
 * const stream = new Blob(["(1.000000) vcan0 123#01\n"]).stream();
 * const frames = await Array.fromAsync(readLog("log", stream));
 * if (frames[0].arbitrationId !== 0x123) throw new Error();
 * ```
 */
export function readLog(
  format: LogFormat,
  stream: ReadableStream<Uint8Array>,
  options: ReadLogFileOptions = {},
): AsyncGenerator<CanFrame> {
  switch (format) {
    case "log":
      return readCandumpLog(stream, options);
    case "asc":
      return readAsc(stream, options);
    case "csv":
      return readCsv(stream, options);
    case "jsonl":
      return readJsonl(stream, options);
    default:
      throw new RangeError(`Unknown log format ${JSON.stringify(format)}`);
  }
}

/**
 * Creates (or truncates) a log file and returns its writer; the format
 * follows the extension, and a `.gz` suffix gzips it. Await `close()` to
 * have every frame on disk.
 *
 * @param path The file, e.g. `trace.asc` or `trace.log.gz`.
 * @param options Default channel and `.asc` header date.
 * @returns The writer.
 * @throws {RangeError} When the extension is unknown.
 * @throws {Deno.errors.NotFound} And the other errors of `Deno.open()`.
 * @example
 * ```ts
 * import { openLogWriter, readLogFile } from "./log_file.ts";
 * import { createFrame } from "../core/frame.ts";
 * const path = await Deno.makeTempFile({ suffix: ".csv.gz" });
 * const writer = await openLogWriter(path);
 * await writer.write(createFrame({ timestamp: 1, arbitrationId: 0x123, data: [1] }));
 * await writer.close();
 * const frames = await Array.fromAsync(readLogFile(path));
 * if (frames.length !== 1 || frames[0].arbitrationId !== 0x123) throw new Error();
 * await Deno.remove(path);
 * ```
 */
export async function openLogWriter(
  path: string | URL,
  options: LogWriterOptions = {},
): Promise<LogWriter> {
  const { format, gzip } = logFormatOf(path);
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  const sink = gzip ? gzipSink(fileSink(file)) : fileSink(file);
  return createLogWriter(format, sink, options);
}

/**
 * Reads the frames of a log file; the format follows the extension, and a
 * `.gz` suffix is gunzipped, every member of it (an empty `.gz` file reads
 * as an empty file).
 * The file is closed when the frames end, when reading stops early, and on
 * an error.
 *
 * @param path The file, e.g. `trace.asc` or `trace.log.gz`.
 * @param options `onError`, and `relativeTimestamp` for `.asc`.
 * @returns The frames.
 * @throws {RangeError} When the extension is unknown.
 * @throws {SyntaxError} `line N: ...` for the first bad line when there is no `onError`.
 * @throws {TypeError} When a `.gz` file is not valid gzip (`invalid gzip header`,
 *   `corrupt gzip stream ...` for a truncated or damaged one).
 * @example
 * ```ts
 * import { readLogFile } from "./log_file.ts";
 * const path = await Deno.makeTempFile({ suffix: ".log" });
 * await Deno.writeTextFile(path, "(1700000000.250000) vcan0 123#11223344\n");
 * for await (const frame of readLogFile(path)) {
 *   if (frame.timestamp !== 1700000000.25) throw new Error();
 * }
 * await Deno.remove(path);
 * ```
 */
export async function* readLogFile(
  path: string | URL,
  options: ReadLogFileOptions = {},
): AsyncGenerator<CanFrame> {
  const { format, gzip } = logFormatOf(path);
  const file = await Deno.open(path, { read: true });
  try {
    let stream: ReadableStream<Uint8Array> = file.readable;
    // An empty .gz file is an empty file (gunzip would call it a corrupt stream).
    if (gzip && (await file.stat()).size > 0) {
      stream = stream.pipeThrough(gunzipStream());
    }
    yield* readLog(format, stream, options);
  } finally {
    try {
      file.close();
    } catch {
      // the stream already closed it
    }
  }
}
