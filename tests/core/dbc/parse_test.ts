import fc from "fast-check";
import { parseDbc } from "../../../core/dbc/parse.ts";
import { assert, assertEquals, assertThrows } from "../../_helpers/assert.ts";
import { corpus, readDbc } from "../../_helpers/dbc_corpus.ts";

// Counts from canmatrix 0.9.5 (loadp_flat, len(frames), sum of len(signals)).
const CANMATRIX_COUNTS: Record<string, [number, number]> = {
  "cantools/abs.dbc": [18, 89],
  "cantools/choices.dbc": [1, 1],
  "cantools/fd_test.dbc": [4, 4],
  "cantools/floating_point.dbc": [2, 3],
  "cantools/j1939.dbc": [2, 2],
  "cantools/motohawk.dbc": [1, 3],
  "cantools/multiplex_2.dbc": [4, 19],
  "cantools/padding_bit_order.dbc": [5, 13],
  "cantools/signed.dbc": [11, 18],
  "opendbc/ESR.dbc": [80, 868],
  "opendbc/mazda_2017.dbc": [102, 515],
  "opendbc/tesla_can.dbc": [44, 572],
  "opendbc/vw_mqb.dbc": [113, 1348],
};

Deno.test("parseDbc reads every file of ../shared/dbc with canmatrix's message and signal counts", () => {
  const files = corpus();
  assertEquals(files, Object.keys(CANMATRIX_COUNTS).sort());
  for (const file of files) {
    const db = parseDbc(readDbc(file));
    const signals = db.messages.reduce((n, m) => n + m.signals.length, 0);
    assertEquals([db.messages.length, signals], CANMATRIX_COUNTS[file], file);
  }
});

Deno.test("parseDbc reads a signal's layout, scaling, range, unit, receivers, labels and comments", () => {
  const db = parseDbc(readDbc("cantools/motohawk.dbc"));
  assertEquals(db.nodes.map((n) => n.name), ["PCM1", "FOO"]);
  const message = db.getMessage("ExampleMessage")!;
  assertEquals(message.arbitrationId, 496);
  assertEquals(message.isExtendedId, false);
  assertEquals(message.length, 8);
  assertEquals(message.sender, "PCM1");
  assertEquals(message.comment, "Example message used as template in MotoHawk models.");
  const [temperature, , enable] = message.signals;
  assertEquals(
    {
      startBit: temperature.startBit,
      length: temperature.length,
      byteOrder: temperature.byteOrder,
      signed: temperature.signed,
      factor: temperature.factor,
      offset: temperature.offset,
      minimum: temperature.minimum,
      maximum: temperature.maximum,
      unit: temperature.unit,
      receivers: temperature.receivers,
    },
    {
      startBit: 0,
      length: 12,
      byteOrder: "big",
      signed: true,
      factor: 0.01,
      offset: 250,
      minimum: 229.52,
      maximum: 270.47,
      unit: "degK",
      receivers: ["PCM1", "FOO"],
    },
  );
  assertEquals([...enable.labels], [[0, "Disabled"], [1, "Enabled"]]);
});

Deno.test("parseDbc reads VAL_TABLE_, Latin-1 labels and negative keys", () => {
  const db = parseDbc(readDbc("cantools/choices.dbc"));
  const table = db.valueTables.get("Bar")!;
  assertEquals(table.get(-5), "A negative value");
  assertEquals(db.messages[0].signals[0].labels.get(1), "#%=*\u00e4'");
});

Deno.test("parseDbc reads SIG_VALTYPE_, VFrameFormat and GenMsgCycleTime", () => {
  const floats = parseDbc(readDbc("cantools/floating_point.dbc"));
  assertEquals(floats.getMessage("Message1")!.signals[0].valueType, "float64");
  assertEquals(floats.getMessage("Message2")!.signals.map((s) => s.valueType), [
    "float32",
    "float32",
  ]);
  const fd = parseDbc(readDbc("cantools/fd_test.dbc"));
  assertEquals(
    fd.messages.map((m) => [m.name, m.isExtendedId, m.isFd]),
    [
      ["TestMsg_Ex", true, false],
      ["TestMsg_Std", false, false],
      ["TestMsg_FDStd", false, true],
      ["TestMsg_FDEx", true, true],
    ],
  );
  const j1939 = parseDbc(readDbc("cantools/j1939.dbc"));
  assert(j1939.messages.every((m) => m.isJ1939)); // one by BA_, one by BA_DEF_DEF_
  const cycle = parseDbc(`BO_ 1 A: 8 X
BO_ 2 B: 8 X
BA_DEF_ BO_ "GenMsgCycleTime" INT 0 65535;
BA_DEF_DEF_ "GenMsgCycleTime" 0;
BA_ "GenMsgCycleTime" BO_ 2 100;`);
  assertEquals(cycle.messages.map((m) => m.cycleTime), [undefined, 100]);
});

Deno.test("parseDbc reads simple and extended multiplexing", () => {
  const db = parseDbc(readDbc("cantools/multiplex_2.dbc"));
  const extended = db.getMessage("Extended")!;
  const s = (name: string) => extended.signals.find((x) => x.name === name)!;
  assertEquals(s("S0").isMultiplexor, true);
  assertEquals(s("S1").isMultiplexor, true);
  assertEquals(s("S1").multiplexing, { multiplexor: "S0", ranges: [[0, 0]] });
  assertEquals(s("S4").multiplexing, { multiplexor: "S1", ranges: [[2, 2]] });
  const shared = db.getMessage("Shared")!;
  assertEquals(shared.signals.find((x) => x.name === "S1")!.multiplexing, {
    multiplexor: "S0",
    ranges: [[1, 1], [3, 3]],
  });
  const simple = parseDbc(`BO_ 1 M: 2 X
 SG_ Mux M : 0|8@1+ (1,0) [0|0] "" X
 SG_ A m7 : 8|8@1+ (1,0) [0|0] "" X
`);
  assertEquals(simple.messages[0].signals[1].multiplexing, {
    multiplexor: "Mux",
    ranges: [[7, 7]],
  });
});

Deno.test("parseDbc: a malformed file is a SyntaxError with line and column", () => {
  const cases: [string, string][] = [
    ['BO_ 1 M: 8 X\n SG_ A : 0|8@1+ (1,0) [0|0 "" X\n', "line 2, column 28"],
    ["BO_ 1 M: 8 X\nBO_ 1 N: 8 X\n", "line 2, column 5"],
    ['BO_ 1 M: 8 X\n SG_ A : 0|8@2+ (1,0) [0|0] "" X\n', "line 2, column 14"],
    ['BO_ 1 M: 8 X\n SG_ A : 0|0@1+ (1,0) [0|0] "" X\n', "line 2, column 12"],
    ['BO_ 1 M: 8 X\n SG_ A : 0|8@1+ (1,0) [0|0] "unit X\n', "line 2, column 29"],
    ['VERSION ""\nWHATEVER_ 1 ;\n', "line 2, column 1"],
    ['BO_ 1 M: 8 X\n SG_ A m1 : 0|8@1+ (1,0) [0|0] "" X\n', "line 2, column 2"],
    [
      'BO_ 1 M: 8 X\n SG_ A : 0|8@1+ (1,0) [0|0] "" X\nSIG_VALTYPE_ 1 A : 1;\n',
      "line 3, column 20",
    ],
    ['SG_ A : 0|8@1+ (1,0) [0|0] "" X\n', "line 1, column 1"],
    ["BO_ 4096 M: 8 X\n", "line 1, column 5"],
    ['BO_ 1 M: 8 X\nCM_ BO_ 1 "never closed;\n', "line 2, column 11"],
  ];
  for (const [text, where] of cases) {
    assertThrows(() => parseDbc(text), SyntaxError, where);
  }
  assertThrows(() => parseDbc(42 as unknown as string), TypeError, "number");
});

Deno.test("parseDbc loads nothing from a file with one bad line at its end", () => {
  const good = readDbc("cantools/motohawk.dbc");
  assertThrows(() => parseDbc(good + "\nBO_ oops\n"), SyntaxError, "message id");
});

Deno.test("parseDbc drops references to undefined messages and signals, as canmatrix does", () => {
  const db = parseDbc(`BO_ 1 M: 8 X
 SG_ A : 0|8@1+ (1,0) [0|0] "" X
CM_ SG_ 1 Nope "gone";
CM_ BO_ 2 "gone";
VAL_ 1 Nope 0 "zero" ;
`);
  assertEquals(db.messages[0].signals.length, 1);
});

Deno.test("parseDbc on damaged files either loads or throws a SyntaxError, nothing else", () => {
  const texts = corpus().map(readDbc);
  fc.assert(
    fc.property(
      fc.constantFrom(...texts),
      fc.nat(),
      fc.nat(),
      fc.string({ maxLength: 4 }),
      (text, a, b, insert) => {
        const at = a % text.length;
        const damaged = text.slice(0, at) + insert + text.slice(at + (b % 8));
        try {
          const db = parseDbc(damaged.slice(0, at + 200 + (b % 5000)));
          for (const message of db.messages) {
            db.decode({
              ...message,
              isRemoteFrame: false,
              isErrorFrame: false,
              data: new Uint8Array(64),
            });
          }
        } catch (error) {
          assert(error instanceof SyntaxError, String(error));
          assert(/^DBC line \d+, column \d+: /.test(error.message), error.message);
        }
      },
    ),
    { numRuns: 1500 },
  );
});
