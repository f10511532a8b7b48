import fc from "fast-check";
import {
  parseCandump,
  parseCansend,
  stringifyCandump,
  stringifyCansend,
} from "../../core/candump.ts";
import { type CanFrame, type CanFrameInit, createFrame, framesEqual } from "../../core/frame.ts";
import { validFrame } from "../_helpers/arbitraries.ts";
import { assert, assertEquals, assertThrows } from "../_helpers/assert.ts";

// Fixture lines written by hand after can-utils: candump.c prints a -L line as
// "(%010lu.%06lu) %*s " + sprint_canframe(); lib.c's sprint_canframe() prints
// "%03X#" / "%08X#" ids (an error frame's id keeps CAN_ERR_FLAG), "%02X" bytes,
// "R" or "R%d" for a remote frame with a dlc, and "#%X" flags for CAN FD.
// The kernel here has no AF_CAN, so candump itself cannot record them.
const CANDUMP_FIXTURES: [string, CanFrameInit][] = [
  ["(1700000000.250000) vcan0 123#11223344", {
    timestamp: 1700000000.25,
    channel: "vcan0",
    arbitrationId: 0x123,
    isExtendedId: false,
    data: [0x11, 0x22, 0x33, 0x44],
  }],
  ["(1700000000.000001) can1 1F334455#DEADBEEF00112233", {
    timestamp: 1700000000.000001,
    channel: "can1",
    arbitrationId: 0x1f334455,
    isExtendedId: true,
    data: [0xde, 0xad, 0xbe, 0xef, 0x00, 0x11, 0x22, 0x33],
  }],
  ["(0000000012.000000) vcan0 7FF#", {
    timestamp: 12,
    channel: "vcan0",
    arbitrationId: 0x7ff,
    isExtendedId: false,
    data: [],
  }],
  ["(1700000001.999999) vcan0 123#R", {
    timestamp: 1700000001.999999,
    channel: "vcan0",
    arbitrationId: 0x123,
    isExtendedId: false,
    isRemoteFrame: true,
    dlc: 0,
  }],
  ["(1700000001.500000) vcan0 00000123#R8", {
    timestamp: 1700000001.5,
    channel: "vcan0",
    arbitrationId: 0x123,
    isExtendedId: true,
    isRemoteFrame: true,
    dlc: 8,
  }],
  ["(1700000002.000000) vcan0 123##1112233", {
    timestamp: 1700000002,
    channel: "vcan0",
    arbitrationId: 0x123,
    isExtendedId: false,
    isFd: true,
    bitrateSwitch: true,
    data: [0x11, 0x22, 0x33],
  }],
  ["(1700000002.100000) vcan0 12345678##2" + "AB".repeat(12), {
    timestamp: 1700000002.1,
    channel: "vcan0",
    arbitrationId: 0x12345678,
    isExtendedId: true,
    isFd: true,
    errorStateIndicator: true,
    data: new Array(12).fill(0xab),
  }],
  ["(1700000002.200000) vcan0 123##0", {
    timestamp: 1700000002.2,
    channel: "vcan0",
    arbitrationId: 0x123,
    isExtendedId: false,
    isFd: true,
    data: [],
  }],
  // A bus error as the kernel reports it: CAN_ERR_FLAG | CAN_ERR_BUSERROR, 8 bytes (CAN_ERR_DLC).
  ["(1700000003.000000) vcan0 20000080#0000000000000000", {
    timestamp: 1700000003,
    channel: "vcan0",
    arbitrationId: 0x80,
    isExtendedId: false,
    isErrorFrame: true,
    data: [0, 0, 0, 0, 0, 0, 0, 0],
  }],
  // Controller problem (CAN_ERR_CRTL 0x4), rx-error-warning in data[1].
  ["(1700000003.500000) can0 20000004#0004000000000000", {
    timestamp: 1700000003.5,
    channel: "can0",
    arbitrationId: 0x4,
    isExtendedId: false,
    isErrorFrame: true,
    data: [0, 4, 0, 0, 0, 0, 0, 0],
  }],
];

function expected(init: CanFrameInit): CanFrame {
  return createFrame(init);
}

Deno.test("parseCandump reads candump -L lines", () => {
  for (const [line, init] of CANDUMP_FIXTURES) {
    const frame = parseCandump(line);
    assert(framesEqual(frame, expected(init)), `${line} -> ${JSON.stringify(frame)}`);
    assertEquals(frame.channel, init.channel);
    assertEquals(frame.isRx, undefined);
  }
});

Deno.test("stringifyCandump writes what candump -L prints", () => {
  for (const [line, init] of CANDUMP_FIXTURES) {
    assertEquals(stringifyCandump(expected(init)), line);
  }
});

Deno.test("parseCandump accepts padded channels, directions and python-can's timestamps", () => {
  // candump pads the channel to the longest name ("%*s") when it listens on several.
  const padded = parseCandump("(1700000000.250000)  can0 123#01");
  assertEquals(padded.channel, "can0");
  // python-can's CanutilsLogWriter: "%f" timestamps, direction suffix, numeric channels.
  const python = parseCandump("(12.500000) 1 123#01 T\r");
  assertEquals(python.timestamp, 12.5);
  assertEquals(python.channel, 1);
  assertEquals(python.isRx, false);
  assertEquals(parseCandump("(0.0) vcan0 123#R r").isRx, true);
  assertEquals(parseCandump("(5) vcan0 123#").timestamp, 5);
});

Deno.test("stringifyCandump writes channels and directions like python-can", () => {
  const frame = createFrame({ timestamp: 1.5, arbitrationId: 1, isExtendedId: false });
  assertEquals(stringifyCandump(frame), "(0000000001.500000) vcan0 001#");
  assertEquals(stringifyCandump(frame, 2), "(0000000001.500000) can2 001#");
  assertEquals(
    stringifyCandump({ ...frame, channel: "can7" }, "can0"),
    "(0000000001.500000) can7 001#",
  );
  assertEquals(stringifyCandump({ ...frame, isRx: true }), "(0000000001.500000) vcan0 001# R");
  assertEquals(stringifyCandump({ ...frame, isRx: false }), "(0000000001.500000) vcan0 001# T");
  assertThrows(() => stringifyCandump({ ...frame, timestamp: -1 }), RangeError, "-1");
  assertThrows(() => stringifyCandump(frame, "my can"), RangeError, "my can");
});

Deno.test("parseCansend follows lib.c parse_canframe()", () => {
  const f = parseCansend("1F334455#11.22.33");
  assertEquals([f.arbitrationId, f.isExtendedId, [...f.data]], [0x1f334455, true, [
    0x11,
    0x22,
    0x33,
  ]]);
  // Lowercase hex and 'r' are accepted, as asc2nibble() and the 'R'/'r' check do.
  const r = parseCansend("7ff#r5");
  assertEquals([r.arbitrationId, r.isRemoteFrame, r.dlc], [0x7ff, true, 5]);
  assertEquals(parseCansend("123#R0").dlc, 0);
  // A '.' may stand before any byte, and at the end.
  assertEquals([...parseCansend("123#.11.22.").data], [0x11, 0x22]);
  assertEquals([...parseCansend("123##1.11.22").data], [0x11, 0x22]);
  // FD flags: bit 0 BRS, bit 1 ESI; bit 2 (CANFD_FDF, newer can-utils) is implied.
  const fd = parseCansend("123##5" + "00".repeat(64));
  assertEquals([fd.isFd, fd.bitrateSwitch, fd.errorStateIndicator, fd.dlc], [
    true,
    true,
    false,
    64,
  ]);
  // len8_dlc: read and dropped (python-can has no field for it).
  const raw = parseCansend("123#1122334455667788_F");
  assertEquals([raw.dlc, raw.data.length], [8, 8]);
  assertEquals(parseCansend("123#R8_9").dlc, 8);
  assertEquals(stringifyCansend(raw), "123#1122334455667788");
  // Error frames: the flag is dropped from the id; CAN_EFF_FLAG in the same digits means extended.
  const err = parseCansend("A0000123#00");
  assertEquals([err.isErrorFrame, err.arbitrationId, err.isExtendedId], [true, 0x123, true]);
  assertEquals(stringifyCansend(err), "A0000123#00");
  assertEquals(parseCansend("20000800#").isExtendedId, true);
  assertEquals(parseCansend("20000080##100").isFd, true);
  assertEquals(parseCansend("123#").dlc, 0);
});

Deno.test("parseCansend rejects what lib.c rejects, and what lib.c would silently ignore", () => {
  const syntax = [
    "",
    "123",
    "12#",
    "12G#00",
    "1234#00",
    "1234567#00",
    "12345#80:00:11223344#00", // CAN XL
    "123#1",
    "123#112",
    "123#11..22",
    "123#GG",
    "123##",
    "123##G00",
    "123##R",
    "123#R9",
    "123#RX",
    "123#R12",
    "123#R8_8",
    "123#R8X",
    "123#1122_9",
    "123#1122334455667788_",
    "123#1122334455667788_5",
    "123#1122334455667788_9X",
    " 123#00",
    "123#00 ",
  ];
  for (const text of syntax) {
    assertThrows(() => parseCansend(text), SyntaxError, JSON.stringify(text));
  }
  const range = [
    "800#00",
    "FFF#",
    "20000000#", // fine
    "40000000#00", // RTR flag in an extended id
    "60000000#00", // error frame with RTR flag
    "20000080#R",
    "123#112233445566778899",
    "123##1" + "00".repeat(9),
    "123##1" + "00".repeat(65),
  ].filter((text) => text !== "20000000#");
  for (const text of range) {
    assertThrows(() => parseCansend(text), RangeError, JSON.stringify(text));
  }
});

Deno.test("parseCandump rejects malformed lines with a SyntaxError quoting them", () => {
  for (
    const line of [
      "",
      "(1.0) vcan0",
      "1.0 vcan0 123#00",
      "(1.0 vcan0 123#00",
      "(-1.0) vcan0 123#00",
      "(1.0) vcan0 123#00 X",
      "(1.0) vcan0 123#00 R extra",
      "(1.0) vcan0 123#0",
      "(abc) vcan0 123#00",
    ]
  ) {
    assertThrows(() => parseCandump(line), SyntaxError, JSON.stringify(line));
  }
  assertThrows(() => parseCandump("(1.0) vcan0 800#00"), RangeError, "800#00");
});

/** Timestamps as a candump line carries them: whole microseconds. */
const microFrame = validFrame.map((f) => ({
  ...f,
  timestamp: Math.round(f.timestamp * 1e6) / 1e6,
}));

Deno.test("parseCandump(stringifyCandump(f)) equals f to the microsecond", () => {
  fc.assert(
    fc.property(microFrame, fc.option(fc.boolean(), { nil: undefined }), (frame, isRx) => {
      const input = isRx === undefined ? frame : { ...frame, isRx };
      const line = stringifyCandump(input, "can0");
      const back = parseCandump(line);
      assert(framesEqual(back, frame), `${line} -> ${JSON.stringify(back)}`);
      assertEquals(back.channel, "can0");
      assertEquals(back.isRx, isRx);
    }),
    { numRuns: 2000 },
  );
});

Deno.test("parseCansend(stringifyCansend(f)) equals f without the timestamp", () => {
  fc.assert(
    fc.property(validFrame, (frame) => {
      const back = parseCansend(stringifyCansend(frame));
      assert(framesEqual(back, { ...frame, timestamp: 0 }));
    }),
    { numRuns: 2000 },
  );
});

function onlyDocumentedErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (error) {
    if (!(error instanceof SyntaxError) && !(error instanceof RangeError)) throw error;
  }
}

Deno.test("random text only throws SyntaxError or RangeError", () => {
  const grammar = fc.string({
    unit: fc.constantFrom(..."0123456789abcdefABCDEFRrX#._ ()-".split("")),
    maxLength: 40,
  });
  fc.assert(
    fc.property(fc.oneof(fc.string(), grammar), (text) => {
      onlyDocumentedErrors(() => parseCansend(text));
      onlyDocumentedErrors(() => parseCandump(text));
      onlyDocumentedErrors(() => parseCandump(`(1.5) vcan0 ${text}`));
    }),
    { numRuns: 3000 },
  );
});

Deno.test("whatever parseCansend accepts is valid and prints back to an equivalent text", () => {
  const grammar = fc.string({
    unit: fc.constantFrom(..."0123456789ABCDEFRr#._".split("")),
    maxLength: 24,
  });
  fc.assert(
    fc.property(
      fc.oneof(grammar, grammar.map((s) => "123#" + s), grammar.map((s) => "1ABCDEF0#" + s)),
      (text) => {
        let frame: CanFrame;
        try {
          frame = parseCansend(text);
        } catch (error) {
          if (error instanceof SyntaxError || error instanceof RangeError) return;
          throw error;
        }
        assert(framesEqual(parseCansend(stringifyCansend(frame)), frame), text);
      },
    ),
    { numRuns: 3000 },
  );
});
