/**
 * An in-process CAN bus with python-can's `virtual` semantics: every bus
 * instance on a channel receives what any other instance sends, and its own
 * frames only with `receiveOwnMessages`.
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
} from "./bus.ts";
import { type CanFrame, validateFrame } from "./frame.ts";
import { BusClosedError } from "./errors.ts";
import { FrameQueue } from "./_frame_queue.ts";
import { LocalPeriodicTask } from "./_periodic.ts";

/** Options of {@linkcode VirtualBus.open}. */
export interface VirtualBusOptions extends BusOptions {
  /**
   * The set of channels the bus joins; buses on different networks never meet.
   * @default {defaultNetwork}
   */
  network?: VirtualNetwork;
  /**
   * Frames kept for a reader that falls behind; beyond it the oldest are dropped.
   * @default {65536}
   */
  queueLimit?: number;
}

/**
 * A set of virtual channels. Tests create their own so they stay isolated.
 *
 * @example
 * ```ts
 * import { VirtualBus, VirtualNetwork } from "./virtual_bus.ts";
 * const network = new VirtualNetwork();
 * await using a = VirtualBus.open({ channel: 0, network });
 * if (network.channelSize("0") !== 1) throw new Error();
 * ```
 */
export class VirtualNetwork {
  #channels = new Map<string, Set<VirtualBus>>();

  /** @internal Adds a bus to its channel. */
  join(channel: string, bus: VirtualBus): Set<VirtualBus> {
    let members = this.#channels.get(channel);
    if (!members) this.#channels.set(channel, members = new Set());
    members.add(bus);
    return members;
  }

  /** @internal Removes a bus from its channel. */
  leave(channel: string, bus: VirtualBus): void {
    const members = this.#channels.get(channel);
    members?.delete(bus);
    if (members?.size === 0) this.#channels.delete(channel);
  }

  /**
   * Counts the open buses on a channel.
   * @param channel Channel name.
   * @returns How many buses are open on it.
   */
  channelSize(channel: string): number {
    return this.#channels.get(channel)?.size ?? 0;
  }
}

/** The network that buses join when no other is given. */
export const defaultNetwork: VirtualNetwork = new VirtualNetwork();

/**
 * One instance on a virtual channel.
 *
 * @example
 * ```ts
 * import { VirtualBus, VirtualNetwork } from "./virtual_bus.ts";
 * import { createFrame } from "./frame.ts";
 * const network = new VirtualNetwork();
 * await using a = VirtualBus.open({ channel: "demo", network });
 * await using b = VirtualBus.open({ channel: "demo", network });
 * await a.send(createFrame({ arbitrationId: 0x123, isExtendedId: false, data: [1, 2, 3] }));
 * const frame = await b.receive({ signal: AbortSignal.timeout(1000) });
 * if (frame.arbitrationId !== 0x123) throw new Error();
 * ```
 */
export class VirtualBus implements Bus {
  readonly channelInfo: string;
  /** The channel name. */
  readonly channel: string;
  #network: VirtualNetwork;
  #members: Set<VirtualBus>;
  #queue: FrameQueue;
  #filters: CanFilter[] | null;
  #receiveOwn: boolean;
  #preserveTimestamps: boolean;
  #tasks = new Set<LocalPeriodicTask>();

  private constructor(options: VirtualBusOptions) {
    this.channel = String(options.channel ?? 0);
    this.channelInfo = `virtual channel ${this.channel}`;
    this.#network = options.network ?? defaultNetwork;
    this.#queue = new FrameQueue(options.queueLimit);
    this.#filters = checkFilters(options.canFilters);
    this.#receiveOwn = options.receiveOwnMessages ?? false;
    this.#preserveTimestamps = options.preserveTimestamps ?? false;
    this.#members = this.#network.join(this.channel, this);
  }

  /**
   * Joins a virtual channel.
   * @param options Channel, filters and the other {@linkcode VirtualBusOptions}.
   * @returns The open bus.
   * @throws {TypeError} / {RangeError} For malformed filters.
   */
  static open(options: VirtualBusOptions = {}): VirtualBus {
    return new VirtualBus(options);
  }

  get closed(): boolean {
    return this.#queue.closed;
  }

  /** Frames this bus dropped because nobody read them in time. */
  get dropped(): number {
    return this.#queue.dropped;
  }

  send(frame: CanFrame): Promise<void> {
    try {
      this.#transmit(frame);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #transmit(frame: CanFrame): void {
    if (this.closed) throw new BusClosedError(`The ${this.channelInfo} bus is closed`);
    const checked = validateFrame(frame);
    // One copy for every receiver: receivers treat frames as immutable, and
    // sharing lets the server encode each frame once for all its clients.
    const copy: CanFrame = {
      ...checked,
      timestamp: this.#preserveTimestamps ? checked.timestamp : Date.now() / 1000,
      channel: this.channel,
      isRx: true,
    };
    for (const member of this.#members) {
      if (member === this && !this.#receiveOwn) continue;
      member.#deliver(copy);
    }
  }

  #deliver(frame: CanFrame): void {
    if (matchesFilters(frame, this.#filters)) this.#queue.push(frame);
  }

  receive(options: ReceiveOptions = {}): Promise<CanFrame> {
    return this.#queue.receive(options.signal);
  }

  /**
   * Takes a frame that already arrived, without waiting.
   * @returns The frame, or `undefined` when none is queued.
   * @throws {BusClosedError} When the bus is closed and empty.
   */
  poll(): CanFrame | undefined {
    return this.#queue.poll();
  }

  subscribe(listener: (entry: CanFrame | Error) => void): void {
    this.#queue.subscribe(listener);
  }

  sendPeriodic(frame: CanFrame, period: number, options: PeriodicOptions = {}): PeriodicTask {
    if (this.closed) throw new BusClosedError(`The ${this.channelInfo} bus is closed`);
    const task = new LocalPeriodicTask(
      frame,
      period,
      (f) => this.#transmit(f),
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
    if (this.closed) return Promise.resolve();
    for (const task of [...this.#tasks]) task.stop();
    this.#network.leave(this.channel, this);
    this.#queue.close(new BusClosedError(`The ${this.channelInfo} bus is closed`), true);
    return Promise.resolve();
  }

  [Symbol.asyncIterator](): AsyncIterator<CanFrame> {
    return this.#queue.iterate();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
