/**
 * The CAN network interfaces of this machine, read from `/sys/class/net`
 * (needs `--allow-read=/sys`).
 *
 * @module
 */

import { CanError } from "../core/errors.ts";
import { CANFD_MTU } from "./structs.ts";

/** `ARPHRD_CAN` of `linux/if_arp.h`: the link type of every CAN interface. */
export const ARPHRD_CAN = 280;

const IFF_UP = 0x1;
const SYS_NET = "/sys/class/net";

/** What {@linkcode interfaceInfo} reports about a CAN interface. */
export interface CanInterfaceInfo {
  /** Interface name, such as `"vcan0"`. */
  name: string;
  /** Kernel interface index. */
  index: number;
  /** MTU: 16 for classic CAN, 72 for CAN FD (`CANFD_MTU`). */
  mtu: number;
  /** Administratively up (`IFF_UP`). */
  up: boolean;
  /**
   * Up and able to carry frames: its operational state is `up`, or `unknown`
   * as for vcan (a controller that is bus-off reads `down`).
   */
  running: boolean;
  /** Whether the interface carries CAN FD frames (its MTU is 72). */
  fd: boolean;
  /** A software interface (`vcan`, `vxcan`, ...) rather than a controller. */
  virtual: boolean;
}

function readSys(name: string, file: string): string {
  return Deno.readTextFileSync(`${SYS_NET}/${name}/${file}`).trim();
}

function isCan(name: string): boolean {
  try {
    return Number(readSys(name, "type")) === ARPHRD_CAN;
  } catch {
    return false; // gone in between, or not a directory
  }
}

/**
 * Lists the CAN interfaces (link type `ARPHRD_CAN`), up or down.
 *
 * @returns Their names, sorted; empty on a kernel without CAN.
 * @example
 * ```ts
 * import { listCanInterfaces } from "./can_interfaces.ts";
 * for (const name of listCanInterfaces()) console.log(name); // vcan0, can0, ...
 * ```
 */
export function listCanInterfaces(): string[] {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(SYS_NET)];
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  return entries.map((entry) => entry.name).filter(isCan).sort();
}

/**
 * Describes one CAN interface.
 *
 * @param name Interface name, such as `"vcan0"`.
 * @returns Index, MTU, up/running flags and whether it takes CAN FD frames.
 * @throws {TypeError} When `name` is not a plausible interface name.
 * @throws {CanError} Code `ENODEV` when there is no such interface or it is not a CAN interface.
 * @example
 * ```ts
 * import { interfaceInfo, listCanInterfaces } from "./can_interfaces.ts";
 * for (const name of listCanInterfaces()) {
 *   const info = interfaceInfo(name);
 *   console.log(`${name}: mtu ${info.mtu}, ${info.up ? "up" : "down"}, fd ${info.fd}`);
 * }
 * ```
 */
export function interfaceInfo(name: string): CanInterfaceInfo {
  if (typeof name !== "string" || !/^[^/\0\s]{1,15}$/.test(name) || name === "." || name === "..") {
    throw new TypeError(
      `An interface name must be 1-15 characters without "/", got ${JSON.stringify(name)}`,
    );
  }
  let type: number, index: number, mtu: number, flags: number, operstate: string, path: string;
  try {
    type = Number(readSys(name, "type"));
    index = Number(readSys(name, "ifindex"));
    mtu = Number(readSys(name, "mtu"));
    flags = Number(readSys(name, "flags"));
    operstate = readSys(name, "operstate");
    path = Deno.realPathSync(`${SYS_NET}/${name}`);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new CanError("ENODEV", `No network interface "${name}"`, { cause: error });
    }
    throw error;
  }
  if (type !== ARPHRD_CAN) {
    throw new CanError("ENODEV", `"${name}" is not a CAN interface (link type ${type})`);
  }
  return {
    name,
    index,
    mtu,
    up: (flags & IFF_UP) !== 0,
    running: (flags & IFF_UP) !== 0 && (operstate === "up" || operstate === "unknown"),
    fd: mtu === CANFD_MTU,
    virtual: path.startsWith("/sys/devices/virtual/"),
  };
}
