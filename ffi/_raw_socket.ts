// One non-blocking CAN_RAW socket bound to one interface, with batched
// reception (recvmmsg) of frames, their kernel timestamps and direction.
// Every call here is synchronous, so errno is read on the thread that set it.
import type { CanFrame } from "../core/frame.ts";
import { CanError } from "../core/errors.ts";
import { errnoError, lastErrno } from "./errno.ts";
import { cString, libc } from "./libc.ts";
import {
  AF_CAN,
  CAN_ERR_MASK,
  CANFD_MTU,
  decodeCanFrame,
  encodeSockaddrCan,
  SOCKADDR_CAN_SIZE,
} from "./structs.ts";

// linux/net.h, asm-generic/socket.h, linux/can.h, linux/can/raw.h, linux/sockios.h
const SOCK_RAW = 3;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const CAN_RAW = 1;
const SOL_SOCKET = 1;
const SO_RCVBUF = 8;
const SO_RCVBUFFORCE = 33;
const SO_TIMESTAMPNS = 35; // SO_TIMESTAMPNS_OLD: struct timespec of 64-bit longs
const SO_RXQ_OVFL = 40;
const SOL_CAN_RAW = 101;
const CAN_RAW_FILTER = 1;
const CAN_RAW_ERR_FILTER = 2;
const CAN_RAW_RECV_OWN_MSGS = 4;
const CAN_RAW_FD_FRAMES = 5;
const MSG_DONTWAIT = 0x40;
const MSG_CONFIRM = 0x800; // a frame this socket sent (CAN_RAW_RECV_OWN_MSGS)
const SIOCGIFMTU = 0x8921;
const IFREQ_SIZE = 40;

export const EAGAIN = 11;
export const ENODEV = 19;
export const EINVAL = 22;
export const ENETDOWN = 100;
export const ENOBUFS = 105;

/** Frames taken from the kernel per recvmmsg call. */
export const BATCH = 64;

// struct mmsghdr { struct msghdr msg_hdr; unsigned int msg_len; } on LP64:
// msg_name @0, msg_namelen @8, msg_iov @16, msg_iovlen @24, msg_control @32,
// msg_controllen @40, msg_flags @48, msg_len @56; 64 bytes with padding.
const MMSGHDR = 64;
const IOVEC = 16; // { void *iov_base; size_t iov_len; }
const CONTROL = 64; // room for SCM_TIMESTAMPNS (32) and SO_RXQ_OVFL (24)
const CMSGHDR = 16; // { size_t cmsg_len; int cmsg_level; int cmsg_type; }

/** Socket settings, re-applied whenever the socket is opened again. */
export interface RawSocketOptions {
  fdFrames: boolean;
  receiveOwn: boolean;
  /** Packed `struct can_filter` array (see encodeCanFilters). */
  filters: Uint8Array;
  receiveBufferSize: number;
}

/** A non-blocking CAN_RAW socket bound to one interface. */
export class RawCanSocket {
  readonly fd: number;
  readonly ifindex: number;
  /** The interface MTU when the socket was bound (16 classic, 72 CAN FD). */
  mtu: number;
  readonly name: string;
  /** Frames the kernel dropped because the socket's receive buffer was full. */
  kernelDropped = 0;
  #buffer = new ArrayBuffer(BATCH * (MMSGHDR + IOVEC + CANFD_MTU + CONTROL));
  #headers = new DataView(this.#buffer, 0, BATCH * MMSGHDR);
  #headerBytes = new Uint8Array(this.#buffer, 0, BATCH * MMSGHDR);
  // 32-bit views for the hot path (no BigInt, no DataView per frame); the
  // 64-bit lengths involved are small, so their low words are enough.
  #headerWords = new Int32Array(this.#buffer, 0, BATCH * MMSGHDR / 4);
  #framesOffset = BATCH * (MMSGHDR + IOVEC);
  #frames = new Uint8Array(this.#buffer, this.#framesOffset, BATCH * CANFD_MTU);
  #controlOffset = BATCH * (MMSGHDR + IOVEC + CANFD_MTU);
  #controlWords = new Int32Array(this.#buffer, this.#controlOffset, BATCH * CONTROL / 4);
  #batchCopy = new Uint8Array(0);

  private constructor(fd: number, ifindex: number, name: string) {
    this.fd = fd;
    this.ifindex = ifindex;
    this.name = name;
    this.mtu = 0;
    const address = (offset: number) =>
      BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(new Uint8Array(this.#buffer, offset))));
    const iovecs = new DataView(this.#buffer, BATCH * MMSGHDR, BATCH * IOVEC);
    for (let i = 0; i < BATCH; i++) {
      iovecs.setBigUint64(i * IOVEC, address(this.#framesOffset + i * CANFD_MTU), true);
      iovecs.setBigUint64(i * IOVEC + 8, BigInt(CANFD_MTU), true);
      this.#headers.setBigUint64(i * MMSGHDR + 16, address(BATCH * MMSGHDR + i * IOVEC), true);
      this.#headers.setBigUint64(i * MMSGHDR + 24, 1n, true);
      this.#headers.setBigUint64(
        i * MMSGHDR + 32,
        address(this.#controlOffset + i * CONTROL),
        true,
      );
    }
  }

  /**
   * Opens, configures and binds a raw CAN socket.
   * @throws {CanError} `Cannot bind to "vcan9": no such device` and the like.
   */
  static open(name: string, options: RawSocketOptions): RawCanSocket {
    const c = libc();
    const ifindex = c.if_nametoindex(cString(name));
    if (ifindex === 0) throw errnoError(`Cannot bind to "${name}"`, lastErrno());
    const fd = c.socket(AF_CAN, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, CAN_RAW);
    if (fd < 0) {
      const errno = lastErrno();
      throw errnoError(
        "Cannot open a CAN_RAW socket",
        errno,
        "is the can-raw kernel module available?",
      );
    }
    const socket = new RawCanSocket(fd, ifindex, name);
    try {
      const int = (value: number) => new Uint8Array(new Int32Array([value]).buffer);
      const set = (level: number, option: number, value: Uint8Array, what: string) => {
        if (c.setsockopt(fd, level, option, value, value.length) < 0) {
          throw errnoError(`Cannot set ${what} on a socket for "${name}"`);
        }
      };
      if (options.fdFrames) set(SOL_CAN_RAW, CAN_RAW_FD_FRAMES, int(1), "CAN_RAW_FD_FRAMES");
      if (options.receiveOwn) {
        set(SOL_CAN_RAW, CAN_RAW_RECV_OWN_MSGS, int(1), "CAN_RAW_RECV_OWN_MSGS");
      }
      set(SOL_CAN_RAW, CAN_RAW_ERR_FILTER, int(CAN_ERR_MASK), "CAN_RAW_ERR_FILTER");
      socket.setFilters(options.filters);
      set(SOL_SOCKET, SO_TIMESTAMPNS, int(1), "SO_TIMESTAMPNS");
      set(SOL_SOCKET, SO_RXQ_OVFL, int(1), "SO_RXQ_OVFL");
      // SO_RCVBUFFORCE passes net.core.rmem_max but needs CAP_NET_ADMIN.
      const size = int(options.receiveBufferSize);
      if (c.setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, size, 4) < 0) {
        set(SOL_SOCKET, SO_RCVBUF, size, "SO_RCVBUF");
      }
      const address = encodeSockaddrCan(ifindex);
      if (c.bind(fd, address, SOCKADDR_CAN_SIZE) < 0) {
        const errno = lastErrno();
        throw errnoError(
          `Cannot bind to "${name}"`,
          errno,
          errno === ENODEV ? "not a CAN interface" : undefined,
        );
      }
      socket.mtu = socket.readMtu();
      return socket;
    } catch (error) {
      socket.close();
      throw error;
    }
  }

  /** Reads the interface MTU with SIOCGIFMTU. */
  readMtu(): number {
    const ifreq = new Uint8Array(IFREQ_SIZE);
    ifreq.set(cString(this.name).subarray(0, 15));
    if (libc().ioctl(this.fd, BigInt(SIOCGIFMTU), ifreq) < 0) {
      throw errnoError(`Cannot read the MTU of "${this.name}"`);
    }
    this.mtu = new DataView(ifreq.buffer).getInt32(16, true);
    return this.mtu;
  }

  /** Installs packed CAN_RAW_FILTER filters (an empty array receives nothing). */
  setFilters(filters: Uint8Array): void {
    if (libc().setsockopt(this.fd, SOL_CAN_RAW, CAN_RAW_FILTER, filters, filters.length) < 0) {
      throw errnoError(`Cannot set CAN_RAW_FILTER on a socket for "${this.name}"`);
    }
  }

  /** Writes one packed frame; returns 0 or the errno value. */
  write(bytes: Uint8Array): number {
    const written = Number(libc().write(this.fd, bytes, BigInt(bytes.length)));
    if (written === bytes.length) return 0;
    return written < 0 ? lastErrno() : 5; // EIO: a CAN write is all or nothing
  }

  /**
   * Takes up to BATCH frames without waiting.
   * @returns How many arrived (read them with `frame(i)`), or -errno.
   */
  receive(): number {
    const words = this.#headerWords;
    for (let i = 0; i < BATCH; i++) words[(i * MMSGHDR + 40) / 4] = CONTROL; // msg_controllen
    const count = libc().recvmmsg(this.fd, this.#headerBytes, BATCH, MSG_DONTWAIT, null);
    if (count < 0) return -lastErrno();
    // One copy of the whole batch; the frames' data are views into it.
    this.#batchCopy = this.#frames.slice(0, count * CANFD_MTU);
    return count;
  }

  /**
   * Decodes frame `i` of the last batch.
   * @throws {RangeError} For a frame of an unknown size (ignored by the bus).
   */
  frame(i: number, channel: string): CanFrame {
    const header = i * MMSGHDR / 4;
    const length = this.#headerWords[header + 14]; // msg_len
    const flags = this.#headerWords[header + 12]; // msg_flags
    const controlLength = this.#headerWords[header + 10]; // msg_controllen
    const control = this.#controlWords;
    let timestamp = 0;
    for (let offset = 0; offset + CMSGHDR <= controlLength;) {
      const w = (i * CONTROL + offset) / 4;
      const cmsgLength = control[w]; // cmsg_len
      if (cmsgLength < CMSGHDR) break;
      if (control[w + 2] === SOL_SOCKET) { // cmsg_level, cmsg_type, data
        if (control[w + 3] === SO_TIMESTAMPNS) { // struct timespec { i64 tv_sec, tv_nsec; }
          timestamp = (control[w + 4] >>> 0) + control[w + 5] * 2 ** 32 + control[w + 6] / 1e9;
        } else if (control[w + 3] === SO_RXQ_OVFL) { // __u32 drop count
          this.kernelDropped = Math.max(this.kernelDropped, control[w + 4] >>> 0);
        }
      }
      offset += (cmsgLength + 7) & ~7;
    }
    return decodeCanFrame(this.#batchCopy.subarray(i * CANFD_MTU, i * CANFD_MTU + length), {
      timestamp: timestamp || Date.now() / 1000,
      channel,
      isRx: (flags & MSG_CONFIRM) === 0,
      copy: false,
    });
  }

  /** Whether frame `i` of the last batch is the echo of a frame this socket sent (`MSG_CONFIRM`). */
  confirmed(i: number): boolean {
    return (this.#headerWords[i * MMSGHDR / 4 + 12] & MSG_CONFIRM) !== 0; // msg_flags
  }

  /** The bytes of frame `i` of the last batch, as the kernel gave them (a view). */
  bytes(i: number): Uint8Array {
    const length = this.#headerWords[i * MMSGHDR / 4 + 14]; // msg_len
    return this.#batchCopy.subarray(i * CANFD_MTU, i * CANFD_MTU + length);
  }

  close(): void {
    libc().close(this.fd);
  }
}

/** Reports the absence of the interface while the bus waits for it to return. */
export function goneError(what: string, name: string): CanError {
  return new CanError(
    "ENODEV",
    `${what} "${name}": no such device (the interface was removed; the bus rebinds when it is back)`,
  );
}
