/**
 * A {@linkcode Bus} on a {@linkcode SocketCanChannel}: what a bus of its own
 * socket ({@linkcode SocketCanBus}) gives, without a socket of its own. The
 * kernel's receive rules are applied here, as the kernel would apply them to
 * a socket opened with the same options: the filters (python-can's rule,
 * which `encodeCanFilters` gives the kernel), every error frame whatever the
 * filters (`CAN_RAW_ERR_FILTER` is `CAN_ERR_MASK`), a frame matching several
 * filters once, the bus's own frames only with `receiveOwnMessages`, and no
 * CAN FD frame with `fd: false` (no `CAN_RAW_FD_FRAMES`).
 *
 * @module
 */

import {
  type Bus,
  type BusOptions,
  type CanFilter,
  checkFilters,
  matchesFilters,
  type PeriodicOptions,
  type PeriodicTask,
  type ReceiveOptions,
} from "../core/bus.ts";
import { type CanFrame, validateFrame } from "../core/frame.ts";
import { BusClosedError } from "../core/errors.ts";
import { FrameQueue } from "../core/_frame_queue.ts";
import { LocalPeriodicTask } from "../core/_periodic.ts";
import { SendQueue, type WriteResult, writeResult } from "./_send_queue.ts";
import { CANFD_MTU, encodeCanFrame } from "./structs.ts";
import { goneError } from "./_raw_socket.ts";
import type { ChannelMember, SocketCanChannel } from "./socketcan_channel.ts";
import { checkNumber, type SocketCanBusOptions } from "./socketcan_bus.ts";

/** Options of {@linkcode SocketCanChannelBus.open}: a bus's, less what belongs to the channel. */
export type SocketCanChannelBusOptions =
  & BusOptions
  & Pick<SocketCanBusOptions, "sendTimeout" | "queueLimit">;

/**
 * One client's bus on a shared SocketCAN channel.
 *
 * @example Filters apply per bus, on one socket
 * ```ts
 * import { listCanInterfaces } from "./socketcan_bus.ts";
 * import { SocketCanChannel } from "./socketcan_channel.ts";
 * import { SocketCanChannelBus } from "./socketcan_channel_bus.ts";
 * import { createFrame } from "../core/frame.ts";
 * if (listCanInterfaces().includes("vcan0")) {
 *   const channel = SocketCanChannel.open("vcan0");
 *   await using all = SocketCanChannelBus.open(channel, { receiveOwnMessages: true });
 *   await using some = SocketCanChannelBus.open(channel, {
 *     canFilters: [{ canId: 0x200, canMask: 0x700 }],
 *   });
 *   await all.send(createFrame({ arbitrationId: 0x123, isExtendedId: false }));
 *   await all.send(createFrame({ arbitrationId: 0x234, isExtendedId: false }));
 *   const mine = await all.receive({ signal: AbortSignal.timeout(1000) });
 *   const theirs = await some.receive({ signal: AbortSignal.timeout(1000) });
 *   if (mine.arbitrationId !== 0x123 || mine.isRx) throw new Error();
 *   if (theirs.arbitrationId !== 0x234 || !theirs.isRx) throw new Error();
 * }
 * ```
 */
export class SocketCanChannelBus implements Bus, ChannelMember {
  /** `socketcan channel 'vcan0'`, as python-can says it. */
  readonly channelInfo: string;
  /** The network interface name. */
  readonly channel: string;
  #shared: SocketCanChannel;
  #queue: FrameQueue;
  #filters: CanFilter[] | null;
  #receiveOwn: boolean;
  #fdFrames: boolean;
  #droppedAtJoin: number;
  #sendTimeoutMs: number;
  #sender: SendQueue;
  #tasks = new Set<LocalPeriodicTask>();
  #closing = false;
  #closed: Promise<void> | undefined;

  private constructor(
    shared: SocketCanChannel,
    options: SocketCanChannelBusOptions,
    filters: CanFilter[] | null,
  ) {
    this.#shared = shared;
    this.channel = shared.name;
    this.channelInfo = `socketcan channel '${shared.name}'`;
    this.#filters = filters;
    this.#receiveOwn = options.receiveOwnMessages ?? false;
    this.#fdFrames = options.fd !== false;
    this.#queue = new FrameQueue(options.queueLimit);
    this.#sendTimeoutMs = (options.sendTimeout ?? 1) * 1000;
    this.#sender = new SendQueue((bytes) => this.#write(bytes), this.channel, this.#sendTimeoutMs);
    this.#droppedAtJoin = shared.kernelDropped;
    shared.join(this);
  }

  /**
   * Joins a channel with a bus's options (`channel`, `bitrate` and
   * `receiveBufferSize` are the channel's and ignored here).
   *
   * @param shared The channel, open.
   * @param options Filters, `receiveOwnMessages`, `fd`, `sendTimeout`, `queueLimit`.
   * @returns The bus; closing it leaves the channel (the last one closes it).
   * @throws {TypeError} When filters are malformed.
   * @throws {RangeError} For a bad `sendTimeout` or `queueLimit`.
   * @throws {CanError} When the channel is closed.
   */
  static open(shared: SocketCanChannel, options: SocketCanChannelBusOptions): SocketCanChannelBus {
    const filters = checkFilters(options.canFilters);
    checkNumber("sendTimeout", options.sendTimeout, 0, 3600);
    checkNumber("queueLimit", options.queueLimit, 1, 2 ** 31, true);
    return new SocketCanChannelBus(shared, options, filters);
  }

  get closed(): boolean {
    return this.#closing;
  }

  /** Frames lost: dropped by the kernel (the shared buffer full) since this bus joined, or by its queue. */
  get dropped(): number {
    return this.#queue.dropped + this.#shared.kernelDropped - this.#droppedAtJoin;
  }

  /** Takes a frame from the channel, as a socket with this bus's options would. */
  deliver(frame: CanFrame, own: boolean): void {
    if (own && !this.#receiveOwn) return;
    if (frame.isFd && !this.#fdFrames) return;
    if (!frame.isErrorFrame && !matchesFilters(frame, this.#filters)) return;
    this.#queue.push(frame);
  }

  /** Takes a receive error of the channel. */
  fail(error: Error): void {
    this.#queue.push(error);
  }

  send(frame: CanFrame): Promise<void> {
    if (this.#closing) return Promise.reject(this.#closedError());
    let bytes: Uint8Array;
    try {
      bytes = this.#encode(frame);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#sender.send(bytes);
  }

  #encode(frame: CanFrame): Uint8Array {
    const checked = validateFrame(frame);
    if (checked.isFd) {
      if (!this.#fdFrames) {
        throw new RangeError(
          `Cannot send a CAN FD frame on "${this.channel}": the bus was opened with fd: false`,
        );
      }
      const mtu = this.#shared.mtu();
      if (mtu !== undefined && mtu !== CANFD_MTU && this.#shared.mtu(true) !== CANFD_MTU) {
        throw new RangeError(
          `Cannot send a CAN FD frame on "${this.channel}": the interface is classic CAN only (MTU ${this.#shared.mtu()})`,
        );
      }
    }
    return encodeCanFrame(checked);
  }

  #write(bytes: Uint8Array): WriteResult {
    const errno = this.#shared.write(bytes, this);
    if (errno === -1) return goneError("Cannot send on", this.channel);
    return writeResult(errno, bytes, this.channel, () => this.#shared.mtu(true));
  }

  receive(options: ReceiveOptions = {}): Promise<CanFrame> {
    return this.#queue.receive(options.signal);
  }

  /**
   * Takes a frame that already arrived, without waiting.
   * @returns The frame, or `undefined` when none is queued.
   * @throws {BusClosedError} When the bus is closed and empty.
   * @throws {CanError} When the interface went down or away meanwhile.
   */
  poll(): CanFrame | undefined {
    return this.#queue.poll();
  }

  /**
   * Hands every later frame or error to `listener` as it arrives (the
   * server's relay: no promise per frame); `receive()` gets nothing more.
   * @param listener Called synchronously for each entry.
   */
  subscribe(listener: (entry: CanFrame | Error) => void): void {
    this.#queue.subscribe(listener);
  }

  sendPeriodic(frame: CanFrame, period: number, options: PeriodicOptions = {}): PeriodicTask {
    if (this.#closing) throw this.#closedError();
    this.#encode(frame);
    const task = new LocalPeriodicTask(
      frame,
      period,
      (f) => {
        if (this.#closing) throw this.#closedError();
        // A full queue or a down interface skips this period; the task goes on.
        this.send(f).catch(() => {});
      },
      (t) => this.#tasks.delete(t),
      options,
    );
    if (!task.stopped) this.#tasks.add(task);
    return task;
  }

  setFilters(filters?: CanFilter[] | null): void {
    this.#filters = checkFilters(filters);
  }

  close(): Promise<void> {
    this.#closed ??= this.#shutdown();
    return this.#closed;
  }

  async #shutdown(): Promise<void> {
    this.#closing = true;
    for (const task of [...this.#tasks]) task.stop();
    this.#sender.stop();
    await this.#shared.leave(this);
    // Rejected last, in the same turn as close() resolves, so that a caller
    // who awaits close() before a pending receive() sees no unhandled rejection.
    this.#sender.rejectAll(this.#closedError());
    this.#queue.close(this.#closedError(), true);
  }

  #closedError(): BusClosedError {
    return new BusClosedError(`The ${this.channelInfo} bus is closed`);
  }

  /**
   * Iterates over received frames until the bus closes (`for await`).
   * @returns The iterator; it throws what `receive()` throws, except that a closed bus ends it.
   */
  [Symbol.asyncIterator](): AsyncIterator<CanFrame> {
    return this.#queue.iterate();
  }

  /**
   * Closes the bus at the end of an `await using` block.
   * @returns `close()`'s promise.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
