// The receive queue behind every Bus: frames and errors in arrival order,
// waiters served first-come first-served, bounded so a bus nobody reads
// cannot grow without limit.
import type { CanFrame } from "./frame.ts";
import { BusClosedError } from "./errors.ts";

type Entry = CanFrame | Error;

interface Waiter {
  resolve(frame: CanFrame): void;
  reject(error: unknown): void;
  cleanup(): void;
}

/** Queue of received frames; `push` never blocks, `receive` waits. */
export class FrameQueue {
  #items: Entry[] = [];
  #head = 0;
  #waiters: Waiter[] = [];
  #closedError: Error | undefined;
  #limit: number;
  /** Frames discarded because the queue was full (oldest first). */
  dropped = 0;
  #listener: ((entry: Entry) => void) | undefined;

  constructor(limit = 1 << 16) {
    this.#limit = limit;
  }

  get size(): number {
    return this.#items.length - this.#head;
  }

  get closed(): boolean {
    return this.#closedError !== undefined;
  }

  /** Delivers a frame, or an error that the next `receive()` rejects with. */
  push(entry: Entry): void {
    if (this.#closedError) return;
    if (this.#listener) return this.#listener(entry);
    const waiter = this.#waiters.shift();
    if (waiter) {
      waiter.cleanup();
      if (entry instanceof Error) waiter.reject(entry);
      else waiter.resolve(entry);
      return;
    }
    if (this.size >= this.#limit) {
      this.#head++;
      this.dropped++;
    }
    this.#items.push(entry);
  }

  /** Takes the next entry without waiting; `undefined` when empty. Throws a queued error. */
  poll(): CanFrame | undefined {
    if (this.#head >= this.#items.length) {
      if (this.#closedError) throw this.#closedError;
      return undefined;
    }
    const entry = this.#items[this.#head++];
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    if (entry instanceof Error) throw entry;
    return entry;
  }

  receive(signal?: AbortSignal): Promise<CanFrame> {
    try {
      const frame = this.poll();
      if (frame) return Promise.resolve(frame);
    } catch (error) {
      return Promise.reject(error);
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<CanFrame>((resolve, reject) => {
      const onAbort = () => {
        const index = this.#waiters.indexOf(waiter);
        if (index >= 0) this.#waiters.splice(index, 1);
        reject(signal!.reason);
      };
      const waiter: Waiter = {
        resolve,
        reject,
        cleanup: () => signal?.removeEventListener("abort", onAbort),
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /**
   * Hands every later entry to `listener` as it arrives, instead of queueing
   * it; entries already queued go first. The server's hot path: no promise per frame.
   */
  subscribe(listener: (entry: Entry) => void): void {
    while (this.#head < this.#items.length) listener(this.#items[this.#head++]);
    this.#items = [];
    this.#head = 0;
    this.#listener = listener;
  }

  /**
   * Rejects every waiter and every later receive; queued entries are still
   * handed out first unless `discard` is set (a local close discards them).
   */
  close(error: Error = new BusClosedError(), discard = false): void {
    // Discarding also applies to a queue closed before, with frames left to hand out.
    if (discard) {
      this.#items = [];
      this.#head = 0;
    }
    if (this.#closedError) return;
    this.#closedError = error;
    for (const waiter of this.#waiters.splice(0)) {
      waiter.cleanup();
      waiter.reject(error);
    }
  }

  async *iterate(): AsyncGenerator<CanFrame> {
    while (true) {
      try {
        yield await this.receive();
      } catch (error) {
        if (error instanceof BusClosedError) return;
        throw error;
      }
    }
  }
}
