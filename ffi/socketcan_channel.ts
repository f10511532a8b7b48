/**
 * One SocketCAN interface shared by many buses through a single `CAN_RAW`
 * socket: every frame is read and decoded once, then offered to each bus,
 * which applies its own filters (see {@linkcode SocketCanChannelBus}). The
 * buses also send through this socket, with `CAN_RAW_RECV_OWN_MSGS` on, so
 * the kernel marks the echo of each frame they sent (`MSG_CONFIRM`) and the
 * channel tells which bus sent it by matching the echo against its writes.
 *
 * @module
 */

import type { CanFrame } from "../core/frame.ts";
import { CanError } from "../core/errors.ts";
import { errnoError } from "./errno.ts";
import { libc } from "./libc.ts";
import { CANFD_MTU, encodeCanFilters } from "./structs.ts";
import {
  BATCH,
  EAGAIN,
  ENETDOWN,
  ENODEV,
  goneError,
  RawCanSocket,
  type RawSocketOptions,
} from "./_raw_socket.ts";

/** A bus sharing a {@linkcode SocketCanChannel}: the channel hands it everything it reads. */
export interface ChannelMember {
  /**
   * A frame read from the interface; `own` when this member sent it (the
   * frame then has `isRx: false`).
   */
  deliver(frame: CanFrame, own: boolean): void;
  /** A receive error of the interface (down, removed), for every member. */
  fail(error: Error): void;
}

/** Options of {@linkcode SocketCanChannel.open}. */
export interface SocketCanChannelOptions {
  /**
   * Kernel receive buffer of the shared socket in bytes.
   * @default {4194304}
   */
  receiveBufferSize?: number;
}

// As in SocketCanBus: a blocked poll() returns within this time even if
// nothing happens; a removed interface is looked for this often; this many
// batches are read before waiting on poll() again (lets timers run).
const POLL_TIMEOUT_MS = 500;
const REBIND_INTERVAL_MS = 200;
const ROUNDS = 16;
const POLLIN = 0x1;
// Echoes kept waiting for: a frame the controller never sent (bus-off, an
// aborted transmission) is never echoed, so the oldest are forgotten.
const MAX_PENDING_ECHOES = 4096;
const CANFD_FDF = 0x04; // set by the kernel on every CAN FD frame it sends (linux/can.h)

interface PendingEcho {
  bytes: Uint8Array;
  member: ChannelMember;
}

/**
 * The shared socket of one interface, its reader and its members.
 *
 * @example Two buses on one socket
 * ```ts
 * import { listCanInterfaces } from "./socketcan_bus.ts";
 * import { SocketCanChannel } from "./socketcan_channel.ts";
 * import { SocketCanChannelBus } from "./socketcan_channel_bus.ts";
 * import { createFrame } from "../core/frame.ts";
 * if (listCanInterfaces().includes("vcan0")) {
 *   const channel = SocketCanChannel.open("vcan0");
 *   await using a = SocketCanChannelBus.open(channel, {});
 *   await using b = SocketCanChannelBus.open(channel, {});
 *   await a.send(createFrame({ arbitrationId: 0x123, isExtendedId: false, data: [1] }));
 *   const frame = await b.receive({ signal: AbortSignal.timeout(1000) });
 *   if (frame.arbitrationId !== 0x123) throw new Error();
 * }
 * ```
 */
export class SocketCanChannel {
  /** The network interface name. */
  readonly name: string;
  #socket: RawCanSocket | undefined;
  #socketOptions: RawSocketOptions;
  #members: readonly ChannelMember[] = [];
  #pending: PendingEcho[] = [];
  #pendingHead = 0;
  #closing = false;
  #closed: Promise<void> | undefined;
  #loop: Promise<void>;
  #wakeFd: number;
  #pollFds = new Uint8Array(new ArrayBuffer(16)); // struct pollfd[2] { int fd; short events, revents; }
  #wakeSleep: (() => void) | undefined;
  #droppedBefore = 0; // kernel drops counted by sockets that were replaced
  #rebindError = "";

  private constructor(name: string, socket: RawCanSocket, socketOptions: RawSocketOptions) {
    this.name = name;
    this.#socket = socket;
    this.#socketOptions = socketOptions;
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
   * Opens the shared socket: CAN FD frames, every identifier, every error
   * frame, and the echo of its own frames.
   *
   * @param name The interface, such as `"vcan0"`.
   * @param options The receive buffer size.
   * @returns The channel; it reads until {@linkcode SocketCanChannel.close}.
   * @throws {CanError} `Cannot bind to "vcan9": no such device` (code `ENODEV`) and the like.
   */
  static open(name: string, options: SocketCanChannelOptions = {}): SocketCanChannel {
    const socketOptions: RawSocketOptions = {
      fdFrames: true,
      receiveOwn: true,
      filters: encodeCanFilters(null),
      receiveBufferSize: options.receiveBufferSize ?? 4 << 20,
    };
    return new SocketCanChannel(name, RawCanSocket.open(name, socketOptions), socketOptions);
  }

  /** `true` once closing: new buses need a new channel. */
  get closed(): boolean {
    return this.#closing;
  }

  /** How many buses share the channel. */
  get size(): number {
    return this.#members.length;
  }

  /** Frames the kernel dropped because the shared socket's buffer was full, since it opened. */
  get kernelDropped(): number {
    return this.#droppedBefore + (this.#socket?.kernelDropped ?? 0);
  }

  /** The interface MTU (16 classic, 72 CAN FD), read again when asked to. */
  mtu(reread = false): number | undefined {
    if (reread) this.#socket?.readMtu();
    return this.#socket?.mtu;
  }

  /** Adds a member: it gets every frame read from now on. */
  join(member: ChannelMember): void {
    if (this.#closing) throw new CanError("EBADF", `The channel "${this.name}" is closed`);
    this.#members = [...this.#members, member];
  }

  /**
   * Removes a member; the last one to leave closes the channel.
   * @returns Resolves when the member is gone (and the channel closed, if it was the last).
   */
  leave(member: ChannelMember): Promise<void> {
    this.#members = this.#members.filter((m) => m !== member);
    return this.#members.length === 0 ? this.close() : Promise.resolve();
  }

  /**
   * Writes one packed frame for `member`, whose echo will be recognised.
   * @returns 0 when written, the errno value, or -1 while the interface is gone.
   */
  write(bytes: Uint8Array, member: ChannelMember): number {
    const socket = this.#socket;
    if (!socket) return -1;
    const errno = socket.write(bytes);
    if (errno === 0) {
      if (this.#pending.length - this.#pendingHead >= MAX_PENDING_ECHOES) this.#pendingHead++;
      this.#pending.push({ bytes, member });
    }
    return errno;
  }

  /** Stops reading and closes the socket. */
  close(): Promise<void> {
    this.#closed ??= this.#shutdown();
    return this.#closed;
  }

  async #shutdown(): Promise<void> {
    this.#closing = true;
    // Wake the poll() on the worker thread and wait for it: closing its fd
    // under it would be unsafe, and a pending FFI call keeps Deno running.
    libc().write(this.#wakeFd, new Uint8Array(new BigUint64Array([1n]).buffer), 8n);
    this.#wakeSleep?.();
    await this.#loop;
    this.#socket?.close();
    this.#socket = undefined;
    libc().close(this.#wakeFd);
  }

  // Which member sent the frame whose echo this is: the first pending write
  // with the same identifier, length, flags and data (echoes come back in
  // the order of transmission, which a controller may change by priority).
  #claim(bytes: Uint8Array): ChannelMember | undefined {
    const pending = this.#pending;
    for (let i = this.#pendingHead; i < pending.length; i++) {
      if (!sameFrame(pending[i].bytes, bytes)) continue;
      const { member } = pending[i];
      if (i === this.#pendingHead) this.#pendingHead++;
      else pending.splice(i, 1);
      if (this.#pendingHead === pending.length) {
        this.#pending = [];
        this.#pendingHead = 0;
      } else if (this.#pendingHead > 1024) {
        this.#pending = pending.slice(this.#pendingHead);
        this.#pendingHead = 0;
      }
      return member;
    }
    return undefined;
  }

  async #run(): Promise<void> {
    while (!this.#closing) {
      try {
        if (!this.#socket) {
          await this.#rebind();
          continue;
        }
        const view = new DataView(this.#pollFds.buffer);
        view.setInt32(0, this.#socket.fd, true);
        view.setInt16(4, POLLIN, true);
        const ready = await libc().poll(this.#pollFds, 2n, POLL_TIMEOUT_MS);
        if (this.#closing) break;
        if (ready > 0 && !this.#drain()) await this.#sleep(100);
      } catch (error) {
        this.#fail(error instanceof Error ? error : new Error(String(error)));
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
          frame = socket.frame(i, this.name);
        } catch {
          continue; // a size we do not know (a CAN XL frame): not ours to report
        }
        const members = this.#members;
        if (!socket.confirmed(i)) {
          for (let m = 0; m < members.length; m++) offer(members[m], frame, false);
          continue;
        }
        // Our own frame: its sender gets the echo (isRx false), everyone
        // else sees it as received, as a socket of its own would have.
        const owner = this.#claim(socket.bytes(i));
        const received: CanFrame = { ...frame, isRx: true };
        for (let m = 0; m < members.length; m++) {
          const member = members[m];
          if (member === owner) offer(member, frame, true);
          else offer(member, received, false);
        }
      }
      if (count < BATCH) break;
    }
    return true;
  }

  #fail(error: Error): void {
    for (const member of this.#members) {
      try {
        member.fail(error);
      } catch {
        // its listener threw: the others are still told
      }
    }
  }

  #onReceiveError(errno: number): boolean {
    const what = `Cannot receive on "${this.name}"`;
    switch (errno) {
      case EAGAIN:
        return true;
      case ENETDOWN:
        this.#fail(
          errnoError(what, errno, "the interface went down; the bus resumes when it is up"),
        );
        return true;
      case ENODEV:
        this.#fail(goneError(what, this.name));
        this.#droppedBefore += this.#socket!.kernelDropped;
        this.#socket!.close();
        this.#socket = undefined;
        this.#pending = []; // a new socket echoes none of the old one's frames
        this.#pendingHead = 0;
        return true;
      default:
        this.#fail(errnoError(what, errno));
        return false;
    }
  }

  async #rebind(): Promise<void> {
    try {
      this.#socket = RawCanSocket.open(this.name, this.#socketOptions);
      this.#rebindError = "";
    } catch (error) {
      const message = String(error);
      const absent = error instanceof CanError && error.code === "ENODEV";
      if (!absent && message !== this.#rebindError) this.#fail(error as Error);
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

// One member's failure (its listener threw) is its own: the others still
// get the frame, as they would from sockets of their own.
function offer(member: ChannelMember, frame: CanFrame, own: boolean): void {
  try {
    member.deliver(frame, own);
  } catch (error) {
    try {
      member.fail(error instanceof Error ? error : new Error(String(error)));
    } catch {
      // nothing more to tell it
    }
  }
}

// Whether an echo is the frame written: identifier, length, the FD flags the
// sender chose and the payload (the kernel adds CANFD_FDF to CAN FD frames).
function sameFrame(written: Uint8Array, echo: Uint8Array): boolean {
  if (written.length !== echo.length) return false;
  for (let i = 0; i < 5; i++) if (written[i] !== echo[i]) return false; // can_id, len
  if (written.length === CANFD_MTU && ((written[5] ^ echo[5]) & ~CANFD_FDF) !== 0) return false;
  const end = 8 + written[4];
  for (let i = 8; i < end; i++) if (written[i] !== echo[i]) return false;
  return true;
}
