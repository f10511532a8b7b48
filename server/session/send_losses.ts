// Frames a client sent that never reached the bus, counted and told: the
// client gets an `error` event with the count (the first loss at once, then
// at most one a second), the operator a warning line with this client's
// counts by reason (at most one every 10 s), and the session's stats the total.
import type { Logger } from "@logtape/logtape";
import type { SessionStats } from "./stats.ts";

/** Shortest interval between two loss notices to the client, in ms. */
export const LOSS_NOTICE_MS = 1000;
/** Shortest interval between two loss lines in the log for one client, in ms. */
export const LOSS_LOG_MS = 10_000;

/** What {@linkcode SendLosses} reports through. */
export interface SendLossesOptions {
  id: number;
  channel: string;
  log: Logger;
  stats: SessionStats;
  sendError(message: string): void;
}

/**
 * Counts one client's lost frames by reason and reports them, rate-limited.
 *
 * @example Two losses: one notice at once, the second counted into the next
 * ```ts
 * import { SendLosses } from "./send_losses.ts";
 * import { getLogger } from "@logtape/logtape";
 * const notices: string[] = [];
 * import type { SessionStats } from "./stats.ts";
 * const stats: SessionStats = { received: 0, sent: 0, dropped: 0, rateLimited: 0, errors: 0 };
 * const losses = new SendLosses({
 *   id: 1, channel: "can0", log: getLogger("example"), stats,
 *   sendError: (message) => notices.push(message),
 * });
 * losses.lost("the transmit queue is full");
 * losses.lost("the transmit queue is full");
 * losses.close();
 * if (notices.length !== 1 || stats.notSent !== 2) throw new Error();
 * if (notices[0] !== "1 frame not sent on can0: the transmit queue is full (1 in all)") throw new Error(notices[0]);
 * ```
 */
export class SendLosses {
  #options: SendLossesOptions;
  #pending = new Map<string, number>(); // not yet told to the client
  #unlogged = new Map<string, number>(); // not yet in the log
  #noticeTimer: ReturnType<typeof setTimeout> | undefined;
  #logTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(options: SendLossesOptions) {
    this.#options = options;
  }

  /**
   * Counts lost frames.
   *
   * @param reason Why, in words that follow a colon ("the transmit queue is full").
   * @param count How many.
   * @param tellClient Whether the client hears of it here (`false` when it was already told).
   */
  lost(reason: string, count = 1, tellClient = true): void {
    const stats = this.#options.stats;
    stats.notSent = (stats.notSent ?? 0) + count;
    this.#unlogged.set(reason, (this.#unlogged.get(reason) ?? 0) + count);
    if (this.#closed) return this.#flushLog();
    this.#logTimer ??= setTimeout(() => this.#writeLog(), 0);
    if (!tellClient) return;
    this.#pending.set(reason, (this.#pending.get(reason) ?? 0) + count);
    if (this.#noticeTimer === undefined) this.#notice();
  }

  /** Stops the notices; what is unlogged goes to the log now. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#noticeTimer);
    clearTimeout(this.#logTimer);
    this.#logTimer = undefined;
    this.#flushLog();
  }

  #notice(): void {
    this.#noticeTimer = undefined;
    if (this.#closed || this.#pending.size === 0) return;
    const { channel, stats } = this.#options;
    for (const [reason, count] of this.#pending) {
      this.#options.sendError(
        `${count} frame${
          count === 1 ? "" : "s"
        } not sent on ${channel}: ${reason} (${stats.notSent} in all)`,
      );
    }
    this.#pending.clear();
    this.#noticeTimer = setTimeout(() => this.#notice(), LOSS_NOTICE_MS);
  }

  #writeLog(): void {
    this.#flushLog();
    if (!this.#closed) this.#logTimer = setTimeout(() => this.#nextLog(), LOSS_LOG_MS);
  }

  #nextLog(): void {
    this.#logTimer = undefined;
    if (this.#unlogged.size) this.#writeLog();
  }

  #flushLog(): void {
    if (this.#unlogged.size === 0) return;
    const { id, channel, log, stats } = this.#options;
    const counts = [...this.#unlogged].map(([reason, n]) => `${n} (${reason})`).join(", ");
    this.#unlogged.clear();
    log.warn("Client {id}: frames not sent on {channel}: {counts}; {total} in all", {
      id,
      channel,
      counts,
      total: stats.notSent,
    });
  }
}
