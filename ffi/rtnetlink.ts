/**
 * Reads and configures CAN links over rtnetlink (`NETLINK_ROUTE`), through
 * Deno FFI: what `ip -details -statistics link show can0` and
 * `ip link set can0 up type can bitrate 500000` do, including what
 * libsocketcan cannot (the CAN FD data bit rate and FD mode). Each call
 * opens a netlink socket, sends one request and reads its answer: the kernel
 * answers while the request is being sent, so nothing here waits.
 *
 * @module
 */

import { CanError } from "../core/errors.ts";
import { errnoError, lastErrno } from "./errno.ts";
import { cString, libc } from "./libc.ts";
import {
  type CanLinkConfig,
  decodeAck,
  decodeLink,
  encodeGetLink,
  encodeSetLink,
  type LinkStatus,
} from "./rtnetlink_messages.ts";

export type { CanLinkConfig, LinkStatus } from "./rtnetlink_messages.ts";

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const NETLINK_ROUTE = 0;
const SOL_NETLINK = 270;
const NETLINK_EXT_ACK = 11;
const MSG_DONTWAIT = 0x40;
const EAGAIN = 11;
const EPERM = 1;
const EBUSY = 16;
const EDOM = 33;
const EOPNOTSUPP = 95;

let seq = 0;

function indexOf(name: string, what: string): number {
  if (typeof name !== "string" || !/^[^/\0\s]{1,15}$/.test(name)) {
    throw new TypeError(
      `An interface name must be 1-15 characters without "/", got ${JSON.stringify(name)}`,
    );
  }
  const index = libc().if_nametoindex(cString(name));
  if (index === 0) throw errnoError(`${what} "${name}"`, 19, "no interface of that name");
  return index;
}

// Sends one request and returns the answer's bytes.
function exchange(request: Uint8Array<ArrayBuffer>, what: string): Uint8Array<ArrayBuffer> {
  const c = libc();
  const fd = c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) throw errnoError(`${what}: cannot open a netlink socket`);
  try {
    // The kernel's own words for a refused value ("bitrate error", ...).
    c.setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, new Uint8Array(new Int32Array([1]).buffer), 4);
    if (Number(c.write(fd, request, BigInt(request.length))) !== request.length) {
      throw errnoError(`${what}: cannot send the netlink request`);
    }
    const buffer = new Uint8Array(32768);
    // The answer is queued before write() returns; the loop only covers a
    // spurious EAGAIN and is bounded.
    for (let tries = 0; tries < 1000; tries++) {
      const n = Number(c.recv(fd, buffer, BigInt(buffer.length), MSG_DONTWAIT));
      if (n > 0) return buffer.slice(0, n);
      const errno = lastErrno();
      if (n < 0 && errno !== EAGAIN) throw errnoError(`${what}: no netlink answer`, errno);
    }
    throw new CanError("ETIMEDOUT", `${what}: the kernel did not answer the netlink request`);
  } finally {
    c.close(fd);
  }
}

/**
 * Reads a link's state, bit timing, error counters and statistics.
 *
 * @param name The interface, such as `"can0"`.
 * @returns What the kernel reports; CAN fields are `null` on links without them (vcan).
 * @throws {TypeError} For a malformed interface name.
 * @throws {CanError} `ENODEV` when there is no such interface.
 * @example
 * ```ts
 * import { getLink } from "./rtnetlink.ts";
 * const lo = getLink("lo"); // every Linux machine has it
 * if (!lo.up || lo.state !== null || lo.bitrate !== null) throw new Error();
 * ```
 */
export function getLink(name: string): LinkStatus {
  const what = `Cannot read the link "${name}"`;
  const index = indexOf(name, "Cannot read the link");
  const answer = decodeLink(exchange(encodeGetLink(index, ++seq), what));
  if ("errno" in answer) throw errnoError(what, answer.errno, answer.message);
  return answer;
}

/**
 * Configures a CAN link as `ip link set NAME type can ...` does, and brings
 * it up or down. The bit timing of a link can only change while it is down,
 * so a link that is up is taken down first and brought up again.
 *
 * @param name The interface, such as `"can0"`.
 * @param config What to change.
 * @throws {TypeError} For a malformed interface name.
 * @throws {RangeError} For a bad bit rate or restart delay.
 * @throws {CanError} `EPERM` without `CAP_NET_ADMIN`; `EOPNOTSUPP` on a link
 *   without bit timing (vcan); `EINVAL` with the kernel's words for a value the
 *   controller cannot do.
 * @example Without CAP_NET_ADMIN, or on a link that is not CAN, it refuses
 * ```ts
 * import { setLink } from "./rtnetlink.ts";
 * import { CanError } from "../core/errors.ts";
 * try {
 *   setLink("lo", { bitrate: 500000 });
 *   throw new Error("unreachable");
 * } catch (error) {
 *   if (!(error instanceof CanError)) throw error;
 * }
 * ```
 */
export function setLink(name: string, config: CanLinkConfig): void {
  const what = `Cannot configure "${name}"`;
  const index = indexOf(name, "Cannot configure");
  const timing = Object.keys(config).some((k) => k !== "up");
  const send = (c: CanLinkConfig) => {
    const s = ++seq;
    const ack = decodeAck(exchange(encodeSetLink(index, s, c), what), s);
    if (ack === undefined) throw new CanError("EPROTO", `${what}: no netlink acknowledgement`);
    if (ack.errno !== 0) throw errnoError(what, ack.errno, hint(name, ack, config));
  };
  const { up, ...rest } = config;
  if (!timing) return send({ up });
  try {
    send(rest);
  } catch (error) {
    if (!(error instanceof CanError) || error.code !== "EBUSY") throw error;
    send({ up: false }); // EBUSY: bit timing cannot change while the link is up
    send(rest);
    if (up === undefined) return send({ up: true });
  }
  if (up !== undefined) send({ up });
}

function hint(name: string, ack: { errno: number; message?: string }, config: CanLinkConfig) {
  const words = ack.message ? [ack.message] : [];
  if (ack.errno === EPERM) {
    words.push(
      "changing a CAN link needs CAP_NET_ADMIN: run the server as root, or " +
        "`sudo setcap cap_net_admin+ep $(which deno)`, or set the link up beforehand with " +
        `\`sudo ip link set ${name} up type can bitrate ${config.bitrate ?? 500000}\``,
    );
  }
  if (ack.errno === EBUSY) words.push("the link is up");
  if (ack.errno === EDOM) {
    words.push("the controller cannot run at that bit rate (or data bit rate)");
  }
  if (ack.errno === EOPNOTSUPP) {
    words.push(
      config.fd || config.dataBitrate
        ? "not a CAN controller, or one without CAN FD"
        : "not a CAN controller (vcan has no bit timing)",
    );
  }
  return words.join("; ") || undefined;
}
