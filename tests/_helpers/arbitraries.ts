// fast-check arbitraries shared by the property tests.
import fc from "fast-check";
import { CANFD_LENGTHS, type CanFrame, createFrame } from "../../core/frame.ts";

/** Any frame that validateFrame() accepts, with dlc as a byte count. */
export const validFrame: fc.Arbitrary<CanFrame> = fc.oneof(
  // classic data frame
  fc.record({
    ext: fc.boolean(),
    id: fc.nat({ max: 0x1fffffff }),
    data: fc.uint8Array({ maxLength: 8 }),
    error: fc.boolean(),
    timestamp: fc.double({ min: 0, max: 4e9, noNaN: true }),
  }).map(({ ext, id, data, error, timestamp }) =>
    createFrame({
      arbitrationId: ext ? id : id & 0x7ff,
      isExtendedId: ext,
      data,
      isErrorFrame: error,
      timestamp,
    })
  ),
  // remote frame
  fc.record({
    ext: fc.boolean(),
    id: fc.nat({ max: 0x1fffffff }),
    dlc: fc.integer({ min: 0, max: 8 }),
    timestamp: fc.double({ min: 0, max: 4e9, noNaN: true }),
  }).map(({ ext, id, dlc, timestamp }) =>
    createFrame({
      arbitrationId: ext ? id : id & 0x7ff,
      isExtendedId: ext,
      isRemoteFrame: true,
      dlc,
      timestamp,
    })
  ),
  // CAN FD frame
  fc.record({
    ext: fc.boolean(),
    id: fc.nat({ max: 0x1fffffff }),
    length: fc.constantFrom(...CANFD_LENGTHS),
    brs: fc.boolean(),
    esi: fc.boolean(),
    seed: fc.uint8Array({ minLength: 64, maxLength: 64 }),
    timestamp: fc.double({ min: 0, max: 4e9, noNaN: true }),
  }).map(({ ext, id, length, brs, esi, seed, timestamp }) =>
    createFrame({
      arbitrationId: ext ? id : id & 0x7ff,
      isExtendedId: ext,
      isFd: true,
      bitrateSwitch: brs,
      errorStateIndicator: esi,
      data: seed.slice(0, length),
      timestamp,
    })
  ),
);
