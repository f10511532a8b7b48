import fc from "fast-check";
import { assert, assertEquals, assertThrows } from "../_helpers/assert.ts";
import { validFrame } from "../_helpers/arbitraries.ts";
import {
  BINARY_HEADER_LENGTH,
  BinaryFlag,
  checkEncodable,
  decodeBinary,
  encodeBinary,
  MAX_DATA_LENGTH,
} from "../../core/codec_binary.ts";
import { UnknownEventTypeError } from "../../core/events.ts";
import { type CanFrame, createFrame, framesEqual } from "../../core/frame.ts";

const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const unhex = (text: string) => Uint8Array.from(text.match(/../g) ?? [], (h) => parseInt(h, 16));

/** What any successful decode must satisfy, however odd the input. */
function assertSane(frame: CanFrame): void {
  assert(Number.isFinite(frame.timestamp), `timestamp ${frame.timestamp}`);
  assert(frame.arbitrationId >>> 0 === frame.arbitrationId, `id ${frame.arbitrationId}`);
  assert((frame.dlc & 0xff) === frame.dlc, `dlc ${frame.dlc}`);
  assert(frame.data instanceof Uint8Array && frame.data.length <= MAX_DATA_LENGTH);
  for (
    const key of [
      "isExtendedId",
      "isRemoteFrame",
      "isErrorFrame",
      "isFd",
      "bitrateSwitch",
      "errorStateIndicator",
    ] as const
  ) assert(typeof frame[key] === "boolean", key);
  if (frame.isRemoteFrame) assertEquals(frame.data.length, 0);
}

Deno.test("encodeBinary: writes the documented layout, big-endian", () => {
  const bytes = encodeBinary(createFrame({
    timestamp: 1700000000.25,
    arbitrationId: 0x18daf110,
    isFd: true,
    bitrateSwitch: true,
    errorStateIndicator: true,
    data: [0xde, 0xad],
  }));
  assertEquals(hex(bytes), "01" + "41d954fc40100000" + "18daf110" + "02" + "39" + "dead");
});

Deno.test("encodeBinary: each flag has its own bit", () => {
  const cases: [Partial<CanFrame>, number][] = [
    [{ isExtendedId: false }, 0],
    [{ isExtendedId: true }, BinaryFlag.EXTENDED_ID],
    [{ isExtendedId: false, isRemoteFrame: true }, BinaryFlag.REMOTE_FRAME],
    [{ isExtendedId: false, isErrorFrame: true }, BinaryFlag.ERROR_FRAME],
    [{ isExtendedId: false, isFd: true }, BinaryFlag.FD],
    [{ isExtendedId: false, bitrateSwitch: true }, BinaryFlag.BITRATE_SWITCH],
    [{ isExtendedId: false, errorStateIndicator: true }, BinaryFlag.ERROR_STATE_INDICATOR],
  ];
  for (const [init, flags] of cases) assertEquals(encodeBinary(createFrame(init))[14], flags);
  assertEquals(Object.values(BinaryFlag).reduce((a: number, b) => a | b, 0), 0x3f);
});

Deno.test("encodeBinary: refuses what a receiver could not decode", () => {
  for (const arbitrationId of [-1, 2 ** 32, 1.5, NaN]) {
    assertThrows(() => encodeBinary(createFrame({ arbitrationId })), RangeError, "arbitrationId");
  }
  for (const dlc of [-1, 256, 2.5]) {
    assertThrows(() => encodeBinary(createFrame({ dlc })), RangeError, `got ${dlc}`);
  }
  for (const timestamp of [NaN, Infinity, -Infinity]) {
    assertThrows(() => encodeBinary(createFrame({ timestamp })), RangeError, "timestamp");
  }
  assertThrows(
    () => encodeBinary(createFrame({ data: new Uint8Array(65) })),
    RangeError,
    "at most 64 bytes, got 65",
  );
  const notBytes = { ...createFrame(), data: [1, 2] as unknown as Uint8Array };
  assertThrows(() => encodeBinary(notBytes), TypeError, "Uint8Array");
  // The wire limits only: CAN rule violations still encode.
  checkEncodable(createFrame({ arbitrationId: 0xffffffff, dlc: 255, data: new Uint8Array(64) }));
});

Deno.test("encodeBinary: results stay valid after later encodings", () => {
  const first = encodeBinary(createFrame({ arbitrationId: 1, data: [1, 2, 3] }));
  const snapshot = hex(first);
  for (let i = 0; i < 1000; i++) {
    encodeBinary(createFrame({ arbitrationId: i, data: [9, 9, 9, 9] }));
  }
  assertEquals(hex(first), snapshot);
});

Deno.test("encodeBinary: keeps working after a result's buffer was transferred", () => {
  const bytes = encodeBinary(createFrame({ data: [1] }));
  structuredClone(bytes.buffer, { transfer: [bytes.buffer] }); // detaches the shared slab
  const next = encodeBinary(createFrame({ arbitrationId: 5, data: [2] }));
  assertEquals(decodeBinary(next).arbitrationId, 5);
});

Deno.test("decodeBinary: reads every field", () => {
  const frame = decodeBinary(unhex("0141d954fc4010000018daf1100239dead"));
  assertEquals(frame, {
    timestamp: 1700000000.25,
    arbitrationId: 0x18daf110,
    isExtendedId: true,
    isRemoteFrame: false,
    isErrorFrame: false,
    isFd: true,
    bitrateSwitch: true,
    errorStateIndicator: true,
    dlc: 2,
    data: new Uint8Array([0xde, 0xad]),
  });
});

Deno.test("decodeBinary: is structural like python-can-remote", () => {
  // bad_input.json binary_dlc_greater_than_data: dlc 8 with 2 bytes is forwarded as is.
  const frame = decodeBinary(unhex("0100000000000000000000011208000102"));
  assertEquals([frame.dlc, frame.data.length, frame.arbitrationId], [8, 2, 0x112]);
  // A remote frame's data bytes are dropped, as python-can's Message does.
  const remote = decodeBinary(unhex("01000000000000000000000123080201020304"));
  assertEquals([remote.isRemoteFrame, remote.dlc, remote.data.length], [true, 8, 0]);
  // Flag bits 6 and 7 are ignored.
  assertEquals(decodeBinary(unhex("010000000000000000000001230000c0")).isExtendedId, false);
  // The largest values fit.
  const max = decodeBinary(unhex("01" + "0000000000000000" + "ffffffff" + "ff" + "3f"));
  assertEquals([max.arbitrationId, max.dlc], [0xffffffff, 255]);
});

Deno.test("decodeBinary: refuses what is not a message", () => {
  assertThrows(() => decodeBinary(new Uint8Array(0)), RangeError, "empty");
  const unknown = assertThrows(
    () => decodeBinary(unhex("02000000000000000000000111010001")),
    UnknownEventTypeError,
    "Unknown binary message type 2",
  );
  assert(unknown instanceof RangeError);
  assertEquals((unknown as UnknownEventTypeError).eventType, 2);
  assertThrows(
    () => decodeBinary(new Uint8Array([7])),
    RangeError,
    "Unknown binary message type 7",
  );
  assertThrows(
    () => decodeBinary(unhex("01000000000000000000")),
    RangeError,
    "at least 15 bytes, got 10",
  );
  const long = new Uint8Array(BINARY_HEADER_LENGTH + 65);
  long[0] = 1;
  assertThrows(() => decodeBinary(long), RangeError, "at most 64 data bytes, got 65");
  for (const bits of ["7ff8000000000000", "7ff0000000000000", "fff0000000000000"]) {
    assertThrows(() => decodeBinary(unhex(`01${bits}000000000000`)), RangeError, "timestamp");
  }
  assertThrows(() => decodeBinary([1] as unknown as Uint8Array), TypeError, "Array");
  assertThrows(() => decodeBinary(new ArrayBuffer(15) as unknown as Uint8Array), TypeError);
});

Deno.test("decodeBinary: copies the data, so the input may be reused", () => {
  const input = unhex("010000000000000000000000010200aabb");
  const frame = decodeBinary(input.subarray(0));
  input.fill(0);
  assertEquals(hex(frame.data), "aabb");
  // A view into a larger buffer decodes from its own offset.
  const padded = new Uint8Array(40);
  padded.set(unhex("0100000000000000000000000102004142"), 7);
  assertEquals(hex(decodeBinary(padded.subarray(7, 24)).data), "4142");
});

Deno.test("binary codec: decodeBinary(encodeBinary(f)) equals f for every valid frame", () => {
  fc.assert(
    fc.property(validFrame, (frame) => {
      const bytes = encodeBinary(frame);
      assertEquals(bytes.length, BINARY_HEADER_LENGTH + frame.data.length);
      const decoded = decodeBinary(bytes);
      assert(framesEqual(decoded, frame), `${JSON.stringify(decoded)}`);
      assertEquals(hex(encodeBinary(decoded)), hex(bytes));
    }),
    { numRuns: 2000 },
  );
});

function onlyDocumentedErrors(run: () => CanFrame): void {
  let frame: CanFrame;
  try {
    frame = run();
  } catch (error) {
    if (error instanceof RangeError || error instanceof TypeError) return;
    throw error;
  }
  assertSane(frame);
}

Deno.test("decodeBinary: random bytes only ever throw RangeError or decode sanely", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
      onlyDocumentedErrors(() => decodeBinary(bytes));
    }),
    { numRuns: 3000 },
  );
  // Mostly type byte 1, so that the header is read.
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 14, maxLength: 82 }), (bytes) => {
      bytes[0] = 1;
      onlyDocumentedErrors(() => decodeBinary(bytes));
    }),
    { numRuns: 3000 },
  );
});

Deno.test("decodeBinary: mutated valid encodings only ever throw RangeError or decode sanely", () => {
  const mutation = fc.record({
    frame: validFrame,
    flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
    cut: fc.integer({ min: -3, max: 3 }),
  });
  fc.assert(
    fc.property(mutation, ({ frame, flips, cut }) => {
      let bytes = encodeBinary(frame).slice();
      for (const [at, value] of flips) bytes[at % bytes.length] = value;
      if (cut < 0) bytes = bytes.subarray(0, Math.max(0, bytes.length + cut));
      if (cut > 0) bytes = Uint8Array.from([...bytes, ...new Uint8Array(cut * 20)]);
      onlyDocumentedErrors(() => decodeBinary(bytes));
    }),
    { numRuns: 3000 },
  );
});
