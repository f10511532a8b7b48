// Private: the send side's limit on unsent bytes. WebSocket has no event for
// a buffer that empties, so once a send leaves more than `maxBufferedAmount`
// bytes queued, senders wait while `bufferedAmount` is polled, more and more
// slowly (1 ms doubling up to 50 ms); one wait serves every sender.
import { sleep } from "../core/_sleep.ts";

/** Longest pause between two looks at `bufferedAmount`. */
const DRAIN_POLL_MAX_MS = 50;

/**
 * Makes senders wait while a WebSocket holds too many unsent bytes.
 *
 * @example
 * ```ts
 * import { Backpressure } from "./backpressure.ts";
 * const ws = { readyState: WebSocket.OPEN, bufferedAmount: 100 } as WebSocket;
 * const backpressure = new Backpressure(10, new AbortController().signal);
 * const wait = backpressure.sent(ws);
 * if (!wait || backpressure.waiting !== wait) throw new Error("over the limit: a wait");
 * (ws as { bufferedAmount: number }).bufferedAmount = 0;
 * await wait;
 * if (backpressure.sent(ws) !== undefined) throw new Error("drained: no wait");
 * ```
 */
export class Backpressure {
  #maxBuffered: number;
  #signal: AbortSignal;
  #drain: Promise<void> | undefined;

  /**
   * @param maxBuffered Unsent bytes above which senders wait.
   * @param signal Ends every wait (the bus closed).
   */
  constructor(maxBuffered: number, signal: AbortSignal) {
    this.#maxBuffered = maxBuffered;
    this.#signal = signal;
  }

  /** The wait in progress, if any: later sends queue behind it. */
  get waiting(): Promise<void> | undefined {
    return this.#drain;
  }

  /**
   * Called after each send on `ws`.
   * @returns The wait that the sender awaits when `ws` now holds too many
   *   unsent bytes (the one in progress, or a new one); `undefined` otherwise.
   */
  sent(ws: WebSocket): Promise<void> | undefined {
    if (ws.bufferedAmount <= this.#maxBuffered) return undefined;
    return this.#drain ??= this.#drained(ws);
  }

  // Until the socket drained below the limit, stopped being open, or the bus closed.
  async #drained(ws: WebSocket): Promise<void> {
    const signal = this.#signal;
    for (
      let delay = 1;
      ws.readyState === WebSocket.OPEN && ws.bufferedAmount > this.#maxBuffered;
    ) {
      await sleep(delay, signal);
      if (signal.aborted) break;
      delay = Math.min(delay * 2, DRAIN_POLL_MAX_MS);
    }
    this.#drain = undefined;
  }
}
