/**
 * CAN controller settings through libsocketcan (Debian's `libsocketcan2`,
 * `libsocketcan.so.2`), opened on first use: bit rate, start/stop/restart,
 * state and error counters. Changing settings needs `CAP_NET_ADMIN`.
 *
 * libsocketcan 0.0.12 has no call for the CAN FD data bit rate; virtual
 * interfaces (`vcan`, `vxcan`) have no bit timing, state or error counters.
 * Every failure is a {@linkcode CanError} whose message names the interface.
 *
 * @module
 */

import { CanError } from "../core/errors.ts";
import { errnoError, lastErrno, setErrno } from "./errno.ts";
import { cString, libc } from "./libc.ts";

/** The libsocketcan symbol table, with each C signature as a trailing comment. */
export const LIBSOCKETCAN_SYMBOLS = {
  // int can_set_bitrate(const char *name, __u32 bitrate);
  can_set_bitrate: { parameters: ["buffer", "u32"], result: "i32" },
  // int can_get_bittiming(const char *name, struct can_bittiming *bt);
  can_get_bittiming: { parameters: ["buffer", "buffer"], result: "i32" },
  // int can_do_start(const char *name);
  can_do_start: { parameters: ["buffer"], result: "i32" },
  // int can_do_stop(const char *name);
  can_do_stop: { parameters: ["buffer"], result: "i32" },
  // int can_do_restart(const char *name);
  can_do_restart: { parameters: ["buffer"], result: "i32" },
  // int can_get_state(const char *name, int *state);
  can_get_state: { parameters: ["buffer", "buffer"], result: "i32" },
  // int can_get_berr_counter(const char *name, struct can_berr_counter *bc);
  can_get_berr_counter: { parameters: ["buffer", "buffer"], result: "i32" },
} as const;

type Symbols = Deno.DynamicLibrary<typeof LIBSOCKETCAN_SYMBOLS>["symbols"];
let library: Deno.DynamicLibrary<typeof LIBSOCKETCAN_SYMBOLS> | undefined;

function symbols(): Symbols {
  if (!library) {
    try {
      library = Deno.dlopen("libsocketcan.so.2", LIBSOCKETCAN_SYMBOLS);
    } catch (error) {
      if (error instanceof Deno.errors.NotCapable) throw error;
      throw new CanError(
        "ENOENT",
        'Cannot load "libsocketcan.so.2": install Debian\'s libsocketcan2 package',
        { cause: error },
      );
    }
    orientStderr();
  }
  return library.symbols;
}

// libsocketcan reports kernel errors with perror(3). glibc's perror, the first
// time stderr is used and when fd 2 is write-only (a pipe), tries
// fdopen(dup(2), "w+"), which fails and leaves errno at EINVAL. Orienting
// stderr once beforehand makes perror take the plain path and keep errno.
function orientStderr(): void {
  const c = libc();
  const magic = (p: Deno.PointerValue) =>
    p !== null && new Deno.UnsafePointerView(p).getUint32() >>> 16 === 0xfbad; // _IO_MAGIC
  let file: Deno.PointerValue = c.stderr;
  if (!magic(file)) file = file && new Deno.UnsafePointerView(file).getPointer();
  if (magic(file)) c.fwide(file, -1);
}

/** CAN controller states (`enum can_state` of `linux/can/netlink.h`). */
export const CAN_STATES = [
  "ERROR_ACTIVE",
  "ERROR_WARNING",
  "ERROR_PASSIVE",
  "BUS_OFF",
  "STOPPED",
  "SLEEPING",
] as const;

/** One of {@linkcode CAN_STATES}. */
export type CanState = typeof CAN_STATES[number];

/** Bus error counters of a CAN controller. */
export interface BerrCounter {
  /** Transmit error counter. */
  txErrors: number;
  /** Receive error counter. */
  rxErrors: number;
}

// Runs one libsocketcan call. It returns -1 with errno 0 when the interface
// reports no CAN link data (libsocketcan prints "no link data found").
function call(what: string, name: string, run: (cname: Uint8Array) => number): void {
  checkName(name);
  symbols(); // load first: a first dlopen may leave errno set
  // Checked here too, so a missing interface gets this message and not
  // libsocketcan's "Cannot find device" on stderr.
  if (libc().if_nametoindex(cString(name)) === 0) {
    throw errnoError(`${what} "${name}"`, 19, "no interface of that name");
  }
  setErrno(0);
  if (run(cString(name)) === 0) return;
  const errno = lastErrno();
  if (errno === 0) {
    throw new CanError(
      "EOPNOTSUPP",
      `${what} "${name}": the interface reports no CAN controller data (virtual CAN interfaces such as vcan have none)`,
    );
  }
  throw errnoError(`${what} "${name}"`, errno, hintFor(errno));
}

function hintFor(errno: number): string | undefined {
  switch (errno) {
    case 1: // EPERM
      return "changing a CAN interface needs CAP_NET_ADMIN";
    case 19: // ENODEV
      return "no interface of that name";
    case 95: // EOPNOTSUPP
      return "the interface has no bit timing; virtual CAN interfaces such as vcan have no bitrate";
  }
}

function checkName(name: string): void {
  if (typeof name !== "string" || name.length === 0 || name.length > 15 || name.includes("\0")) {
    throw new TypeError(
      `An interface name must be a string of 1-15 characters, got ${JSON.stringify(name)}`,
    );
  }
}

/**
 * Reads the nominal bit rate of a CAN interface.
 *
 * @param name Interface name, such as `"can0"`.
 * @returns The bit rate in bit/s.
 * @throws {CanError} When the interface is missing or has no bit timing (vcan).
 * @example
 * ```ts
 * import { getBitrate } from "./libsocketcan.ts";
 * import { CanError } from "../core/errors.ts";
 * try {
 *   getBitrate("nonexistent0");
 * } catch (error) {
 *   if (!(error instanceof CanError)) throw error;
 * }
 * ```
 */
export function getBitrate(name: string): number {
  // struct can_bittiming { __u32 bitrate, sample_point, tq, prop_seg, phase_seg1,
  //                        phase_seg2, sjw, brp; }
  const timing = new Uint32Array(8);
  call(
    "Cannot get the bitrate of",
    name,
    (c) => symbols().can_get_bittiming(c, new Uint8Array(timing.buffer)),
  );
  return timing[0];
}

/**
 * Sets the nominal bit rate of a CAN interface. The kernel only changes the
 * bit timing of a stopped interface, so an interface that is up is stopped,
 * set and started again; nothing is changed when it already has this rate.
 *
 * @param name Interface name, such as `"can0"`.
 * @param bitrate Bit rate in bit/s.
 * @throws {RangeError} When `bitrate` is not a positive integer below 2^32.
 * @throws {CanError} `Cannot set bitrate on "vcan0": ...` with the errno name as
 *   `code`: `EOPNOTSUPP` for an interface without bit timing (vcan), `EPERM`
 *   without `CAP_NET_ADMIN`, `ENODEV` for a missing interface, `EINVAL` for a
 *   rate the controller cannot make.
 * @example
 * ```ts
 * import { setBitrate } from "./libsocketcan.ts";
 * import { CanError } from "../core/errors.ts";
 * try {
 *   setBitrate("nonexistent0", 500000);
 * } catch (error) {
 *   if (!(error instanceof CanError) || error.code !== "ENODEV") throw error;
 * }
 * ```
 */
export function setBitrate(name: string, bitrate: number): void {
  if (!Number.isInteger(bitrate) || bitrate <= 0 || bitrate > 0xffffffff) {
    throw new RangeError(`bitrate must be a positive integer, got ${bitrate}`);
  }
  const what = "Cannot set bitrate on";
  try {
    call(what, name, (c) => symbols().can_set_bitrate(c, bitrate));
    return;
  } catch (error) {
    if (!(error instanceof CanError) || !["EBUSY", "EPERM"].includes(error.code)) throw error;
    let current: number | undefined;
    try {
      current = getBitrate(name);
    } catch {
      throw error;
    }
    if (current === bitrate) return;
    if (error.code === "EPERM") throw error;
  }
  // EBUSY: the interface is up.
  call(what, name, (c) => symbols().can_do_stop(c));
  try {
    call(what, name, (c) => symbols().can_set_bitrate(c, bitrate));
  } finally {
    call("Cannot start", name, (c) => symbols().can_do_start(c));
  }
}

/**
 * Refuses to set a CAN FD data bit rate, which libsocketcan 0.0.12 cannot do;
 * kept so that callers get one clear message.
 *
 * @param name Interface name.
 * @param dataBitrate Requested data phase bit rate in bit/s.
 * @throws {CanError} Always, with code `EOPNOTSUPP` and the `ip` command to use instead.
 * @example
 * ```ts
 * import { setDataBitrate } from "./libsocketcan.ts";
 * try {
 *   setDataBitrate("can0", 2000000);
 * } catch (error) {
 *   if (!(error as Error).message.includes("dbitrate 2000000")) throw error;
 * }
 * ```
 */
export function setDataBitrate(name: string, dataBitrate: number): never {
  checkName(name);
  throw new CanError(
    "EOPNOTSUPP",
    `Cannot set data bitrate on "${name}": libsocketcan has no call for the CAN FD data phase; ` +
      `use "ip link set ${name} type can bitrate <rate> dbitrate ${dataBitrate} fd on"`,
  );
}

/**
 * Starts (sets up) a CAN interface.
 *
 * @param name Interface name.
 * @throws {CanError} With the errno name as `code`.
 * @example
 * ```ts
 * import { startInterface } from "./libsocketcan.ts";
 * try {
 *   startInterface("nonexistent0");
 * } catch (error) {
 *   if ((error as { code?: string }).code !== "ENODEV") throw error;
 * }
 * ```
 */
export function startInterface(name: string): void {
  call("Cannot start", name, (c) => symbols().can_do_start(c));
}

/**
 * Stops (sets down) a CAN interface.
 *
 * @param name Interface name.
 * @throws {CanError} With the errno name as `code`.
 * @example
 * ```ts
 * import { stopInterface } from "./libsocketcan.ts";
 * try {
 *   stopInterface("nonexistent0");
 * } catch (error) {
 *   if ((error as { code?: string }).code !== "ENODEV") throw error;
 * }
 * ```
 */
export function stopInterface(name: string): void {
  call("Cannot stop", name, (c) => symbols().can_do_stop(c));
}

/**
 * Restarts a CAN controller that is bus-off.
 *
 * @param name Interface name.
 * @throws {CanError} With the errno name as `code` (`EOPNOTSUPP` for vcan).
 * @example
 * ```ts
 * import { restartInterface } from "./libsocketcan.ts";
 * try {
 *   restartInterface("nonexistent0");
 * } catch (error) {
 *   if ((error as { code?: string }).code !== "ENODEV") throw error;
 * }
 * ```
 */
export function restartInterface(name: string): void {
  call("Cannot restart", name, (c) => symbols().can_do_restart(c));
}

/**
 * Reads the state of a CAN controller.
 *
 * @param name Interface name.
 * @returns The state, such as `"ERROR_ACTIVE"`.
 * @throws {CanError} With the errno name as `code` (`EOPNOTSUPP` for vcan).
 * @example
 * ```ts
 * import { getState } from "./libsocketcan.ts";
 * try {
 *   getState("nonexistent0");
 * } catch (error) {
 *   if ((error as { code?: string }).code !== "ENODEV") throw error;
 * }
 * ```
 */
export function getState(name: string): CanState {
  const state = new Int32Array(1);
  call(
    "Cannot get the state of",
    name,
    (c) => symbols().can_get_state(c, new Uint8Array(state.buffer)),
  );
  return CAN_STATES[state[0]] ?? (`UNKNOWN_${state[0]}` as CanState);
}

/**
 * Reads the bus error counters of a CAN controller.
 *
 * @param name Interface name.
 * @returns Transmit and receive error counters.
 * @throws {CanError} With the errno name as `code` (`EOPNOTSUPP` for vcan).
 * @example
 * ```ts
 * import { getBerrCounter } from "./libsocketcan.ts";
 * try {
 *   getBerrCounter("nonexistent0");
 * } catch (error) {
 *   if ((error as { code?: string }).code !== "ENODEV") throw error;
 * }
 * ```
 */
export function getBerrCounter(name: string): BerrCounter {
  const counter = new Uint16Array(2); // struct can_berr_counter { __u16 txerr, rxerr; }
  call(
    "Cannot get the error counters of",
    name,
    (c) => symbols().can_get_berr_counter(c, new Uint8Array(counter.buffer)),
  );
  return { txErrors: counter[0], rxErrors: counter[1] };
}
