/**
 * Bus load estimate: how long each frame occupies the wire at a given bit rate.
 *
 * Frame lengths count every field from start of frame to the end of the
 * 3-bit intermission, with the worst case of stuff bits, as can-utils'
 * `canbusload` does by default (its `canframelen.c`, `CFL_WORSTCASE`). Classic
 * frames are 8n + 47 bits (standard) or 8n + 67 (extended) plus one stuff bit
 * per 4 bits of the stuffed part (ISO 11898-1; 34 + 8n and 54 + 8n bits). A
 * CAN FD frame's arbitration phase and trailer run at the nominal rate and,
 * with BRS, its data phase at the data rate. An error frame counts 6 flag
 * bits, 8 delimiter bits and the intermission.
 *
 * @module
 */

import type { CanFrame } from "../core/frame.ts";

/** Bits of a frame on the wire, split by the bit rate they are sent at. */
export interface FrameBits {
  /** Bits sent at the nominal (arbitration) bit rate. */
  nominal: number;
  /** Bits of the CAN FD data phase (sent at the data bit rate when `bitrateSwitch` is set). */
  data: number;
}

/**
 * Counts the bits a frame occupies on the bus, worst-case stuffing included.
 *
 * @param frame The frame.
 * @returns Bits at the nominal rate and bits of the FD data phase.
 * @example
 * ```ts
 * import { frameBits } from "./bus_load.ts";
 * import { createFrame } from "../core/frame.ts";
 * // 8 data bytes, 11-bit id: 111 bits + 24 stuff bits
 * const bits = frameBits(createFrame({ isExtendedId: false, data: new Uint8Array(8) }));
 * if (bits.nominal !== 135 || bits.data !== 0) throw new Error(JSON.stringify(bits));
 * ```
 */
export function frameBits(frame: CanFrame): FrameBits {
  if (frame.isErrorFrame) return { nominal: 6 + 8 + 3, data: 0 };
  const n = frame.isRemoteFrame ? 0 : frame.data.length;
  if (!frame.isFd) {
    const stuffed = (frame.isExtendedId ? 54 : 34) + 8 * n;
    const bits = (frame.isExtendedId ? 67 : 47) + 8 * n + Math.floor((stuffed - 1) / 4);
    return { nominal: bits, data: 0 };
  }
  // SOF, id, (SRR, IDE, id ext,) RRS, IDE/FDF, res, BRS: the arbitration phase.
  const arbitration = frame.isExtendedId ? 36 : 17;
  const crc = n > 16 ? 21 : 17;
  // ESI, DLC, data, then the stuff count (4) and CRC, which carry a fixed
  // stuff bit before them and after every 4 bits.
  const dynamic = 1 + 4 + 8 * n;
  const fixedStuff = 1 + Math.ceil((4 + crc) / 4);
  const dynamicStuff = Math.floor((arbitration + dynamic - 1) / 4);
  const arbitrationStuff = Math.floor(dynamicStuff * arbitration / (arbitration + dynamic));
  // CRC delimiter, ACK slot and delimiter, end of frame (7) and intermission (3).
  const trailer = 1 + 2 + 7 + 3;
  return {
    nominal: arbitration + arbitrationStuff + trailer,
    data: dynamic + 4 + crc + fixedStuff + (dynamicStuff - arbitrationStuff),
  };
}

/**
 * Seconds a frame occupies the bus.
 *
 * @param frame The frame.
 * @param bitrate Nominal bit rate in bit/s.
 * @param dataBitrate CAN FD data phase bit rate, used for frames with `bitrateSwitch`.
 * @default {bitrate} for `dataBitrate`
 * @returns Seconds on the wire.
 * @throws {RangeError} When a bit rate is not a positive number.
 * @example
 * ```ts
 * import { frameDuration } from "./bus_load.ts";
 * import { createFrame } from "../core/frame.ts";
 * const seconds = frameDuration(createFrame({ isExtendedId: false, data: new Uint8Array(8) }), 500_000);
 * if (Math.abs(seconds - 270e-6) > 1e-9) throw new Error(String(seconds));
 * ```
 */
export function frameDuration(frame: CanFrame, bitrate: number, dataBitrate = bitrate): number {
  if (!(bitrate > 0) || !(dataBitrate > 0)) {
    throw new RangeError(`Bit rates must be positive numbers, got ${bitrate} and ${dataBitrate}`);
  }
  const bits = frameBits(frame);
  return bits.nominal / bitrate + bits.data / (frame.bitrateSwitch ? dataBitrate : bitrate);
}
