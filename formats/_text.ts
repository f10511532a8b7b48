// Private plumbing shared by the text log formats: buffered text output,
// the writer methods around it, line reading with line numbers, and bad-line
// reporting.
import type { CanFrame } from "../core/frame.ts";
import type { LogSink, LogWriter, ReadLogOptions } from "./types.ts";

const BUFFER_CHARS = 1 << 16;

/** Buffered UTF-8 text output to a {@linkcode LogSink}. */
export class TextOut {
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #chunks: string[] = [];
  #size = 0;
  #closed = false;
  #encoder = new TextEncoder();

  constructor(sink: LogSink) {
    const stream = "getWriter" in sink ? sink : sink.writable;
    this.#writer = stream.getWriter();
  }

  /** Throws a TypeError when closed, so callers can check before formatting. */
  check(): void {
    if (this.#closed) throw new TypeError("The log writer is closed");
  }

  async write(text: string): Promise<void> {
    this.check();
    this.#chunks.push(text);
    this.#size += text.length;
    if (this.#size >= BUFFER_CHARS) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.#size === 0) return;
    const chunk = this.#encoder.encode(this.#chunks.join(""));
    this.#chunks = [];
    this.#size = 0;
    await this.#writer.write(chunk);
  }

  /** Buffers a last piece of text, flushes and closes the sink. */
  async close(trailer = ""): Promise<void> {
    if (this.#closed) return;
    if (trailer) {
      this.#chunks.push(trailer);
      this.#size += trailer.length;
    }
    this.#closed = true;
    await this.flush();
    await this.#writer.close();
  }
}

/**
 * `flush()`, `close()` and `[Symbol.asyncDispose]()` of a text log writer;
 * subclasses format each frame into {@linkcode TextLogWriter.out}.
 */
export abstract class TextLogWriter implements LogWriter {
  /** The buffered text going to the sink. */
  protected readonly out: TextOut;

  /** @param sink Where the text goes; closed by `close()`. */
  constructor(sink: LogSink) {
    this.out = new TextOut(sink);
  }

  /**
   * Adds a frame.
   *
   * @param frame The frame.
   * @returns Once the frame is buffered.
   */
  abstract write(frame: CanFrame): Promise<void>;

  /** Writes the buffered lines to the sink. */
  flush(): Promise<void> {
    return this.out.flush();
  }

  /** Flushes and closes the sink. */
  close(): Promise<void> {
    return this.out.close();
  }

  /** Same as `close()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Yields `[lineNumber, text]` for each line (1-based; `\n` or `\r\n` ends a line). */
export async function* readLines(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<[number, string]> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let rest = "";
  let number = 0;
  let done = false;
  try {
    while (true) {
      const result = await reader.read();
      if (result.done) {
        rest += decoder.decode();
        break;
      }
      rest += decoder.decode(result.value, { stream: true });
      let start = 0;
      let end: number;
      while ((end = rest.indexOf("\n", start)) !== -1) {
        const line = rest.slice(start, end);
        start = end + 1;
        yield [++number, line.endsWith("\r") ? line.slice(0, -1) : line];
      }
      rest = rest.slice(start);
    }
    if (rest !== "") yield [++number, rest.endsWith("\r") ? rest.slice(0, -1) : rest];
    done = true;
  } finally {
    if (!done) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

/** Builds `line N: ...` errors and throws or reports them per {@linkcode ReadLogOptions}. */
export class LineErrors {
  #onError?: (error: SyntaxError) => void;

  constructor(options: ReadLogOptions = {}) {
    this.#onError = options.onError;
  }

  /** Reports a bad line; throws when there is no `onError`. */
  report(line: number, reason: unknown): void {
    const message = reason instanceof Error ? reason.message : String(reason);
    const error = new SyntaxError(
      `line ${line}: ${message}`,
      reason instanceof Error ? { cause: reason } : undefined,
    );
    if (!this.#onError) throw error;
    this.#onError(error);
  }
}

/**
 * Reads one frame a line: blank lines are skipped, as are lines `skip()`
 * accepts; a line `parse()` throws on is reported through {@linkcode LineErrors}.
 */
export async function* readFrameLines(
  stream: ReadableStream<Uint8Array>,
  options: ReadLogOptions,
  parse: (line: string) => CanFrame,
  skip?: (line: string) => boolean,
): AsyncGenerator<CanFrame> {
  const errors = new LineErrors(options);
  let empty = true;
  for await (const [number, line] of readLines(stream)) {
    if (line.trim() === "") continue;
    empty = false;
    if (skip?.(line)) continue;
    let frame: CanFrame;
    try {
      frame = parse(line);
    } catch (error) {
      errors.report(number, error);
      continue;
    }
    yield frame;
  }
  if (empty) errors.report(1, "the file is empty");
}
