/**
 * A {@linkcode Bus} on a Linux SocketCAN interface (`can0`, `vcan0`, ...)
 * through Deno FFI: one `CAN_RAW` socket per bus, kernel filters and
 * timestamps, CAN FD, error frames, and recovery when the interface goes
 * down or away. Needs `--allow-ffi` (and libsocketcan for `bitrate`).
 *
 * The event loop never blocks: `poll(2)` waits on a worker thread
 * (`nonblocking: true`), then frames are read and written synchronously on a
 * non-blocking socket.
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
import { BusClosedError, CanError } from "../core/errors.ts";
import { FrameQueue } from "../core/_frame_queue.ts";
import { LocalPeriodicTask } from "../core/_periodic.ts";
import { errnoError } from "./errno.ts";
import { SendQueue, type WriteResult, writeResult } from "./_send_queue.ts";
import { libc } from "./libc.ts";
import { setBitrate, setDataBitrate } from "./libsocketcan.ts";
import { CANFD_MTU, encodeCanFilters, encodeCanFrame } from "./structs.ts";
import {
  BATCH,
  EAGAIN,
  ENETDOWN,
  ENODEV,
  goneError,
  RawCanSocket,
  type RawSocketOptions,
} from "./_raw_socket.ts";

export { interfaceInfo, listCanInterfaces } from "./can_interfaces.ts";
export type { CanInterfaceInfo } from "./can_interfaces.ts";

/** Options of {@linkcode SocketCanBus.open}. */
export interface SocketCanBusOptions extends BusOptions {
  /** The network interface, such as `"can0"` or `"vcan0"`. Required. */
  channel?: string;
  /**
   * Open the socket for CAN FD frames (`CAN_RAW_FD_FRAMES`). Left out, the
   * socket takes them and the interface decides: sending a CAN FD frame on a
   * classic interface (MTU 16) is refused with a `RangeError`.
   * @default {undefined}
   */
  fd?: boolean;
  /**
   * Seconds a send keeps retrying while the transmit queue is full
   * (`ENOBUFS`/`EAGAIN`) before it rejects with a {@linkcode CanError}.
   * @default {1}
   */
  sendTimeout?: number;
  /**
   * Frames kept for a reader that falls behind; beyond it the oldest are dropped.
   * @default {65536}
   */
  queueLimit?: number;
  /**
   * Kernel receive buffer in bytes (`SO_RCVBUF`, or `SO_RCVBUFFORCE` with
   * `CAP_NET_ADMIN`); the kernel doubles it for its bookkeeping.
   * @default {4194304}
   */
  receiveBufferSize?: number;
}

// A blocked poll() returns within this time even if nothing happens, so a
// missed wake-up can never keep close() waiting for long.
const POLL_TIMEOUT_MS = 500;
// How often a bus whose interface was removed looks for it again.
const REBIND_INTERVAL_MS = 200;
// Batches read in one go before waiting on poll() again (lets timers run).
const ROUNDS = 16;
const POLLIN = 0x1;

/**
 * A bus on a SocketCAN network interface.
 *
 * Received frames carry the kernel's receive timestamp; frames this bus sent
 * (with `receiveOwnMessages`) come back with `isRx: false`. Error frames
 * (`CAN_RAW_ERR_FILTER` is `CAN_ERR_MASK`) pass whatever the filters say.
 * When the interface goes down (`ENETDOWN`) or is removed (`ENODEV`) the next
 * `receive()` rejects with a {@linkcode CanError} of that code, and the bus
 * works again once the interface is back, without being reopened.
 *
 * @example
 * ```ts
 * import { listCanInterfaces, SocketCanBus } from "./socketcan_bus.ts";
 * import { createFrame } from "../core/frame.ts";
 * if (listCanInterfaces().includes("vcan0")) {
 *   await using a = await SocketCanBus.open({ channel: "vcan0" });
 *   await using b = await SocketCanBus.open({ channel: "vcan0" });
 *   await a.send(createFrame({ arbitrationId: 0x123, isExtendedId: false, data: [1, 2] }));
 *   const frame = await b.receive({ signal: AbortSignal.timeout(1000) });
 *   if (frame.arbitrationId !== 0x123) throw new Error();
 * }
 * ```
 */
export class SocketCanBus implements Bus {
  /** `socketcan channel 'vcan0'`, as python-can says it. */
  readonly channelInfo: string;
  /** The network interface name. */
  readonly channel: string;
  #queue: FrameQueue;
  #filters: CanFilter[] | null;
  #socketOptions: RawSocketOptions;
  #socket: RawCanSocket | undefined;
  #sendTimeoutMs: number;
  #sender: SendQueue;
  #tasks = new Set<LocalPeriodicTask>();
  #closing = false;
  #closed: Promise<void> | undefined;
  #loop: Promise<void>;
  #wakeFd: number;
  #pollFds = new Uint8Array(new ArrayBuffer(16)); // struct pollfd[2] { int fd; short events, revents; }
  #wakeSleep: (() => void) | undefined;
  #droppedBefore = 0; // kernel drops counted by sockets that were replaced
  #rebindError = ""; // the last rebind failure reported, so it is reported once

  private constructor(
    channel: string,
    socket: RawCanSocket,
    socketOptions: RawSocketOptions,
    options: SocketCanBusOptions,
    filters: CanFilter[] | null,
  ) {
    this.channel = channel;
    this.channelInfo = `socketcan channel '${channel}'`;
    this.#socket = socket;
    this.#socketOptions = socketOptions;
    this.#filters = filters;
    this.#queue = new FrameQueue(options.queueLimit);
    this.#sendTimeoutMs = (options.sendTimeout ?? 1) * 1000;
    this.#sender = new SendQueue((bytes) => this.#write(bytes), this.channel, this.#sendTimeoutMs);
    this.#wakeFd = libc().eventfd(0, 0o4000 | 0o2000000); // EFD_NONBLOCK | EFD_CLOEXEC
    if (this.#wakeFd < 0) {
      socket.close();
      throw errnoError("Cannot create an eventfd");
    }
    const view = new DataView(this.#pollFds.buffer);
    view.setInt32(8, this.#wakeFd, true);
    view.setInt16(12, POLLIN, true);
    this.#loop = this.#run();
  }

  /**
   * Opens a raw CAN socket on an interface, after setting its bit rate when
   * `bitrate` is given.
   *
   * @param options The interface as `channel`, plus the other {@linkcode SocketCanBusOptions}.
   * @returns The open bus.
   * @throws {TypeError} When `channel` is not an interface name, or filters are malformed.
   * @throws {RangeError} For a bad `sendTimeout`, `queueLimit`, `receiveBufferSize` or `bitrate`.
   * @throws {CanError} `Cannot bind to "vcan9": no such device` (code `ENODEV`);
   *   `Cannot set bitrate on "vcan0": ...` (`EOPNOTSUPP`: vcan has no bit rate;
   *   `EPERM`: needs `CAP_NET_ADMIN`); `EOPNOTSUPP` for `dataBitrate`, which
   *   libsocketcan cannot set.
   */
  static open(options: SocketCanBusOptions): Promise<SocketCanBus> {
    try {
      const channel = options.channel;
      if (typeof channel !== "string" || !/^[^/\0\s]{1,15}$/.test(channel)) {
        throw new TypeError(
          `channel must be a network interface name such as "can0", got ${JSON.stringify(channel)}`,
        );
      }
      const filters = checkFilters(options.canFilters);
      checkNumber("sendTimeout", options.sendTimeout, 0, 3600);
      checkNumber("queueLimit", options.queueLimit, 1, 2 ** 31, true);
      checkNumber("receiveBufferSize", options.receiveBufferSize, 1024, 2 ** 30, true);
      if (options.bitrate !== undefined && options.bitrate !== null) {
        setBitrate(channel, options.bitrate);
      }
      if (options.dataBitrate !== undefined && options.dataBitrate !== null) {
        setDataBitrate(channel, options.dataBitrate);
      }
      const socketOptions: RawSocketOptions = {
        fdFrames: options.fd !== false,
        receiveOwn: options.receiveOwnMessages ?? false,
        filters: encodeCanFilters(filters),
        receiveBufferSize: options.receiveBufferSize ?? 4 << 20,
      };
      const socket = RawCanSocket.open(channel, socketOptions);
      return Promise.resolve(new SocketCanBus(channel, socket, socketOptions, options, filters));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  get closed(): boolean {
    return this.#closing;
  }

  /** Frames lost: dropped by the kernel (receive buffer full) or by the receive queue. */
  get dropped(): number {
    return this.#queue.dropped + this.#droppedBefore + (this.#socket?.kernelDropped ?? 0);
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
      if (!this.#socketOptions.fdFrames) {
        throw new RangeError(
          `Cannot send a CAN FD frame on "${this.channel}": the bus was opened with fd: false`,
        );
      }
      if (this.#socket && this.#socket.mtu !== CANFD_MTU) this.#socket.readMtu();
      if (this.#socket && this.#socket.mtu !== CANFD_MTU) {
        throw new RangeError(
          `Cannot send a CAN FD frame on "${this.channel}": the interface is classic CAN only (MTU ${this.#socket.mtu})`,
        );
      }
    }
    return encodeCanFrame(checked);
  }

  #write(bytes: Uint8Array): WriteResult {
    const socket = this.#socket;
    if (!socket) return goneError("Cannot send on", this.channel);
    return writeResult(socket.write(bytes), bytes, this.channel, () => socket.readMtu());
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
    const checked = checkFilters(filters);
    const packed = encodeCanFilters(checked);
    this.#socket?.setFilters(packed);
    this.#socketOptions.filters = packed;
    this.#filters = checked;
  }

  close(): Promise<void> {
    this.#closed ??= this.#shutdown();
    return this.#closed;
  }

  async #shutdown(): Promise<void> {
    this.#closing = true;
    for (const task of [...this.#tasks]) task.stop();
    this.#sender.stop();
    // Wake the poll() on the worker thread, and wait for it: closing its fd
    // under it would be unsafe, and a pending FFI call keeps Deno running.
    libc().write(this.#wakeFd, new Uint8Array(new BigUint64Array([1n]).buffer), 8n);
    this.#wakeSleep?.();
    await this.#loop;
    this.#socket?.close();
    this.#socket = undefined;
    libc().close(this.#wakeFd);
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

  async #run(): Promise<void> {
    while (!this.#closing) {
      try {
        if (!this.#socket) {
          await this.#rebind();
          continue;
        }
        new DataView(this.#pollFds.buffer).setInt32(0, this.#socket.fd, true);
        new DataView(this.#pollFds.buffer).setInt16(4, POLLIN, true);
        const ready = await libc().poll(this.#pollFds, 2n, POLL_TIMEOUT_MS);
        if (this.#closing) break;
        if (ready > 0 && !this.#drain()) await this.#sleep(100);
      } catch (error) {
        this.#queue.push(error instanceof Error ? error : new Error(String(error)));
        await this.#sleep(100);
      }
    }
  }

  // Reads what is there; false after an unexpected error (the loop backs off).
  #drain(): boolean {
    const socket = this.#socket!;
    for (let round = 0; round < ROUNDS; round++) {
      const count = socket.receive();
      if (count < 0) return this.#onReceiveError(-count);
      for (let i = 0; i < count; i++) {
        let frame: CanFrame;
        try {
          frame = socket.frame(i, this.channel);
        } catch {
          continue; // a size we do not know (a CAN XL frame): not ours to report
        }
        if (frame.isErrorFrame || matchesFilters(frame, this.#filters)) this.#queue.push(frame);
      }
      if (count < BATCH) break;
    }
    return true;
  }

  #onReceiveError(errno: number): boolean {
    const what = `Cannot receive on "${this.channel}"`;
    switch (errno) {
      case EAGAIN:
        return true;
      case ENETDOWN:
        this.#queue.push(
          errnoError(what, errno, "the interface went down; the bus resumes when it is up"),
        );
        return true;
      case ENODEV:
        this.#queue.push(goneError(what, this.channel));
        this.#droppedBefore += this.#socket!.kernelDropped;
        this.#socket!.close();
        this.#socket = undefined;
        return true;
      default:
        this.#queue.push(errnoError(what, errno));
        return false;
    }
  }

  async #rebind(): Promise<void> {
    try {
      this.#socket = RawCanSocket.open(this.channel, this.#socketOptions);
      this.#rebindError = "";
    } catch (error) {
      const message = String(error);
      const absent = error instanceof CanError && error.code === "ENODEV";
      if (!absent && message !== this.#rebindError) this.#queue.push(error as Error);
      this.#rebindError = message;
      await this.#sleep(REBIND_INTERVAL_MS);
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wakeSleep = () => {
        this.#wakeSleep = undefined;
        done();
      };
    });
  }
}

/**
 * Checks an optional numeric option.
 * @throws {RangeError} Naming the option, its range and the value.
 */
export function checkNumber(
  name: string,
  value: unknown,
  min: number,
  max: number,
  integer = false,
): void {
  if (value === undefined || value === null) return;
  if (
    typeof value !== "number" || !Number.isFinite(value) || value < min || value > max ||
    (integer && !Number.isInteger(value))
  ) {
    throw new RangeError(
      `${name} must be ${integer ? "an integer" : "a number"} ${min}-${max}, got ${value}`,
    );
  }
}
