/**
 * The plot's model: the values of the plotted signals on one time grid of
 * fixed buckets (10 ms by default), the last value in each bucket, held
 * until the next one. A frame costs a few array writes however fast frames
 * come; the chart reads a window of the grid.
 *
 * @module
 */

/** Columns as uPlot takes them: times in seconds, then one array per series (`null`: no value yet). */
export type SeriesData = [number[], ...(number | null)[][]];

/**
 * Plotted signals' values by time bucket.
 *
 * @example
 * ```ts
 * import { SignalSeries } from "./signal_series.ts";
 * const series = new SignalSeries({ resolution: 0.5, capacity: 100 });
 * const speed = series.add("EEC1.EngineSpeed");
 * series.push(speed, 10.0, 800);
 * series.push(speed, 11.2, 900);
 * const [times, values] = series.window(60);
 * if (times.join() !== "10,10.5,11" || values.join() !== "800,800,900") throw new Error();
 * ```
 */
export class SignalSeries {
  /** Seconds per bucket. */
  readonly resolution: number;
  /** Buckets kept; older ones are dropped. */
  readonly capacity: number;
  #keys: string[] = [];
  #times: number[] = [];
  #values: (number | null)[][] = [];
  #held: (number | null)[] = [];
  #head = -Infinity;

  /**
   * @param options Bucket width in seconds and how many buckets to keep.
   * @default {{ resolution: 0.01, capacity: 30000 }} (5 minutes)
   */
  constructor(options: { resolution?: number; capacity?: number } = {}) {
    this.resolution = options.resolution ?? 0.01;
    this.capacity = options.capacity ?? 30_000;
  }

  /** Keys of the series, in order. */
  get keys(): readonly string[] {
    return this.#keys;
  }

  /**
   * Adds a series, empty until its first value.
   *
   * @param key A name for it, e.g. `"EEC1.EngineSpeed"`.
   * @returns Its index, for {@linkcode push}.
   */
  add(key: string): number {
    const existing = this.#keys.indexOf(key);
    if (existing >= 0) return existing;
    this.#keys.push(key);
    this.#values.push(new Array(this.#times.length).fill(null));
    this.#held.push(null);
    return this.#keys.length - 1;
  }

  /**
   * Removes a series; the indexes of those after it shift down by one.
   *
   * @param key Its name.
   */
  remove(key: string): void {
    const i = this.#keys.indexOf(key);
    if (i < 0) return;
    this.#keys.splice(i, 1);
    this.#values.splice(i, 1);
    this.#held.splice(i, 1);
  }

  /** Forgets every value; the series stay. */
  clear(): void {
    this.#times = [];
    this.#values = this.#values.map(() => []);
    this.#held = this.#held.map(() => null);
    this.#head = -Infinity;
  }

  /**
   * Records a value.
   *
   * @param index The series, from {@linkcode add}.
   * @param time Seconds (a frame's timestamp).
   * @param value The signal's physical value.
   */
  push(index: number, time: number, value: number): void {
    const bucket = Math.floor(time / this.resolution);
    if (bucket > this.#head) this.#advance(bucket);
    const at = this.#times.length - 1 - (this.#head - bucket);
    if (at < 0) return; // older than what is kept
    this.#values[index][at] = value;
    if (at === this.#times.length - 1) this.#held[index] = value;
  }

  #advance(bucket: number): void {
    const times = this.#times;
    // After a long silence (or the first value) start afresh rather than fill.
    if (bucket - this.#head > this.capacity || times.length === 0) {
      this.#times = [bucket * this.resolution];
      this.#values = this.#held.map((v) => [v]);
      this.#head = bucket;
      return;
    }
    for (let b = this.#head + 1; b <= bucket; b++) {
      times.push(b * this.resolution);
      for (let i = 0; i < this.#values.length; i++) this.#values[i].push(this.#held[i]);
    }
    this.#head = bucket;
    // Drop the oldest in batches, so each push stays cheap.
    if (times.length > 2 * this.capacity) {
      const cut = times.length - this.capacity;
      times.splice(0, cut);
      for (const values of this.#values) values.splice(0, cut);
    }
  }

  /**
   * The last `seconds` of every series, ending at the newest bucket.
   *
   * @param seconds Window length.
   * @returns Times and values, as uPlot takes them.
   */
  window(seconds: number): SeriesData {
    const count = Math.min(this.#times.length, Math.ceil(seconds / this.resolution) + 1);
    const from = this.#times.length - count;
    return [this.#times.slice(from), ...this.#values.map((v) => v.slice(from))];
  }

  /** Time of the newest bucket, `NaN` before any value. */
  get latest(): number {
    return this.#times.length ? this.#times[this.#times.length - 1] : NaN;
  }
}
