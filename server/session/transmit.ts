// Frames a client asks the bus to send: a transmit rate (a token bucket,
// with error notices at most once a second), the id allowlist, and a queue
// that keeps them in the client's order.
import type { Bus } from "../../core/bus.ts";
import { BusClosedError } from "../../core/errors.ts";
import { type CanFrame, validateFrame } from "../../core/frame.ts";
import { formatIdRanges, idAllowed, type Limits } from "../limits.ts";
import { TokenBucket } from "../rate_limit.ts";
import type { SessionStats } from "./stats.ts";
import type { SendLosses } from "./send_losses.ts";

/** Shortest interval between two notices about rate-limited frames, in ms. */
const NOTICE_INTERVAL_MS = 1000;

/**
 * One client's transmit path: what it may send, how fast, and in what order.
 * Refusals go to the client as `error` events through `sendError`.
 *
 * @example A burst of two, then an error event
 * ```ts
 * import { Transmitter } from "./transmit.ts";
 * import { DEFAULT_LIMITS } from "../limits.ts";
 * import { VirtualBus, VirtualNetwork } from "../../core/virtual_bus.ts";
 * import { createFrame } from "../../core/frame.ts";
 * const network = new VirtualNetwork();
 * await using bus = VirtualBus.open({ channel: "demo", network });
 * await using listener = VirtualBus.open({ channel: "demo", network });
 * const stats = { received: 0, sent: 0, dropped: 0, rateLimited: 0, errors: 0 };
 * const errors: string[] = [];
 * const limits = { ...DEFAULT_LIMITS, maxSendRate: 1, sendBurst: 2 };
 * const transmitter = new Transmitter(limits, stats, (message) => errors.push(message));
 * for (let i = 0; i < 3; i++) transmitter.send(bus, createFrame({ arbitrationId: i, data: [] }));
 * if ((await listener.receive({ signal: AbortSignal.timeout(1000) })).arbitrationId !== 0) throw new Error();
 * if ((await listener.receive({ signal: AbortSignal.timeout(1000) })).arbitrationId !== 1) throw new Error();
 * if (stats.received !== 2 || stats.rateLimited !== 1 || errors.length !== 1) throw new Error();
 * transmitter.close();
 * ```
 */
export class Transmitter {
  #limits: Limits;
  #stats: SessionStats;
  #sendError: (message: string) => void;
  #bucket: TokenBucket;
  #rateDropped = 0;
  #rateTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  // Accepted frames not yet handed to their bus, behind the one being sent,
  // as bus, frame, bus, frame... A plain queue rather than a promise chain:
  // per frame a chain keeps closures and promises alive for several
  // microtask turns, so under a flood thousands of links piled up, survived
  // the young generation's collections and made V8 grow it (issue #3).
  #waiting: (Bus | CanFrame)[] = [];
  #waitingHead = 0;
  #sending = false;
  #pendingSends = 0;
  #onSent = (): void => {
    this.#pendingSends--;
    this.#next();
  };
  #onFailed = (error: Error): void => {
    this.#pendingSends--;
    if (error instanceof BusClosedError) {
      // the client is leaving: nobody to tell
    } else if (this.#losses) this.#losses.lost(error.message);
    else this.#sendError(`Cannot send: ${error.message}`);
    this.#next();
  };
  #losses: SendLosses | undefined;

  /**
   * @param limits `maxSendRate`, `sendBurst`, `allowedIds` and `maxPendingSends` apply.
   * @param stats Counts `received` (accepted) and `rateLimited` frames.
   * @param sendError Tells the client why something was refused.
   * @param losses Where frames that never reach the bus (queue full, send
   *   failed, over the rate) are counted and reported with their count;
   *   without it each gets its own error event.
   */
  constructor(
    limits: Limits,
    stats: SessionStats,
    sendError: (message: string) => void,
    losses?: SendLosses,
  ) {
    this.#losses = losses;
    this.#limits = limits;
    this.#stats = stats;
    this.#sendError = sendError;
    this.#bucket = new TokenBucket(limits.maxSendRate, limits.sendBurst);
  }

  /**
   * Checks a frame from the client and queues it for the bus, after those
   * before it. A frame over the rate, with a refused id, invalid, or beyond
   * `maxPendingSends` is dropped with an error event.
   *
   * @param bus The client's bus.
   * @param frame The frame as decoded.
   */
  send(bus: Bus, frame: CanFrame): void {
    if (!this.admit()) return;
    let checked: CanFrame;
    try {
      checked = validateFrame(frame);
    } catch (error) {
      return this.#sendError(`Invalid message: ${(error as Error).message}`);
    }
    const refusal = this.idRefusal(checked.arbitrationId);
    if (refusal) return this.#sendError(refusal);
    if (this.#pendingSends >= this.#limits.maxPendingSends) {
      if (!this.#losses) return this.#sendError("Transmit queue full: frame dropped");
      return this.#losses.lost(
        `the transmit queue is full (${this.#limits.maxPendingSends} frames waiting, --max-pending-sends)`,
      );
    }
    this.#stats.received++;
    this.#pendingSends++;
    // One send at a time, so frames reach the bus in the order the client
    // sent them; an idle transmitter hands the frame over at once.
    if (this.#sending) this.#waiting.push(bus, checked);
    else this.#dispatch(bus, checked);
  }

  #dispatch(bus: Bus, frame: CanFrame): void {
    this.#sending = true;
    let sent: Promise<void>;
    try {
      sent = bus.send(frame);
    } catch (error) {
      sent = Promise.reject(error);
    }
    sent.then(this.#onSent, this.#onFailed);
  }

  #next(): void {
    if (this.#waitingHead === this.#waiting.length) {
      this.#sending = false;
      if (this.#waitingHead) {
        this.#waiting = [];
        this.#waitingHead = 0;
      }
      return;
    }
    const waiting = this.#waiting;
    const head = this.#waitingHead;
    const bus = waiting[head] as Bus;
    const frame = waiting[head + 1] as CanFrame;
    // Cleared so that sent frames can be collected while the queue drains.
    waiting[head] = waiting[head + 1] = undefined!;
    this.#waitingHead = head + 2;
    this.#dispatch(bus, frame);
  }

  /**
   * Takes one frame's worth of the transmit rate. Without it the frame is
   * counted as rate-limited: the first such frame gets an error event at
   * once, later ones are counted and reported at most once a second.
   *
   * @returns `true` when the client may send now.
   */
  admit(): boolean {
    if (this.#bucket.take()) return true;
    this.#stats.rateLimited++;
    this.#rateDropped++;
    if (this.#rateTimer === undefined) this.#noticeRate();
    return false;
  }

  /**
   * Why an arbitration id may not be sent here, if it may not.
   *
   * @param id The arbitration id.
   * @returns The refusal for an error event, or `undefined` when allowed.
   */
  idRefusal(id: number): string | undefined {
    const ranges = this.#limits.allowedIds;
    if (idAllowed(ranges, id)) return undefined;
    return `Arbitration id 0x${id.toString(16).toUpperCase()} may not be sent here; allowed: ${
      formatIdRanges(ranges!)
    }`;
  }

  /** Stops the rate notices; frames already queued still go to the bus. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#rateTimer);
  }

  #noticeRate(): void {
    this.#rateTimer = undefined;
    if (!this.#rateDropped || this.#closed) return;
    const count = this.#rateDropped;
    this.#rateDropped = 0;
    // Into the operator's log and the totals; the client hears of it below.
    this.#losses?.lost(
      `over the transmit rate of ${this.#limits.maxSendRate} frames/s`,
      count,
      false,
    );
    this.#sendError(
      `Transmit rate limit of ${this.#limits.maxSendRate} frames/s exceeded: ${count} frame${
        count === 1 ? "" : "s"
      } dropped`,
    );
    this.#rateTimer = setTimeout(() => this.#noticeRate(), NOTICE_INTERVAL_MS);
  }
}
