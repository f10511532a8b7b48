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
   * @example
   * ```ts
   * import { VirtualBus, VirtualNetwork } from "./virtual_bus.ts";
   * const network = new VirtualNetwork();
   * const bus = VirtualBus.open({ channel: "vcan0", network });
   * if (network.channelSize("vcan0") !== 1) throw new Error();
   * await bus.close();
   * if (network.channelSize("vcan0") !== 0) throw new Error();
   * ```
   */
  channelSize(channel: string): number {
    return this.#channels.get(channel)?.size ?? 0;
  }
}

/**
 * The network that buses join when no other is given.
 *
 * @example
 * ```ts
 * import { defaultNetwork, VirtualBus } from "./virtual_bus.ts";
 * await using bus = VirtualBus.open({ channel: "default-network-example" });
 * if (defaultNetwork.channelSize("default-network-example") !== 1) throw new Error();
 * ```
 */
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
  /** `"virtual channel <channel>"`. */
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
   * @example Hearing its own frames
   * ```ts
   * import { VirtualBus, VirtualNetwork } from "./virtual_bus.ts";
   * import { createFrame } from "./frame.ts";
   * const network = new VirtualNetwork();
   * await using bus = VirtualBus.open({ channel: "0", network, receiveOwnMessages: true });
   * await bus.send(createFrame({ arbitrationId: 0x7df, isExtendedId: false, data: [2, 1, 0] }));
   * if (bus.poll()?.arbitrationId !== 0x7df) throw new Error();
   * ```
   */
  static open(options: VirtualBusOptions = {}): VirtualBus {
    return new VirtualBus(options);
  }

  /** `true` once `close()` was called. */
  get closed(): boolean {
    return this.#queue.closed;
  }

  /**
   * Frames this bus dropped because nobody read them in time (beyond
   * `queueLimit`, the oldest go).
   */
  get dropped(): number {
    return this.#queue.dropped;
  }

  /**
   * Delivers a frame to every other bus on the channel (to this one too with
   * `receiveOwnMessages`), stamped with the time and the channel.
   *
   * @param frame The frame.
   * @returns A promise that resolves once the frame is delivered.
   * @throws {TypeError} / {RangeError} For an invalid frame; nothing is sent.
   * @throws {BusClosedError} When the bus is closed.
   * @example
   * ```ts
   * import { VirtualBus, VirtualNetwork } from "./virtual_bus.ts";
   * import { createFrame } from "./frame.ts";
   * const network = new VirtualNetwork();
   * await using a = VirtualBus.open({ channel: "0", network });
   * await using b = VirtualBus.open({ channel: "0", network });
   * await a.send(createFrame({ arbitrationId: 0x1f334455, data: [0x11, 0x22] }));
   * const frame = b.poll();
   * if (frame?.channel !== "0" || !frame.isRx || frame.data[1] !== 0x22) throw new Error();
   * ```
   */
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

  /**
   * Waits for the next frame that passes the filters.
   *
   * @param options `signal` to stop waiting (the promise rejects with its reason).
   * @returns The frame.
   * @throws {BusClosedError} When the bus is closed, or closes while waiting.
   * @example Waiting at most 100 ms
   * ```ts
   * import { VirtualBus, VirtualNetwork } from "./virtual_bus.ts";
   * await using bus = VirtualBus.open({ network: new VirtualNetwork() });
   * const error = await bus.receive({ signal: AbortSignal.timeout(100) }).catch((e) => e);
   * if (!(error instanceof DOMException) || error.name !== "TimeoutError") throw error;
   * ```
   */
  receive(options: ReceiveOptions = {}): Promise<CanFrame> {
    return this.#queue.receive(options.signal);
  }

  /**
   * Takes a frame that already arrived, without waiting.
   * @returns The frame, or `undefined` when none is queued.
   * @throws {BusClosedError} When the bus is closed and empty.
   * @example
   * ```ts
   * import { VirtualBus, VirtualNetwork } from "./virtual_bus.ts";
   * await using bus = VirtualBus.open({ network: new VirtualNetwork() });
   * if (bus.poll() !== undefined) throw new Error("nothing was sent");
   * ```
   */
  poll(): CanFrame | undefined {
    return this.#queue.poll();
  }

  /**
   * Hands every frame to `listener` synchronously as it arrives, instead of
   * queueing it: afterwards `receive()`, `poll()` and iteration get nothing more.
   * The server relays frames this way, without a promise per frame.
   *
   * @param listener Called with each frame that passes the filters.
   * @example
   * ```ts
   * import { VirtualBus, VirtualNetwork } from "./virtual_bus.ts";
   * import { createFrame, type CanFrame } from "./frame.ts";
   * const network = new VirtualNetwork();
   * await using a = VirtualBus.open({ network });
   * await using b = VirtualBus.open({ network });
   * const seen: (CanFrame | Error)[] = [];
   * b.subscribe((entry) => seen.push(entry));
   * await a.send(createFrame({ arbitrationId: 0x100, isExtendedId: false }));
   * if (seen.length !== 1) throw new Error();
   * ```
   */
  subscribe(listener: (entry: CanFrame | Error) => void): void {
    this.#queue.subscribe(listener);
  }

  /**
   * Sends `frame` every `period` seconds until the task is stopped, its
   * duration is over or the bus closes. The first frame goes out at once.
   *
   * @param frame The frame.
   * @param period Seconds between two transmissions, at least 0.001.
   * @param options `duration` in seconds; the task runs until stopped when left out.
   * @returns The task.
   * @throws {TypeError} / {RangeError} For an invalid frame, period or duration.
   * @throws {BusClosedError} When the bus is closed.
   * @example A 10 ms heartbeat for 50 ms
   * ```ts
   * import { VirtualBus, VirtualNetwork } from "./virtual_bus.ts";
   * import { createFrame } from "./frame.ts";
   * const network = new VirtualNetwork();
   * await using sender = VirtualBus.open({ network });
   * await using listener = VirtualBus.open({ network });
   * const heartbeat = createFrame({ arbitrationId: 0x700, isExtendedId: false });
   * const task = sender.sendPeriodic(heartbeat, 0.01, { duration: 0.05 });
   * const frame = await listener.receive({ signal: AbortSignal.timeout(1000) });
   * if (frame.arbitrationId !== 0x700) throw new Error();
   * task.stop();
   * ```
   */
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

  /**
   * Replaces the filters applied to frames arriving from now on.
   *
   * @param filters `{canId, canMask, extended?}` filters; `null`, `undefined` or `[]`
   *   passes everything.
   * @throws {TypeError} / {RangeError} For malformed filters.
   * @example Only ids 0x100-0x1FF
   * ```ts
   * import { VirtualBus, VirtualNetwork } from "./virtual_bus.ts";
   * import { createFrame } from "./frame.ts";
   * const network = new VirtualNetwork();
   * await using a = VirtualBus.open({ network });
   * await using b = VirtualBus.open({ network });
   * b.setFilters([{ canId: 0x100, canMask: 0x700, extended: false }]);
   * await a.send(createFrame({ arbitrationId: 0x200, isExtendedId: false }));
   * await a.send(createFrame({ arbitrationId: 0x123, isExtendedId: false }));
   * if (b.poll()?.arbitrationId !== 0x123 || b.poll() !== undefined) throw new Error();
   * ```
   */
  setFilters(filters?: CanFilter[] | null): void {
    this.#filters = checkFilters(filters);
  }

  /**
   * Stops the periodic tasks, leaves the channel and rejects pending and later
   * receives with {@linkcode BusClosedError}; frames not yet received are
   * discarded. Calling it again does nothing more.
   *
   * @returns A promise that resolves once the bus is closed.
   * @example
   * ```ts
   * import { VirtualBus, VirtualNetwork } from "./virtual_bus.ts";
   * import { BusClosedError } from "./errors.ts";
   * const bus = VirtualBus.open({ network: new VirtualNetwork() });
   * const waiting = bus.receive();
   * await bus.close();
   * const error = await waiting.catch((e) => e);
   * if (!(error instanceof BusClosedError) || !bus.closed) throw new Error();
   * ```
   */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    for (const task of [...this.#tasks]) task.stop();
    this.#network.leave(this.channel, this);
    this.#queue.close(new BusClosedError(`The ${this.channelInfo} bus is closed`), true);
    return Promise.resolve();
  }

  /**
   * Iterates over received frames until the bus closes (`for await`).
   *
   * @returns The iterator; a closed bus ends it.
   * @example
   * ```ts
   * import { VirtualBus, VirtualNetwork } from "./virtual_bus.ts";
   * import { createFrame } from "./frame.ts";
   * const network = new VirtualNetwork();
   * await using a = VirtualBus.open({ network });
   * await using b = VirtualBus.open({ network });
   * for (const id of [1, 2, 3]) {
   *   await a.send(createFrame({ arbitrationId: id, isExtendedId: false }));
   * }
   * const ids: number[] = [];
   * for await (const frame of b) {
   *   ids.push(frame.arbitrationId);
   *   if (ids.length === 3) break;
   * }
   * if (ids.join() !== "1,2,3") throw new Error();
   * ```
   */
  [Symbol.asyncIterator](): AsyncIterator<CanFrame> {
    return this.#queue.iterate();
  }

  /**
   * Closes the bus at the end of an `await using` block.
   *
   * @returns `close()`'s promise.
   * @example
   * ```ts
   * import { VirtualBus, VirtualNetwork } from "./virtual_bus.ts";
   * const network = new VirtualNetwork();
   * {
   *   await using _bus = VirtualBus.open({ channel: "0", network });
   * }
   * if (network.channelSize("0") !== 0) throw new Error();
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
