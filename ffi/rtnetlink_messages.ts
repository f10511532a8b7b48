/**
 * The rtnetlink messages a CAN link needs, as bytes: `RTM_GETLINK` to read a
 * link's state, bit timing, error counters and statistics, and `RTM_NEWLINK`
 * to configure it (bit rate, data bit rate, FD, listen-only, restart-ms) and
 * bring it up or down. Pure encoding and decoding, no system calls, so it is
 * tested anywhere; `rtnetlink.ts` sends them.
 *
 * Layouts: `linux/netlink.h` (struct nlmsghdr, nlmsgerr), `linux/rtnetlink.h`
 * (struct ifinfomsg, rtattr), `linux/if_link.h` (IFLA_*, rtnl_link_stats64),
 * `linux/can/netlink.h` (IFLA_CAN_*, can_bittiming, can_berr_counter,
 * can_ctrlmode, can_device_stats). All little-endian on the hosts we run on.
 *
 * @module
 */

import { CAN_STATES, type CanState } from "./libsocketcan.ts";

// linux/netlink.h, linux/rtnetlink.h
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const RTM_NEWLINK = 16;
const RTM_GETLINK = 18;
const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;
const NLM_F_CAPPED = 0x100;
const NLM_F_ACK_TLVS = 0x200;
const NLMSGERR_ATTR_MSG = 1;
const NLA_F_NESTED = 0x8000;
// linux/if_link.h
const IFLA_IFNAME = 3;
const IFLA_MTU = 4;
const IFLA_OPERSTATE = 16;
const IFLA_LINKINFO = 18;
const IFLA_STATS64 = 23;
const IFLA_INFO_KIND = 1;
const IFLA_INFO_DATA = 2;
const IFLA_INFO_XSTATS = 3;
// linux/can/netlink.h
const IFLA_CAN_BITTIMING = 1;
const IFLA_CAN_STATE = 4;
const IFLA_CAN_CTRLMODE = 5;
const IFLA_CAN_RESTART_MS = 6;
const IFLA_CAN_BERR_COUNTER = 8;
const IFLA_CAN_DATA_BITTIMING = 9;
/** `CAN_CTRLMODE_LISTENONLY` of `linux/can/netlink.h`. */
export const CAN_CTRLMODE_LISTENONLY = 0x02;
/** `CAN_CTRLMODE_FD` of `linux/can/netlink.h`. */
export const CAN_CTRLMODE_FD = 0x20;
const IFF_UP = 0x1;
const IF_OPER_UP = 6;

/** What `RTM_NEWLINK` should change on a CAN link; what is left out stays. */
export interface CanLinkConfig {
  /** Nominal (arbitration) bit rate, bit/s. */
  bitrate?: number;
  /** CAN FD data-phase bit rate, bit/s (needs `fd: true`). */
  dataBitrate?: number;
  /** CAN FD mode on or off (`CAN_CTRLMODE_FD`). */
  fd?: boolean;
  /** Listen-only mode on or off (`CAN_CTRLMODE_LISTENONLY`). */
  listenOnly?: boolean;
  /** Automatic restart after bus-off, ms; 0 turns it off. */
  restartMs?: number;
  /** Bring the link up (`true`) or down (`false`). */
  up?: boolean;
}

/** Counters of `struct can_device_stats` (the driver's CAN statistics). */
export interface CanDeviceStats {
  /** Bus errors. */
  busError: number;
  /** Changes to error-warning. */
  errorWarning: number;
  /** Changes to error-passive. */
  errorPassive: number;
  /** Changes to bus-off. */
  busOff: number;
  /** Arbitration lost. */
  arbitrationLost: number;
  /** Restarts after bus-off. */
  restarts: number;
}

/** What `RTM_GETLINK` says about a link. */
export interface LinkStatus {
  /** Interface index. */
  index: number;
  /** Interface name. */
  name: string;
  /** Administratively up (`IFF_UP`). */
  up: boolean;
  /** Operationally up (`IFLA_OPERSTATE` is `IF_OPER_UP`, or unknown on an up vcan). */
  operUp: boolean;
  /** MTU: 16 classic CAN, 72 CAN FD. */
  mtu: number;
  /** `IFLA_INFO_KIND`: `"can"` for controllers, `"vcan"`, `"vxcan"`, or `""`. */
  kind: string;
  /** Controller state; `null` when the link has none (vcan). */
  state: CanState | null;
  /** Bit rate, or `null` without bit timing (vcan, or not set yet). */
  bitrate: number | null;
  /** Sample point as a fraction (0.875), or `null`. */
  samplePoint: number | null;
  /** Data-phase bit rate, or `null`. */
  dataBitrate: number | null;
  /** Control mode flags in force (`CAN_CTRLMODE_*`), or `null`. */
  ctrlmode: number | null;
  /** Restart delay after bus-off in ms, or `null`. */
  restartMs: number | null;
  /** Error counters, or `null` when the driver does not report them. */
  berr: { tx: number; rx: number } | null;
  /** The driver's CAN statistics, or `null` (vcan). */
  deviceStats: CanDeviceStats | null;
  /** `rtnl_link_stats64` fields a CAN user cares about, or `null`. */
  stats: {
    rxPackets: number;
    txPackets: number;
    rxErrors: number;
    txErrors: number;
    rxDropped: number;
    txDropped: number;
    rxOverErrors: number;
    rxFifoErrors: number;
  } | null;
}

/** A netlink error answer: `-errno`, and the kernel's extended message if any. */
export interface NetlinkAck {
  /** 0 for success, else a positive errno. */
  errno: number;
  /** `NLMSGERR_ATTR_MSG`, the kernel's explanation, when it gave one. */
  message?: string;
}

class Writer {
  bytes = new Uint8Array(512);
  view = new DataView(this.bytes.buffer);
  length = 0;
  u8(v: number) {
    this.view.setUint8(this.length, v);
    this.length += 1;
  }
  u16(v: number) {
    this.view.setUint16(this.length, v, true);
    this.length += 2;
  }
  u32(v: number) {
    this.view.setUint32(this.length, v >>> 0, true);
    this.length += 4;
  }
  i32(v: number) {
    this.view.setInt32(this.length, v, true);
    this.length += 4;
  }
  align() {
    this.length = (this.length + 3) & ~3;
  }
  // An attribute whose payload `fill` writes; returns after aligning.
  attr(type: number, fill: () => void) {
    const start = this.length;
    this.length += 4;
    fill();
    this.view.setUint16(start, this.length - start, true);
    this.view.setUint16(start + 2, type, true);
    this.align();
  }
  string(text: string) {
    const encoded = new TextEncoder().encode(text);
    this.bytes.set(encoded, this.length);
    this.length += encoded.length;
    this.u8(0);
  }
}

function header(w: Writer, type: number, flags: number, seq: number, index: number) {
  w.u32(0); // nlmsg_len, set at the end
  w.u16(type);
  w.u16(flags);
  w.u32(seq);
  w.u32(0); // nlmsg_pid: the kernel
  // struct ifinfomsg { u8 family, pad; u16 type; i32 index; u32 flags, change; }
  w.u8(0); // AF_UNSPEC
  w.u8(0);
  w.u16(0);
  w.i32(index);
}

function finish(w: Writer): Uint8Array<ArrayBuffer> {
  w.view.setUint32(0, w.length, true);
  return w.bytes.slice(0, w.length);
}

/**
 * Encodes `RTM_GETLINK` for one interface.
 *
 * @param index The interface index (`if_nametoindex`).
 * @param seq The sequence number the answer will carry.
 * @returns The request bytes.
 * @example
 * ```ts
 * import { encodeGetLink } from "./rtnetlink_messages.ts";
 * const bytes = encodeGetLink(4, 1);
 * if (bytes.length !== 32 || bytes[4] !== 18) throw new Error(); // RTM_GETLINK
 * ```
 */
export function encodeGetLink(index: number, seq: number): Uint8Array<ArrayBuffer> {
  const w = new Writer();
  header(w, RTM_GETLINK, NLM_F_REQUEST, seq, index);
  w.u32(0);
  w.u32(0);
  return finish(w);
}

/**
 * Encodes `RTM_NEWLINK` that changes a CAN link: the `can` link info with the
 * asked bit timing, control mode and restart delay, and the up flag.
 *
 * @param index The interface index.
 * @param seq The sequence number the acknowledgement will carry.
 * @param config What to change.
 * @returns The request bytes.
 * @throws {RangeError} For a bit rate or restart delay that is not a positive 32-bit integer.
 * @example
 * ```ts
 * import { encodeSetLink } from "./rtnetlink_messages.ts";
 * const bytes = encodeSetLink(4, 2, { bitrate: 250000, up: true });
 * if (bytes[4] !== 16) throw new Error(); // RTM_NEWLINK
 * ```
 */
export function encodeSetLink(
  index: number,
  seq: number,
  config: CanLinkConfig,
): Uint8Array<ArrayBuffer> {
  for (const key of ["bitrate", "dataBitrate"] as const) {
    const v = config[key];
    if (v !== undefined && !(Number.isInteger(v) && v > 0 && v <= 0xffffffff)) {
      throw new RangeError(`${key} must be a positive integer of bit/s, got ${v}`);
    }
  }
  const restart = config.restartMs;
  if (
    restart !== undefined && !(Number.isInteger(restart) && restart >= 0 && restart <= 0xffffffff)
  ) {
    throw new RangeError(`restartMs must be an integer of milliseconds 0 or more, got ${restart}`);
  }
  const w = new Writer();
  header(w, RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq, index);
  w.u32(config.up === true ? IFF_UP : 0); // ifi_flags
  w.u32(config.up === undefined ? 0 : IFF_UP); // ifi_change
  const timing = config.bitrate !== undefined || config.dataBitrate !== undefined ||
    config.fd !== undefined || config.listenOnly !== undefined || restart !== undefined;
  if (timing) {
    w.attr(IFLA_LINKINFO | NLA_F_NESTED, () => {
      w.attr(IFLA_INFO_KIND, () => w.string("can"));
      w.attr(IFLA_INFO_DATA | NLA_F_NESTED, () => {
        // struct can_bittiming: bitrate first, the rest 0 lets the kernel compute it.
        const bittiming = (type: number, rate: number) =>
          w.attr(type, () => {
            w.u32(rate);
            for (let i = 0; i < 7; i++) w.u32(0);
          });
        let mask = 0, flags = 0;
        if (config.fd !== undefined) {
          mask |= CAN_CTRLMODE_FD;
          if (config.fd) flags |= CAN_CTRLMODE_FD;
        }
        if (config.listenOnly !== undefined) {
          mask |= CAN_CTRLMODE_LISTENONLY;
          if (config.listenOnly) flags |= CAN_CTRLMODE_LISTENONLY;
        }
        // The control mode first: the kernel checks data bit timing against FD mode.
        if (mask) w.attr(IFLA_CAN_CTRLMODE, () => (w.u32(mask), w.u32(flags)));
        if (config.bitrate !== undefined) bittiming(IFLA_CAN_BITTIMING, config.bitrate);
        if (config.dataBitrate !== undefined) {
          bittiming(IFLA_CAN_DATA_BITTIMING, config.dataBitrate);
        }
        if (restart !== undefined) w.attr(IFLA_CAN_RESTART_MS, () => w.u32(restart));
      });
    });
  }
  return finish(w);
}

interface Attr {
  type: number;
  data: DataView;
}

function* attrs(view: DataView, start: number, end: number): Generator<Attr> {
  let at = start;
  while (at + 4 <= end) {
    const len = view.getUint16(at, true);
    if (len < 4 || at + len > end) return;
    const type = view.getUint16(at + 2, true) & ~NLA_F_NESTED & 0x3fff;
    yield { type, data: new DataView(view.buffer, view.byteOffset + at + 4, len - 4) };
    at += (len + 3) & ~3;
  }
}

function table(data: DataView): Map<number, DataView> {
  return new Map([...attrs(data, 0, data.byteLength)].map((a) => [a.type, a.data]));
}

function text(data: DataView): string {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end));
}

function u64(data: DataView, i: number): number {
  return Number(data.getBigUint64(i * 8, true));
}

/**
 * Reads the acknowledgement of a request (`NLMSG_ERROR`), if the bytes hold one.
 *
 * @param bytes What `recv` returned.
 * @param seq The request's sequence number.
 * @returns The acknowledgement, or `undefined` when the bytes hold none for `seq`.
 * @example
 * ```ts
 * import { decodeAck } from "./rtnetlink_messages.ts";
 * const ack = new Uint8Array(36);
 * const view = new DataView(ack.buffer);
 * view.setUint32(0, 36, true); view.setUint16(4, 2, true); view.setUint32(8, 7, true);
 * view.setInt32(16, -1, true); // -EPERM
 * if (decodeAck(ack, 7)?.errno !== 1) throw new Error();
 * ```
 */
export function decodeAck(bytes: Uint8Array, seq: number): NetlinkAck | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 0; at + 16 <= bytes.length;) {
    const len = view.getUint32(at, true);
    if (len < 16 || at + len > bytes.length) break;
    const type = view.getUint16(at + 4, true);
    const flags = view.getUint16(at + 6, true);
    if (type === NLMSG_ERROR && view.getUint32(at + 8, true) === seq && len >= 20) {
      const errno = -view.getInt32(at + 16, true);
      const ack: NetlinkAck = { errno };
      if (flags & NLM_F_ACK_TLVS && len >= 36) {
        // struct nlmsgerr { int error; struct nlmsghdr msg; } then the request (unless capped).
        const inner = view.getUint32(at + 20, true);
        const tlvStart = at + 20 + (flags & NLM_F_CAPPED ? 16 : (inner + 3) & ~3);
        for (const a of attrs(view, tlvStart, at + len)) {
          if (a.type === NLMSGERR_ATTR_MSG) ack.message = text(a.data);
        }
      }
      return ack;
    }
    at += (len + 3) & ~3;
  }
  return undefined;
}

/**
 * Reads the `RTM_NEWLINK` answer to {@linkcode encodeGetLink}.
 *
 * @param bytes What `recv` returned.
 * @returns The link, or the acknowledgement when the kernel answered with an error.
 * @throws {SyntaxError} When the bytes hold neither.
 * @example A link without CAN data (what `lo` answers)
 * ```ts
 * import { decodeLink } from "./rtnetlink_messages.ts";
 * const bytes = new Uint8Array(32);
 * const view = new DataView(bytes.buffer);
 * view.setUint32(0, 32, true); view.setUint16(4, 16, true); view.setInt32(20, 1, true);
 * view.setUint32(24, 1, true); // IFF_UP
 * const link = decodeLink(bytes);
 * if ("errno" in link || !link.up || link.state !== null) throw new Error();
 * ```
 */
export function decodeLink(bytes: Uint8Array): LinkStatus | NetlinkAck {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 0; at + 16 <= bytes.length;) {
    const len = view.getUint32(at, true);
    if (len < 16 || at + len > bytes.length) break;
    const type = view.getUint16(at + 4, true);
    if (type === NLMSG_ERROR) return decodeAck(bytes.subarray(at), view.getUint32(at + 8, true))!;
    if (type === RTM_NEWLINK && len >= 32) return link(view, at, len);
    if (type === NLMSG_DONE) break;
    at += (len + 3) & ~3;
  }
  throw new SyntaxError("No RTM_NEWLINK message in the netlink answer");
}

function link(view: DataView, at: number, len: number): LinkStatus {
  const flags = view.getUint32(at + 24, true);
  const top = table(new DataView(view.buffer, view.byteOffset + at + 32, len - 32));
  const status: LinkStatus = {
    index: view.getInt32(at + 20, true),
    name: top.has(IFLA_IFNAME) ? text(top.get(IFLA_IFNAME)!) : "",
    up: (flags & IFF_UP) !== 0,
    operUp: false,
    mtu: top.get(IFLA_MTU)?.getUint32(0, true) ?? 0,
    kind: "",
    state: null,
    bitrate: null,
    samplePoint: null,
    dataBitrate: null,
    ctrlmode: null,
    restartMs: null,
    berr: null,
    deviceStats: null,
    stats: null,
  };
  const oper = top.get(IFLA_OPERSTATE)?.getUint8(0);
  // vcan reports IF_OPER_UNKNOWN (0) while up: it has no carrier to speak of.
  status.operUp = status.up && (oper === IF_OPER_UP || oper === 0 || oper === undefined);
  const s = top.get(IFLA_STATS64);
  if (s && s.byteLength >= 16 * 8) {
    status.stats = {
      rxPackets: u64(s, 0),
      txPackets: u64(s, 1),
      rxErrors: u64(s, 4),
      txErrors: u64(s, 5),
      rxDropped: u64(s, 6),
      txDropped: u64(s, 7),
      rxOverErrors: u64(s, 11),
      rxFifoErrors: u64(s, 14),
    };
  }
  const info = top.get(IFLA_LINKINFO);
  if (!info) return status;
  const linkinfo = table(info);
  if (linkinfo.has(IFLA_INFO_KIND)) status.kind = text(linkinfo.get(IFLA_INFO_KIND)!);
  const x = linkinfo.get(IFLA_INFO_XSTATS);
  if (status.kind === "can" && x && x.byteLength >= 24) {
    const u = (i: number) => x.getUint32(i * 4, true);
    status.deviceStats = {
      busError: u(0),
      errorWarning: u(1),
      errorPassive: u(2),
      busOff: u(3),
      arbitrationLost: u(4),
      restarts: u(5),
    };
  }
  const dataAttr = linkinfo.get(IFLA_INFO_DATA);
  if (status.kind !== "can" || !dataAttr) return status;
  const data = table(dataAttr);
  const state = data.get(IFLA_CAN_STATE)?.getUint32(0, true);
  if (state !== undefined) status.state = CAN_STATES[state] ?? null;
  const timing = data.get(IFLA_CAN_BITTIMING);
  if (timing && timing.byteLength >= 8 && timing.getUint32(0, true) > 0) {
    status.bitrate = timing.getUint32(0, true);
    status.samplePoint = timing.getUint32(4, true) / 1000;
  }
  const dtiming = data.get(IFLA_CAN_DATA_BITTIMING);
  if (dtiming && dtiming.byteLength >= 4 && dtiming.getUint32(0, true) > 0) {
    status.dataBitrate = dtiming.getUint32(0, true);
  }
  const mode = data.get(IFLA_CAN_CTRLMODE);
  if (mode && mode.byteLength >= 8) status.ctrlmode = mode.getUint32(4, true);
  const restart = data.get(IFLA_CAN_RESTART_MS);
  if (restart) status.restartMs = restart.getUint32(0, true);
  const berr = data.get(IFLA_CAN_BERR_COUNTER);
  if (berr && berr.byteLength >= 4) {
    status.berr = { tx: berr.getUint16(0, true), rx: berr.getUint16(2, true) };
  }
  return status;
}

/** The states of {@linkcode CAN_STATES}, for readers of this module. */
export type { CanState };
