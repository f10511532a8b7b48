import { parseDbc } from "../../../core/dbc/parse.ts";
import { createFrame } from "../../../core/frame.ts";
import { assertEquals, assertThrows } from "../../_helpers/assert.ts";
import { readDbc } from "../../_helpers/dbc_corpus.ts";

const DB = parseDbc(`BU_: Engine Dash
BO_ 256 Status: 8 Engine
 SG_ Gear : 0|3@1+ (1,0) [0|5] "" Dash
 SG_ Speed : 8|16@1+ (0.01,0) [0|300] "km/h" Dash
VAL_ 256 Gear 0 "P" 1 "R" 2 "N" 3 "D" ;
BO_ 2364540158 EEC1: 8 Engine
 SG_ EngineSpeed : 24|16@1+ (0.125,0) [0|8031.875] "rpm" Dash
BO_ 2566844926 CCVS: 8 Engine
 SG_ WheelSpeed : 8|16@1+ (0.00390625,0) [0|250.996] "km/h" Dash
BO_ 2348810494 TSC1: 8 Engine
 SG_ Torque : 32|8@1+ (1,-125) [-125|125] "%" Dash
BA_DEF_ BO_ "VFrameFormat" ENUM "StandardCAN","ExtendedCAN","reserved","J1939PG";
BA_DEF_DEF_ "VFrameFormat" "StandardCAN";
BA_ "VFrameFormat" BO_ 2364540158 3;
BA_ "VFrameFormat" BO_ 2566844926 3;
BA_ "VFrameFormat" BO_ 2348810494 3;
`);

Deno.test("decode gives the message name and signals with units and labels", () => {
  const frame = createFrame({
    arbitrationId: 256,
    isExtendedId: false,
    data: [3, 0x10, 0x27, 0, 0, 0, 0, 0],
  });
  assertEquals(DB.decode(frame), {
    name: "Status",
    signals: {
      Gear: { value: 3, raw: 3, unit: "", label: "D" },
      Speed: { value: 100, raw: 10000, unit: "km/h" },
    },
  });
});

Deno.test("decode: unknown ids, other id kinds, remote and error frames give undefined", () => {
  const data = new Uint8Array(8);
  assertEquals(
    DB.decode(createFrame({ arbitrationId: 257, isExtendedId: false, data })),
    undefined,
  );
  const standardOnly = parseDbc("BO_ 256 Status: 8 Engine\n");
  assertEquals(standardOnly.decode(createFrame({ arbitrationId: 256, data })), undefined);
  assertEquals(
    DB.decode(
      createFrame({ arbitrationId: 256, isExtendedId: false, isRemoteFrame: true, dlc: 8 }),
    ),
    undefined,
  );
  assertEquals(
    DB.decode(createFrame({ arbitrationId: 256, isExtendedId: false, isErrorFrame: true, data })),
    undefined,
  );
});

Deno.test("decode leaves out signals past a short payload", () => {
  const decoded = DB.decode(createFrame({ arbitrationId: 256, isExtendedId: false, data: [1, 2] }));
  assertEquals(Object.keys(decoded!.signals), ["Gear"]);
});

Deno.test("J1939 messages match by PGN, whatever the priority and source address", () => {
  // EEC1 is PGN 0xF004 (PDU2); TSC1 is PGN 0x0000 (PDU1: PS is a destination).
  const eec1 = DB.decode(
    createFrame({ arbitrationId: 0x0cf00400, data: [0, 0, 0, 0x40, 0x1f, 0, 0, 0] }),
  );
  assertEquals(eec1?.name, "EEC1");
  assertEquals(eec1?.signals.EngineSpeed.value, 1000);
  assertEquals(
    DB.decode(createFrame({ arbitrationId: 0x18fef117, data: new Uint8Array(8) }))?.name,
    "CCVS",
  );
  assertEquals(
    DB.decode(createFrame({ arbitrationId: 0x0c000003, data: new Uint8Array(8) }))?.name,
    "TSC1",
  );
  assertEquals(
    DB.decode(createFrame({ arbitrationId: 0x0cf00500, data: new Uint8Array(8) })),
    undefined,
  );
  // Not J1939: exact ids only.
  const plain = parseDbc(readDbc("cantools/fd_test.dbc"));
  assertEquals(plain.decode(createFrame({ arbitrationId: 4, data: new Uint8Array(8) })), undefined);
});

Deno.test("encode builds a frame with the message's id, id kind, FD flag and length", () => {
  const frame = DB.encode("Status", { Gear: "R", Speed: 12.34 });
  assertEquals(
    [frame.arbitrationId, frame.isExtendedId, frame.isFd, [...frame.data]],
    [256, false, false, [1, 0xd2, 0x04, 0, 0, 0, 0, 0]],
  );
  const eec1 = DB.encode("EEC1", { EngineSpeed: 8031.875 });
  assertEquals([eec1.arbitrationId, eec1.isExtendedId], [0x0cf004fe, true]);
  const fd = parseDbc(readDbc("cantools/fd_test.dbc")).encode("TestMsg_FDEx", { TestSig: -1 });
  assertEquals([fd.arbitrationId, fd.isExtendedId, fd.isFd, fd.data[0]], [0, true, true, 0xff]);
  assertThrows(() => DB.encode("Nope", {}), RangeError, 'No message named "Nope"');
  assertThrows(
    () => DB.encode("TSC1", { Torque: 126 }),
    RangeError,
    'Signal "Torque" of "TSC1" must be within -125-125 %, got 126',
  );
});

Deno.test("encode fills signals left out with GenSigStartValue, else 0", () => {
  const db = parseDbc(`BO_ 1 M: 2 X
 SG_ A : 0|8@1+ (1,0) [0|0] "" X
 SG_ B : 8|8@1+ (1,0) [0|0] "" X
BA_DEF_ SG_ "GenSigStartValue" INT 0 255;
BA_ "GenSigStartValue" SG_ 1 B 42;`);
  assertEquals([...db.encode("M", {}).data], [0, 42]);
});
