/**
 * The page's recording: the frames received, oldest first, bounded, with an
 * index of those that pass the display filter so a virtual list can show
 * any stretch of them without touching the rest.
 *
 * @module
 */

import type { CanFrame } from "../core/frame.ts";
import type { FramePredicate } from "./frame_filter.ts";

/**
 * A bounded recording of frames. Each frame gets a sequence number (0 for
 * the first after creation or `clear()`); beyond `limit` the oldest are
 * evicted in chunks.
 *
 * @example
 * ```ts
 * import { TraceStore } from "./trace_store.ts";
 * import { createFrame } from "../core/frame.ts";
 * const store = new TraceStore(1000);
 * for (let i = 0; i < 10; i++) store.push(createFrame({ arbitrationId: i }));
 * store.setFilter((f) => f.arbitrationId % 2 === 0);
 * if (store.size !== 10 || store.shown !== 5 || store.shownAt(1).arbitrationId !== 2) throw new Error();
 * ```
 */
export class TraceStore {
  /** Most frames kept. */
  readonly limit: number;
  #frames: CanFrame[] = [];
  #base = 0; // sequence number of #frames[0]
  #filter: FramePredicate | null = null;
  #shown: number[] = []; // sequence numbers passing #filter (unused without one)
  #shownHead = 0;
  /** Frames evicted because the recording was full. */
  evicted = 0;

  /**
   * @param limit Most frames kept.
   * @default {200000}
   * @throws {RangeError} When `limit` is not a positive integer.
   */
  constructor(limit = 200_000) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RangeError(`limit must be a positive integer, got ${limit}`);
    }
    this.limit = limit;
  }

  /** Frames recorded now. */
  get size(): number {
    return this.#frames.length;
  }

  /** Frames recorded now that pass the filter. */
  get shown(): number {
    return this.#filter ? this.#shown.length - this.#shownHead : this.#frames.length;
  }

  /** The filter in effect, or `null`. */
  get filter(): FramePredicate | null {
    return this.#filter;
  }

  /**
   * Records a frame.
   * @param frame The frame (kept by reference, not copied).
   * @returns `true` when it passes the filter.
   */
  push(frame: CanFrame): boolean {
    const seq = this.#base + this.#frames.length;
    this.#frames.push(frame);
    let shown = true;
    if (this.#filter) {
      shown = this.#filter(frame);
      if (shown) this.#shown.push(seq);
    }
    // Evict in chunks so that pushing stays O(1) amortized.
    const excess = this.#frames.length - this.limit;
    if (excess >= Math.max(1, this.limit >> 4)) this.#evict(excess);
    return shown;
  }

  #evict(count: number): void {
    this.#frames.splice(0, count);
    this.#base += count;
    this.evicted += count;
    if (!this.#filter) return;
    const shown = this.#shown;
    let head = this.#shownHead;
    while (head < shown.length && shown[head] < this.#base) head++;
    this.#shown = shown.slice(head);
    this.#shownHead = 0;
  }

  /**
   * The `i`-th frame that passes the filter, oldest first.
   * @param i 0 to `shown - 1`.
   * @returns The frame.
   * @throws {RangeError} When `i` is out of range.
   */
  shownAt(i: number): CanFrame {
    if (!(i >= 0 && i < this.shown)) throw new RangeError(`No shown frame ${i} of ${this.shown}`);
    if (!this.#filter) return this.#frames[i];
    return this.#frames[this.#shown[this.#shownHead + i] - this.#base];
  }

  /**
   * The sequence number of the `i`-th shown frame.
   * @param i 0 to `shown - 1`.
   * @returns Its sequence number.
   */
  shownSeq(i: number): number {
    return this.#filter ? this.#shown[this.#shownHead + i] : this.#base + i;
  }

  /**
   * Replaces the filter and re-indexes the recording.
   * @param filter The predicate, or `null` for every frame.
   */
  setFilter(filter: FramePredicate | null): void {
    this.#filter = filter;
    this.#shown = [];
    this.#shownHead = 0;
    if (!filter) return;
    const frames = this.#frames;
    for (let i = 0; i < frames.length; i++) if (filter(frames[i])) this.#shown.push(this.#base + i);
  }

  /**
   * The frames that pass the filter, oldest first.
   * @returns An iterator over them.
   */
  *shownFrames(): IterableIterator<CanFrame> {
    const n = this.shown;
    for (let i = 0; i < n; i++) yield this.shownAt(i);
  }

  /** Forgets every frame; sequence numbers start again from 0. */
  clear(): void {
    this.#frames = [];
    this.#base = 0;
    this.#shown = [];
    this.#shownHead = 0;
    this.evicted = 0;
  }
}
