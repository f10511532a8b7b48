// A token bucket: `rate` tokens per second, holding at most `burst`. Each
// frame a client transmits takes one; without one, the frame is dropped.

/**
 * A token bucket that refills continuously.
 *
 * @example
 * ```ts
 * import { TokenBucket } from "./rate_limit.ts";
 * let now = 0;
 * const bucket = new TokenBucket(10, 2, () => now); // 10/s, bursts of 2
 * if (!bucket.take() || !bucket.take() || bucket.take()) throw new Error("a burst of two");
 * now += 100; // 0.1 s later: one more
 * if (!bucket.take() || bucket.take()) throw new Error("refilled by one");
 * ```
 */
export class TokenBucket {
  /** Tokens per second. */
  readonly rate: number;
  /** Most tokens held at once. */
  readonly burst: number;
  #tokens: number;
  #last: number;
  #now: () => number;

  /**
   * @param rate Tokens per second; `Infinity` never refuses.
   * @param burst Most tokens held (the bucket starts full).
   * @param now Milliseconds clock.
   * @throws {RangeError} When `rate` is not positive or `burst` is below 1.
   */
  constructor(rate: number, burst: number, now: () => number = () => performance.now()) {
    if (!(rate > 0)) throw new RangeError(`rate must be a positive number, got ${rate}`);
    if (!(burst >= 1)) throw new RangeError(`burst must be at least 1, got ${burst}`);
    this.rate = rate;
    this.burst = burst;
    this.#tokens = burst;
    this.#now = now;
    this.#last = now();
  }

  /**
   * Takes one token if there is one.
   *
   * @returns `true` when taken, `false` when the bucket is empty.
   */
  take(): boolean {
    if (this.rate === Infinity) return true;
    const now = this.#now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#last) / 1000) * this.rate);
    this.#last = now;
    if (this.#tokens < 1) return false;
    this.#tokens--;
    return true;
  }
}
