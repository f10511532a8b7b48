/**
 * Where a DBC signal's bits sit in a payload, and reading and writing them.
 *
 * Intel (`@1`) signals give the least significant bit's position, counting
 * bit 0 as byte 0's least significant bit. Motorola (`@0`) signals give the
 * most significant bit in the same numbering and then run towards byte 0's
 * neighbour: after bit 8n the next bit is 8n+15 (Vector's "sawtooth" order).
 *
 * @module
 */

/** The layout fields of a signal that reading and writing need. */
export interface BitLayout {
  /** DBC start bit. */
  startBit: number;
  /** Length in bits, 1-64. */
  length: number;
  /** Intel `"little"` or Motorola `"big"`. */
  byteOrder: "little" | "big";
}

/**
 * Number of payload bytes the signal needs.
 *
 * @param layout The signal's start bit, length and byte order.
 * @returns The smallest payload length holding every bit of the signal.
 * @example
 * ```ts
 * import { bytesNeeded } from "./bits.ts";
 * if (bytesNeeded({ startBit: 7, length: 16, byteOrder: "big" }) !== 2) throw new Error();
 * ```
 */
export function bytesNeeded(layout: BitLayout): number {
  if (layout.byteOrder === "little") return (layout.startBit + layout.length + 7) >> 3;
  const msb = (layout.startBit >> 3) * 8 + (7 - (layout.startBit & 7));
  return (msb + layout.length + 7) >> 3;
}

/**
 * Reads a signal's bits as an unsigned integer.
 *
 * @param data Payload; must hold {@linkcode bytesNeeded} bytes.
 * @param layout The signal's start bit, length and byte order.
 * @returns The bits as a number, or a bigint when the signal is wider than 52 bits.
 * @example
 * ```ts
 * import { readBits } from "./bits.ts";
 * const data = Uint8Array.of(0x34, 0x12);
 * if (readBits(data, { startBit: 0, length: 16, byteOrder: "little" }) !== 0x1234) throw new Error();
 * if (readBits(data, { startBit: 7, length: 16, byteOrder: "big" }) !== 0x3412) throw new Error();
 * ```
 */
export function readBits(data: Uint8Array, layout: BitLayout): number | bigint {
  if (layout.length > 52) return readBig(data, layout);
  let remaining = layout.length;
  let value = 0;
  if (layout.byteOrder === "little") {
    let bit = layout.startBit;
    let scale = 1;
    while (remaining > 0) {
      const shift = bit & 7;
      const take = Math.min(8 - shift, remaining);
      value += ((data[bit >> 3] >> shift) & ((1 << take) - 1)) * scale;
      scale *= 2 ** take;
      bit += take;
      remaining -= take;
    }
  } else {
    let linear = (layout.startBit >> 3) * 8 + (7 - (layout.startBit & 7));
    while (remaining > 0) {
      const avail = 8 - (linear & 7);
      const take = Math.min(avail, remaining);
      value = value * 2 ** take + ((data[linear >> 3] >> (avail - take)) & ((1 << take) - 1));
      linear += take;
      remaining -= take;
    }
  }
  return value;
}

function readBig(data: Uint8Array, layout: BitLayout): bigint {
  let remaining = layout.length;
  let value = 0n;
  if (layout.byteOrder === "little") {
    let bit = layout.startBit;
    let shiftOut = 0n;
    while (remaining > 0) {
      const shift = bit & 7;
      const take = Math.min(8 - shift, remaining);
      value |= BigInt((data[bit >> 3] >> shift) & ((1 << take) - 1)) << shiftOut;
      shiftOut += BigInt(take);
      bit += take;
      remaining -= take;
    }
  } else {
    let linear = (layout.startBit >> 3) * 8 + (7 - (layout.startBit & 7));
    while (remaining > 0) {
      const avail = 8 - (linear & 7);
      const take = Math.min(avail, remaining);
      value = (value << BigInt(take)) |
        BigInt((data[linear >> 3] >> (avail - take)) & ((1 << take) - 1));
      linear += take;
      remaining -= take;
    }
  }
  return value;
}

/**
 * Writes an unsigned integer into a signal's bits, leaving every other bit as it was.
 *
 * @param data Payload to change; must hold {@linkcode bytesNeeded} bytes.
 * @param layout The signal's start bit, length and byte order.
 * @param value Unsigned value, below 2 ** length (a bigint for wide signals).
 * @example
 * ```ts
 * import { writeBits } from "./bits.ts";
 * const data = new Uint8Array(2);
 * writeBits(data, { startBit: 7, length: 16, byteOrder: "big" }, 0x1234);
 * if (data[0] !== 0x12 || data[1] !== 0x34) throw new Error();
 * ```
 */
export function writeBits(data: Uint8Array, layout: BitLayout, value: number | bigint): void {
  let v = BigInt(value);
  let remaining = layout.length;
  if (layout.byteOrder === "little") {
    let bit = layout.startBit;
    while (remaining > 0) {
      const shift = bit & 7;
      const take = Math.min(8 - shift, remaining);
      const mask = ((1 << take) - 1) << shift;
      const chunk = Number(v & BigInt((1 << take) - 1));
      data[bit >> 3] = (data[bit >> 3] & ~mask) | (chunk << shift);
      v >>= BigInt(take);
      bit += take;
      remaining -= take;
    }
  } else {
    // Write from the least significant end: the last linear bit.
    let linear = (layout.startBit >> 3) * 8 + (7 - (layout.startBit & 7)) + layout.length - 1;
    while (remaining > 0) {
      const fromLsb = 7 - (linear & 7);
      const take = Math.min(8 - fromLsb, remaining);
      const mask = ((1 << take) - 1) << fromLsb;
      const chunk = Number(v & BigInt((1 << take) - 1));
      data[linear >> 3] = (data[linear >> 3] & ~mask) | (chunk << fromLsb);
      v >>= BigInt(take);
      linear -= take;
      remaining -= take;
    }
  }
}
