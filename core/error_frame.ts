/**
 * Error frames in words: every class of `linux/can/error.h`, written as
 * can-utils' `candump -e` writes them (`lib.c` of can-utils 2020.11, checked
 * against its output for each class in tests/core/error_frame_test.ts).
 *
 * @module
 */

import type { CanFrame } from "./frame.ts";

// linux/can/error.h: the error classes, in bit order.
const CAN_ERR_LOSTARB = 0x2;
const CAN_ERR_CRTL = 0x4;
const CAN_ERR_PROT = 0x8;
const CAN_ERR_CNT = 0x200;
const CLASSES = [
  "tx-timeout", // CAN_ERR_TX_TIMEOUT
  "lost-arbitration", // CAN_ERR_LOSTARB, data[0]
  "controller-problem", // CAN_ERR_CRTL, data[1]
  "protocol-violation", // CAN_ERR_PROT, data[2..3]
  "transceiver-status", // CAN_ERR_TRX, data[4]
  "no-acknowledgement-on-tx", // CAN_ERR_ACK
  "bus-off", // CAN_ERR_BUSOFF
  "bus-error", // CAN_ERR_BUSERROR
  "restarted-after-bus-off", // CAN_ERR_RESTARTED
];
// CAN_ERR_CRTL_* bits of data[1], low bit first.
const CONTROLLER = [
  "rx-overflow",
  "tx-overflow",
  "rx-error-warning",
  "tx-error-warning",
  "rx-error-passive",
  "tx-error-passive",
  "back-to-error-active",
];
// CAN_ERR_PROT_* bits of data[2], low bit first.
const PROTOCOL_TYPES = [
  "single-bit-error",
  "frame-format-error",
  "bit-stuffing-error",
  "tx-dominant-bit-error",
  "tx-recessive-bit-error",
  "bus-overload",
  "active-error",
  "error-on-tx",
];
// CAN_ERR_PROT_LOC_* values of data[3].
const PROTOCOL_LOCATIONS: Record<number, string> = {
  0x03: "start-of-frame",
  0x02: "id.28-to-id.21",
  0x06: "id.20-to-id.18",
  0x04: "bit-srtr",
  0x05: "bit-ide",
  0x07: "id.17-to-id.13",
  0x0f: "id.12-to-id.5",
  0x0e: "id.4-to-id.0",
  0x0c: "bit-rtr",
  0x0d: "reserved-bit-1",
  0x09: "reserved-bit-0",
  0x0b: "data-length-code",
  0x0a: "data-field",
  0x08: "crc-sequence",
  0x18: "crc-delimiter",
  0x19: "acknowledge-slot",
  0x1b: "acknowledge-delimiter",
  0x1a: "end-of-frame",
  0x12: "intermission",
};

function bits(value: number, names: readonly string[]): string {
  return names.filter((_, i) => value & (1 << i)).join(",");
}

/**
 * Describes an error frame in `candump -e`'s words, one entry per error
 * class it carries (the lines candump prints under `ERRORFRAME`), plus the
 * error counters when the frame has them.
 *
 * @param frame An error frame (`isErrorFrame`); its arbitration id holds the
 *   error classes, its data the details.
 * @returns The descriptions, such as `["controller-problem{rx-error-warning}"]`;
 *   empty for a frame that is not an error frame.
 * @example
 * ```ts
 * import { describeErrorFrame } from "./error_frame.ts";
 * import { createFrame } from "./frame.ts";
 * // cansend vcan0 20000004#0004000000000000 (CAN_ERR_CRTL, CAN_ERR_CRTL_RX_WARNING)
 * const frame = createFrame({
 *   arbitrationId: 0x4,
 *   isExtendedId: false,
 *   isErrorFrame: true,
 *   data: [0, 4, 0, 0, 0, 0, 0, 0],
 * });
 * if (describeErrorFrame(frame).join() !== "controller-problem{rx-error-warning}") throw new Error();
 * ```
 */
export function describeErrorFrame(frame: CanFrame): string[] {
  if (!frame.isErrorFrame) return [];
  const cls = frame.arbitrationId & 0x1fffffff;
  const d = (i: number) => frame.data[i] ?? 0;
  const lines: string[] = [];
  CLASSES.forEach((name, i) => {
    const mask = 1 << i;
    if (!(cls & mask)) return;
    if (mask === CAN_ERR_LOSTARB) lines.push(`${name}{at bit ${d(0)}}`);
    else if (mask === CAN_ERR_CRTL) lines.push(`${name}{${bits(d(1), CONTROLLER)}}`);
    else if (mask === CAN_ERR_PROT) {
      const location = PROTOCOL_LOCATIONS[d(3)] ?? "";
      lines.push(`${name}{{${bits(d(2), PROTOCOL_TYPES)}}{${location}}}`);
    } else lines.push(name);
  });
  // candump prints the counters of any error frame that has them, with or
  // without CAN_ERR_CNT: drivers fill data[6..7] on controller problems.
  if (cls & CAN_ERR_CNT || d(6) || d(7)) lines.push(`error-counter-tx-rx{{${d(6)}}{${d(7)}}}`);
  for (let bit = 10; bit < 29; bit++) {
    if (cls & (1 << bit)) lines.push(`unknown-error-class-0x${(1 << bit).toString(16)}`);
  }
  return lines;
}
