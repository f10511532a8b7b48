/**
 * Collects received frames into binary `message_batch` payloads (PROTOCOL.md,
 * "Message batches") and hands each batch on when it is 10 ms old or would
 * grow past 16 KiB, so that a saturated bus costs one publish per batch,
 * never one per frame.
 *
 * @module
 */

import { encodeBinary } from "../../core/codec_binary.ts";
import type { CanFrame } from "../../core/frame.ts";
import { BINARY_BATCH_TYPE } from "../../core/protocol.ts";
import { after } from "../../core/_sleep.ts";

/** Options of {@linkcode FrameBatcher}. */
export interface FrameBatcherOptions {
  /**
   * Milliseconds a frame waits for others before its batch is handed on.
   * @default {10}
   */
  flushInterval?: number;
  /**
   * Largest batch in bytes.
   * @default {16384}
   */
  maxBytes?: number;
}

// The longest binary message: 15 header bytes and 64 data bytes, plus its length byte.
const MAX_ENTRY = 1 + 15 + 64;

/**
 * Joins frames into batches.
 *
 * @example
 * ```ts
 * import { FrameBatcher } from "./batcher.ts";
 * import { decodeBinaryBatch } from "../../core/codec_batch.ts";
 * import { createFrame } from "../../core/frame.ts";
 * const batches: Uint8Array[] = [];
 * const batcher = new FrameBatcher((batch) => batches.push(batch));
 * batcher.push(createFrame({ arbitrationId: 1 }));
 * batcher.push(createFrame({ arbitrationId: 2 }));
 * batcher.flush();
 * if (decodeBinaryBatch(batches[0]).length !== 2) throw new Error();
 * ```
 */
export class FrameBatcher {
  #emit: (batch: Uint8Array<ArrayBuffer>, frames: number) => void;
  #interval: number;
  #max: number;
  #buffer: Uint8Array<ArrayBuffer>;
  #used = 1;
  #frames = 0;
  #cancel: (() => void) | undefined;
  #since = 0;

  /**
   * @param emit Called with each batch (a copy the callee may keep) and its number of frames.
   * @param options Flush interval and largest batch.
   * @throws {RangeError} When `maxBytes` cannot hold one frame or `flushInterval` is negative.
   */
  constructor(
    emit: (batch: Uint8Array<ArrayBuffer>, frames: number) => void,
    options: FrameBatcherOptions = {},
  ) {
    this.#emit = emit;
    this.#interval = options.flushInterval ?? 10;
    this.#max = options.maxBytes ?? 16384;
    if (!(this.#max >= 1 + MAX_ENTRY)) {
      throw new RangeError(`maxBytes must be at least ${1 + MAX_ENTRY}, got ${this.#max}`);
    }
    if (!(this.#interval >= 0)) {
      throw new RangeError(`flushInterval must be 0 ms or more, got ${this.#interval}`);
    }
    this.#buffer = new Uint8Array(this.#max);
    this.#buffer[0] = BINARY_BATCH_TYPE;
  }

  /** Frames waiting in the current batch. */
  get pending(): number {
    return this.#frames;
  }

  /**
   * Adds a frame; hands the batch on first if the frame would not fit.
   * @param frame A frame (the binary message format must be able to carry it).
   * @throws {RangeError} / {TypeError} For a frame the binary format cannot carry.
   */
  push(frame: CanFrame): void {
    const message = encodeBinary(frame);
    if (this.#used + 1 + message.length > this.#max) this.flush();
    this.#buffer[this.#used] = message.length;
    this.#buffer.set(message, this.#used + 1);
    this.#used += 1 + message.length;
    if (this.#frames++ === 0) {
      this.#since = performance.now();
      this.#cancel = after(this.#interval, () => {
        this.#cancel = undefined;
        this.flush();
      });
    } else if (performance.now() - this.#since >= this.#interval) {
      // While frames keep coming, the frame that finds its batch due sends
      // it: no timer wakes the process (a wake-up costs more than the
      // publish on a small gateway); the timer only sends the last batch.
      this.flush();
    }
  }

  /** Hands the current batch on now, if it holds a frame. */
  flush(): void {
    this.#cancel?.();
    this.#cancel = undefined;
    if (this.#frames === 0) return;
    const batch = this.#buffer.slice(0, this.#used);
    const frames = this.#frames;
    this.#used = 1;
    this.#frames = 0;
    this.#emit(batch, frames);
  }

  /** Stops the timer and discards the frames not handed on. */
  close(): void {
    this.#cancel?.();
    this.#cancel = undefined;
    this.#used = 1;
    this.#frames = 0;
  }
}
