// The transmit side of a SocketCAN bus, shared by SocketCanBus (a socket of
// its own) and SocketCanChannelBus (the channel's socket): frames go out in
// the order sent; a full transmit queue (ENOBUFS, EAGAIN) is retried until
// the frame's deadline, and what cannot be sent is rejected with the reason.
import { CanError } from "../core/errors.ts";
import { errnoError, errnoName } from "./errno.ts";
import { CANFD_MTU } from "./structs.ts";
import { EAGAIN, EINVAL, ENOBUFS } from "./_raw_socket.ts";

/** What one write did: `undefined` written, `{ retry }` the queue was full (with the errno), else the error. */
export type WriteResult = undefined | { retry: number } | Error;

interface PendingSend {
  bytes: Uint8Array;
  deadline: number;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * The result of a `write(2)` of one frame.
 *
 * @param errno 0 when written, else the errno.
 * @param bytes The frame as written (its length tells a CAN FD frame).
 * @param channel The interface, for the message.
 * @param mtu Reads the interface's MTU again, to name a classic-only interface.
 * @returns The {@linkcode WriteResult}.
 */
export function writeResult(
  errno: number,
  bytes: Uint8Array,
  channel: string,
  mtu: () => number | undefined,
): WriteResult {
  if (errno === 0) return undefined;
  if (errno === ENOBUFS || errno === EAGAIN) return { retry: errno };
  if (errno === EINVAL && bytes.length === CANFD_MTU) {
    const now = mtu();
    if (now !== CANFD_MTU) {
      return new RangeError(
        `Cannot send a CAN FD frame on "${channel}": the interface is classic CAN only (MTU ${now})`,
      );
    }
  }
  return errnoError(`Cannot send on "${channel}"`, errno);
}

/** Frames waiting for room in the interface's transmit queue, sent in order. */
export class SendQueue {
  #sends: PendingSend[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #delay = 0;
  #write: (bytes: Uint8Array) => WriteResult;
  #channel: string;
  #timeoutMs: number;

  /**
   * @param write Writes one frame.
   * @param channel The interface, for the messages.
   * @param timeoutMs How long a frame may wait for room in the transmit queue.
   */
  constructor(write: (bytes: Uint8Array) => WriteResult, channel: string, timeoutMs: number) {
    this.#write = write;
    this.#channel = channel;
    this.#timeoutMs = timeoutMs;
  }

  /**
   * Writes a frame now, or after the frames waiting before it.
   * @param bytes The encoded frame.
   * @returns Resolves once written; rejects with the reason it was not.
   */
  send(bytes: Uint8Array): Promise<void> {
    if (this.#sends.length === 0) {
      const result = this.#write(bytes);
      if (result === undefined) return Promise.resolve();
      if (result instanceof Error) return Promise.reject(result);
    }
    return new Promise<void>((resolve, reject) => {
      this.#sends.push({ bytes, deadline: performance.now() + this.#timeoutMs, resolve, reject });
      this.#timer ??= setTimeout(this.#flush, this.#delay);
    });
  }

  /** Stops retrying (the bus is closing); the frames waiting stay until {@linkcode rejectAll}. */
  stop(): void {
    clearTimeout(this.#timer);
  }

  /**
   * Rejects every frame still waiting.
   * @param error Why.
   */
  rejectAll(error: unknown): void {
    for (const pending of this.#sends.splice(0)) pending.reject(error);
  }

  #flush = (): void => {
    this.#timer = undefined;
    while (this.#sends.length > 0) {
      const head = this.#sends[0];
      const result = this.#write(head.bytes);
      if (result !== undefined && !(result instanceof Error)) {
        if (performance.now() < head.deadline) {
          // A controller's queue (txqueuelen, 10 on most drivers) empties in
          // about a millisecond at 1 Mbit/s: short waits keep the bus busy.
          this.#delay = Math.min(Math.max(this.#delay * 2, 1), 4);
          this.#timer = setTimeout(this.#flush, this.#delay);
          return;
        }
        this.#sends.shift();
        const code = errnoName(result.retry);
        head.reject(
          new CanError(
            code,
            `Cannot send on "${this.#channel}": the transmit queue stayed full for ${
              this.#timeoutMs / 1000
            } s (${code})`,
          ),
        );
        continue;
      }
      this.#sends.shift();
      this.#delay = 0;
      if (result === undefined) head.resolve();
      else head.reject(result);
    }
  };
}
