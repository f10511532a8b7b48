// The logger's output file: the format by extension (formats/log_file.ts),
// gzip for .gz, append, and python-can's SizedRotatingLogger rotation (the
// full file is renamed <stem>_<YYYY-mm-ddTHHMMSS>_#<NNN><ext> and a new one
// started under the original name). Operations run one after another, so a
// periodic flush can run beside the writes.
//
// The size counted is the text the writer produces, before gzip (as
// python-can's GzipFile.tell() counts it); with rotation on, each frame's
// text is handed down at once to be counted, and collected in memory up to
// 64 kB before it goes to the disk, so a file ends within one frame's text
// (plus the format's trailer) of the limit.
//
// A flush of a .gz file writes one gzip member (formats/_gzip.ts); flushes
// closer together than GZIP_FLUSH_MS only reach the buffer, so a slow bus
// does not pay a member's header per logger tick, and a killed logger still
// loses at most about a second.
import type { CanFrame } from "../core/frame.ts";
import { fileSink } from "../formats/_file_sink.ts";
import { gzipSink } from "../formats/_gzip.ts";
import { createLogWriter, logFormatOf } from "../formats/log_file.ts";
import type { LogWriter } from "../formats/types.ts";

/** Options of {@linkcode RotatingLog.open}. */
export interface RotatingLogOptions {
  /** Start a new file once the current one holds this many bytes; 0 never. */
  maxBytes?: number;
  /** Add to an existing file instead of replacing it. */
  append?: boolean;
  /** Channel name written for frames that carry none (`.log`, `.asc`). */
  channel?: string;
  /** Writes the file instead of the extension's frame format (`logger --dbc`'s signal rows). */
  writer?: (sink: WritableStream<Uint8Array>) => LogWriter;
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** `%Y-%m-%dT%H%M%S` in local time, as python-can names rotated files. */
function stamp(date: Date): string {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T` +
    `${pad(date.getHours())}${pad(date.getMinutes())}${pad(date.getSeconds())}`;
}

/** Splits `dir/trace.asc.gz` into `dir/`, `trace` and `.asc.gz`. */
function splitName(path: string): [string, string, string] {
  const slash = path.lastIndexOf("/") + 1;
  const dir = path.slice(0, slash);
  const name = path.slice(slash);
  const { gzip } = logFormatOf(path);
  const dots = gzip ? 2 : 1;
  let cut = name.length;
  for (let i = 0; i < dots; i++) cut = name.lastIndexOf(".", cut - 1);
  return [dir, name.slice(0, cut), name.slice(cut)];
}

/** A byte sink that drops everything up to and including the first line end. */
function withoutFirstLine(sink: WritableStream<Uint8Array>): WritableStream<Uint8Array> {
  const writer = sink.getWriter();
  let skipping = true;
  return new WritableStream({
    async write(chunk) {
      if (skipping) {
        const end = chunk.indexOf(10);
        if (end < 0) return;
        skipping = false;
        chunk = chunk.subarray(end + 1);
      }
      if (chunk.length) await writer.write(chunk);
    },
    close: () => writer.close(),
    abort: (reason) => writer.abort(reason),
  });
}

// Bytes collected before they go down to gzip and the disk.
const DISK_CHUNK = 1 << 16;

// The shortest time between two flushes that reach a .gz file; with the
// logger's 200 ms tick a member is written every 0.8-1 s.
const GZIP_FLUSH_MS = 800;

/**
 * A sink that counts what it is given and hands it down in chunks of
 * {@linkcode DISK_CHUNK} bytes, or when drained.
 */
class CountingBuffer {
  readonly stream: WritableStream<Uint8Array>;
  #down: WritableStreamDefaultWriter<Uint8Array>;
  #chunks: Uint8Array[] = [];
  #size = 0;

  constructor(down: WritableStream<Uint8Array>, count: (bytes: number) => void) {
    this.#down = down.getWriter();
    this.stream = new WritableStream({
      write: async (chunk) => {
        this.#chunks.push(chunk);
        this.#size += chunk.length;
        count(chunk.length);
        if (this.#size >= DISK_CHUNK) await this.drain();
      },
      close: async () => {
        await this.drain();
        await this.#down.close();
      },
      abort: (reason) => this.#down.abort(reason),
    });
  }

  /** Hands everything collected down. */
  async drain(): Promise<void> {
    if (this.#size === 0) return;
    const chunk = new Uint8Array(this.#size);
    let at = 0;
    for (const part of this.#chunks.splice(0)) {
      chunk.set(part, at);
      at += part.length;
    }
    this.#size = 0;
    await this.#down.write(chunk);
  }
}

/** A log file that can rotate by size. */
export class RotatingLog {
  /** The file name given. */
  readonly path: string;
  /** Names the full files were renamed to, oldest first. */
  readonly rotated: string[] = [];
  #maxBytes: number;
  #channel: string | undefined;
  #createWriter: RotatingLogOptions["writer"];
  #writer!: LogWriter;
  #buffer!: CountingBuffer;
  #bytes = 0;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  #gzip: boolean;
  #flushed = 0;

  private constructor(path: string, options: RotatingLogOptions) {
    this.path = path;
    this.#maxBytes = options.maxBytes ?? 0;
    this.#channel = options.channel;
    this.#createWriter = options.writer;
    this.#gzip = logFormatOf(path).gzip;
  }

  /**
   * Creates (or, with `append`, opens) the file.
   * @throws {RangeError} For an unknown extension; the errors of `Deno.open()`.
   */
  static async open(path: string, options: RotatingLogOptions = {}): Promise<RotatingLog> {
    logFormatOf(path);
    const log = new RotatingLog(path, options);
    await log.#start(options.append ?? false);
    return log;
  }

  /**
   * Bytes of text written to the current file (before gzip; an appended
   * file starts at its size on disk).
   */
  get bytes(): number {
    return this.#bytes;
  }

  async #start(append: boolean): Promise<void> {
    const { format, gzip } = logFormatOf(this.path);
    const file = await Deno.open(this.path, {
      write: true,
      create: true,
      append,
      truncate: !append,
    });
    this.#bytes = append ? (await file.stat()).size : 0;
    this.#buffer = new CountingBuffer(
      gzip ? gzipSink(fileSink(file)) : fileSink(file),
      (bytes) => this.#bytes += bytes,
    );
    let sink = this.#buffer.stream;
    // python-can's CSVWriter writes the header only into an empty file.
    if (format === "csv" && this.#bytes > 0) sink = withoutFirstLine(sink);
    this.#writer = this.#createWriter?.(sink) ??
      createLogWriter(format, sink, { channel: this.#channel });
  }

  #serial<T>(op: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(op);
    this.#queue = result.catch(() => {});
    return result;
  }

  /** Writes a frame, first starting a new file when the current one is full. */
  write(frame: CanFrame): Promise<void> {
    return this.#serial(async () => {
      if (this.#maxBytes > 0 && this.#bytes >= this.#maxBytes) await this.#rotate();
      await this.#writer.write(frame);
      // Counted now, not when the writer's buffer fills.
      if (this.#maxBytes > 0) await this.#writer.flush();
    });
  }

  async #rotate(): Promise<void> {
    await this.#writer.close();
    const [dir, stem, ext] = splitName(this.path);
    const count = pad(this.rotated.length, 3);
    const target = `${dir}${stem}_${stamp(new Date())}_#${count}${ext}`;
    await Deno.rename(this.path, target);
    this.rotated.push(target);
    await this.#start(false);
  }

  /**
   * Hands the buffered frames to the file (for a .gz file, at most once
   * in {@linkcode GZIP_FLUSH_MS}: sooner ones are kept for the next).
   */
  flush(): Promise<void> {
    return this.#serial(async () => {
      if (this.#closed) return;
      await this.#writer.flush();
      const now = performance.now();
      if (this.#gzip && now - this.#flushed < GZIP_FLUSH_MS) return;
      this.#flushed = now;
      await this.#buffer.drain();
    });
  }

  /** Flushes, writes the format's trailer and closes the file. */
  close(): Promise<void> {
    return this.#serial(async () => {
      if (this.#closed) return;
      this.#closed = true;
      await this.#writer.close();
    });
  }
}
