import fc from "fast-check";
import {
  decodeSignals,
  encodeSignals,
  presentSignals,
  signalValue,
} from "../../../core/dbc/codec.ts";
import { parseDbc } from "../../../core/dbc/parse.ts";
import { scalerOf } from "../../../core/dbc/scale.ts";
import type { DbcMessage, DbcSignal } from "../../../core/dbc/types.ts";
import { bytesNeeded, writeBits } from "../../../core/dbc/bits.ts";
import { assert, assertEquals, assertThrows } from "../../_helpers/assert.ts";
import { corpus, readDbc } from "../../_helpers/dbc_corpus.ts";

const ALL: [string, DbcMessage][] = corpus().flatMap((file) =>
  parseDbc(readDbc(file)).messages.map((m) => [file, m] as [string, DbcMessage])
).filter(([, m]) => m.length > 0);

const names = (message: DbcMessage, data: number[]) =>
  presentSignals(message, Uint8Array.from(data)).map(([s]) => s.name).sort();

Deno.test("presentSignals follows multiplexor chains and several top-level multiplexors", () => {
  const db = parseDbc(readDbc("cantools/multiplex_2.dbc"));
  const extended = db.getMessage("Extended")!;
  // S0 (bits 0-3) and S6 (bits 32-39) are top-level; S1 (bits 4-7) is S0=0's sub-multiplexor.
  assertEquals(names(extended, [0x00, 0, 0, 0, 0, 0, 0, 0]), ["S0", "S1", "S2", "S3", "S6"]);
  assertEquals(names(extended, [0x20, 0, 0, 0, 1, 0, 0, 0]), ["S0", "S1", "S4", "S6", "S7"]);
  assertEquals(names(extended, [0x01, 0, 0, 0, 2, 0, 0, 0]), ["S0", "S5", "S6", "S8"]);
  assertEquals(names(extended, [0x02, 0, 0, 0, 9, 0, 0, 0]), ["S0", "S6"]);
  const shared = db.getMessage("Shared")!;
  assertEquals(names(shared, [3, 0, 0, 0, 0, 0, 0, 0]), ["S0", "S1", "S2"]); // S1: 1, 3; S2: 2-5
  assertEquals(names(shared, [6, 0, 0, 0, 0, 0, 0, 0]), ["S0"]);
});

Deno.test("decodeSignals reads signed, big-endian, IEEE and wide integer signals", () => {
  const floats = parseDbc(readDbc("cantools/floating_point.dbc"));
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, -1.5e300, true);
  assertEquals(
    decodeSignals(floats.getMessage("Message1")!, new Uint8Array(view.buffer)).Signal1.value,
    -1.5e300,
  );
  view.setFloat32(0, 0.25, true);
  view.setFloat32(4, -3, true);
  const two = decodeSignals(floats.getMessage("Message2")!, new Uint8Array(view.buffer));
  assertEquals([two.Signal1.value, two.Signal2.value], [0.25, -3]);

  const signed = parseDbc(readDbc("cantools/signed.dbc"));
  const s64 = decodeSignals(signed.getMessage("Message64")!, new Uint8Array(8).fill(0xff)).s64;
  assertEquals(s64.raw, -1n);
  assertEquals(s64.value, -1);
  const big = decodeSignals(
    signed.getMessage("Message64big")!,
    Uint8Array.of(0x80, 0, 0, 0, 0, 0, 0, 1),
  );
  assertEquals(big.s64big.raw, -(2n ** 63n) + 1n);

  const moto = parseDbc(readDbc("cantools/motohawk.dbc")).messages[0];
  // Temperature 0|12@0- (0.01,250): byte 0 bit 0, byte 1, byte 2 bits 7-5; all ones is
  // raw -1 → 249.99, decimal-exact.
  const t = decodeSignals(moto, Uint8Array.of(0x01, 0xff, 0xe0, 0, 0, 0, 0, 0));
  assertEquals(t.Temperature, { value: 249.99, raw: -1, unit: "degK" });
  assertEquals(t.Enable.label, "Disabled");
});

Deno.test("encodeSignals refuses values outside the range or the bits, naming the signal and range", () => {
  const db = parseDbc(readDbc("cantools/motohawk.dbc"));
  const m = db.messages[0];
  assertThrows(
    () => encodeSignals(m, { Temperature: 300 }),
    RangeError,
    'Signal "Temperature" of "ExampleMessage" must be within 229.52-270.47 degK, got 300',
  );
  const open = parseDbc('BO_ 1 M: 1 X\n SG_ S : 0|8@1+ (2,0) [0|0] "V" X\n').messages[0];
  assertThrows(
    () => encodeSignals(open, { S: 512 }),
    RangeError,
    "within 0-510 V (8 bits), got 512",
  );
  assertThrows(() => encodeSignals(open, { S: -2 }), RangeError, "within 0-510 V (8 bits)");
  assertThrows(() => encodeSignals(open, { S: 256 }, { raw: true }), RangeError, "0-255 (8 bits)");
  assertThrows(() => encodeSignals(open, { S: 1.5 }, { raw: true }), RangeError, "integer");
  assertThrows(() => encodeSignals(open, { T: 1 }), RangeError, 'no signal "T"');
  assertThrows(() => encodeSignals(m, { Enable: "Maybe" }), RangeError, '"Disabled", "Enabled"');
  assertThrows(() => encodeSignals(open, { S: true as unknown as number }), TypeError, "boolean");
  assertEquals(encodeSignals(m, { Enable: "Enabled" })[0] & 0x80, 0x80);
  assertEquals(encodeSignals(open, { S: 9 })[0], 5); // rounds 4.5 up
});

Deno.test("encodeSignals writes multiplexed signals only where the multiplexor selects them", () => {
  const db = parseDbc(readDbc("cantools/multiplex_2.dbc"));
  const extended = db.getMessage("Extended")!;
  const data = encodeSignals(extended, { S0: 0, S1: 2, S4: -5, S6: 1, S7: 1000 });
  const decoded = decodeSignals(extended, data);
  assertEquals(decoded.S4.value, -5);
  assertEquals(decoded.S7.value, 1000);
  assertThrows(
    () => encodeSignals(extended, { S0: 1, S2: 3 }),
    RangeError,
    'Signal "S2" of "Extended" needs S1 in 0',
  );
});

Deno.test("encode(decode(x)) as raw values keeps every bit of every present signal (all of ../shared/dbc)", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...ALL).chain(([file, message]) =>
        fc.tuple(
          fc.constant(file),
          fc.constant(message),
          fc.uint8Array({ minLength: message.length, maxLength: message.length }),
        )
      ),
      ([file, message, data]) => {
        const decoded = decodeSignals(message, data);
        const raws = Object.fromEntries(Object.entries(decoded).map(([n, s]) => [n, s.raw]));
        const again = decodeSignals(message, encodeSignals(message, raws, { raw: true }));
        assertEquals(Object.keys(again), Object.keys(decoded), `${file} ${message.name}`);
        for (const [name, s] of Object.entries(decoded)) {
          if (typeof s.raw === "number" && Number.isNaN(s.raw)) continue;
          assertEquals(again[name].raw, s.raw, `${file} ${message.name} ${name}`);
        }
      },
    ),
    { numRuns: 3000 },
  );
});

function maskOf(s: DbcSignal): Uint8Array {
  const mask = new Uint8Array(64);
  writeBits(mask, s, (1n << BigInt(s.length)) - 1n);
  return mask;
}

// Signals sharing no bit with another (mazda_2017's CRZ_CTRL has overlapping ones).
function alone(m: DbcMessage, s: DbcSignal): boolean {
  const mine = maskOf(s);
  return m.signals.every((o) => o === s || maskOf(o).every((b, i) => (b & mine[i]) === 0));
}

Deno.test("a physical value inside its range encodes and decodes back; outside is a RangeError", () => {
  const signals = ALL.flatMap(([file, m]) =>
    m.signals.filter((s) =>
      !s.multiplexing && s.valueType === "integer" && s.length <= 52 && alone(m, s) &&
      bytesNeeded(s) <= m.length
    ).map((s) => ({ file, m, s }))
  );
  fc.assert(
    fc.property(
      fc.constantFrom(...signals).chain((x) => {
        const bits = BigInt(x.s.length);
        const [low, high] = x.s.signed ? [-(1n << (bits - 1n)), (1n << (bits - 1n)) - 1n] : [
          0n,
          (1n << bits) - 1n,
        ];
        return fc.tuple(fc.constant(x), fc.bigInt({ min: low, max: high }));
      }),
      ([{ file, m, s }, raw]) => {
        const value = scalerOf(s).toPhysical(Number(raw));
        const ranged = s.minimum !== s.maximum;
        const slack = 1e-9 * Math.max(Math.abs(s.minimum), Math.abs(s.maximum), Math.abs(s.factor));
        if (ranged && (value < s.minimum - slack || value > s.maximum + slack)) {
          assertThrows(() => encodeSignals(m, { [s.name]: value }), RangeError, `"${s.name}"`);
          return;
        }
        const decoded = decodeSignals(m, encodeSignals(m, { [s.name]: value }));
        assert(s.name in decoded, `${file} ${m.name} ${s.name}`);
        assertEquals(decoded[s.name].raw, Number(raw), `${file} ${m.name} ${s.name} ${value}`);
      },
    ),
    { numRuns: 3000 },
  );
});

Deno.test("decodeSignals never throws on any payload length", () => {
  fc.assert(
    fc.property(fc.constantFrom(...ALL), fc.uint8Array({ maxLength: 64 }), ([, message], data) => {
      const decoded = decodeSignals(message, data);
      for (const s of Object.values(decoded)) assert(typeof s.value === "number");
    }),
    { numRuns: 2000 },
  );
});

Deno.test("signalValue gives what decodeSignals gives, signal by signal (all of ../shared/dbc)", () => {
  fc.assert(
    fc.property(fc.constantFrom(...ALL), fc.uint8Array({ maxLength: 64 }), ([, message], data) => {
      const decoded = decodeSignals(message, data);
      for (const signal of message.signals) {
        const value = signalValue(message, signal, data);
        assertEquals(value, decoded[signal.name]?.value, `${message.name}.${signal.name}`);
      }
    }),
    { numRuns: 2000 },
  );
});
