import fc from "fast-check";
import { type BitLayout, bytesNeeded, readBits, writeBits } from "../../../core/dbc/bits.ts";
import { assert, assertEquals } from "../../_helpers/assert.ts";

// A layout that fits a 64-byte payload, and a value for it.
const layoutAndValue = fc.record({
  byteOrder: fc.constantFrom<"little" | "big">("little", "big"),
  startBit: fc.nat({ max: 511 }),
  length: fc.integer({ min: 1, max: 64 }),
}).filter((l) => bytesNeeded(l) <= 64).chain((layout) =>
  fc.tuple(
    fc.constant(layout as BitLayout),
    fc.bigInt({ min: 0n, max: (1n << BigInt(layout.length)) - 1n }),
    fc.uint8Array({ minLength: 64, maxLength: 64 }),
  )
);

Deno.test("readBits gives back what writeBits wrote, and writeBits touches only the signal's bits", () => {
  fc.assert(
    fc.property(layoutAndValue, ([layout, value, payload]) => {
      const data = payload.slice();
      writeBits(data, layout, layout.length > 52 ? value : Number(value));
      const read = readBits(data, layout);
      assertEquals(BigInt(read), value);
      assertEquals(typeof read, layout.length > 52 ? "bigint" : "number");
      const mask = new Uint8Array(64);
      writeBits(mask, layout, (1n << BigInt(layout.length)) - 1n);
      let ones = 0;
      for (let i = 0; i < 64; i++) {
        assertEquals(data[i] & ~mask[i], payload[i] & ~mask[i]);
        for (let b = 0; b < 8; b++) ones += (mask[i] >> b) & 1;
        if (mask[i]) assert(i < bytesNeeded(layout));
      }
      assertEquals(ones, layout.length);
    }),
    { numRuns: 3000 },
  );
});

Deno.test("Motorola signals run from the start bit down and on to the next byte's bit 7", () => {
  // cantools' padding_bit_order.dbc MSG0: A is 6|15@0+, B 7|1@0+.
  const data = Uint8Array.of(0b1_1010101, 0x0f, 0, 0, 0, 0, 0, 0);
  assertEquals(readBits(data, { startBit: 6, length: 15, byteOrder: "big" }), 0b1010101_00001111);
  assertEquals(readBits(data, { startBit: 7, length: 1, byteOrder: "big" }), 1);
  assertEquals(
    readBits(Uint8Array.of(0x12, 0x34), { startBit: 7, length: 16, byteOrder: "big" }),
    0x1234,
  );
  assertEquals(
    readBits(Uint8Array.of(0x12, 0x34), { startBit: 3, length: 8, byteOrder: "big" }),
    0x23,
  );
  assertEquals(
    readBits(Uint8Array.of(0x12, 0x34), { startBit: 4, length: 8, byteOrder: "little" }),
    0x41,
  );
  assertEquals(bytesNeeded({ startBit: 56, length: 5, byteOrder: "big" }), 9);
});
