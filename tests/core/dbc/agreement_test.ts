// Agreement with canmatrix, an independent decoder: tests/core/dbc/vectors/
// holds what canmatrix 0.9.5 decodes from random payloads of every message of
// every file in ../shared/dbc (generate.py there says how they were made).
import { parseDbc } from "../../../core/dbc/parse.ts";
import type { DbcDatabase } from "../../../core/dbc/database.ts";
import { assert, assertEquals } from "../../_helpers/assert.ts";
import { readDbc } from "../../_helpers/dbc_corpus.ts";

const VECTORS = new URL("./vectors/", import.meta.url);

interface Vectors {
  file: string;
  messages: {
    name: string;
    id: number;
    extended: boolean;
    size: number;
    signals: { name: string; mask: string; inside: boolean }[];
    // [payload, [[signal index, physical, raw-keyed label, canmatrix's named_value]]]
    samples: [string, [number, string, string | null, string | null][]][];
  }[];
}

// canmatrix's Frame.decode() follows one chain of multiplexors from the first
// top-level multiplexor in file order; this message has two (S6 and S0, as
// cantools' test file intends), so canmatrix never shows S0's branch.
const SECOND_TOP_LEVEL_TREE: Record<string, Record<string, string[]>> = {
  "cantools/multiplex_2.dbc": { Extended: ["S0", "S1", "S2", "S3", "S4", "S5"] },
};

// canmatrix drops VAL_ lines that lack their ";"; parseDbc reads them.
const UNTERMINATED_VAL: Record<string, Record<string, string[]>> = {
  "opendbc/mazda_2017.dbc": { BSM: ["LEFT_BS_STATUS", "RIGHT_BS_STATUS"] },
};

const hex = (text: string) => Uint8Array.from(text.match(/../g) ?? [], (b) => parseInt(b, 16));

function relativeError(actual: number, expected: number): number {
  if (Number.isNaN(expected)) return Number.isNaN(actual) ? 0 : Infinity;
  if (actual === expected) return 0;
  return expected === 0 ? Math.abs(actual) : Math.abs(actual - expected) / Math.abs(expected);
}

const files = [...Deno.readDirSync(VECTORS)].filter((e) => e.name.endsWith(".json")).map((e) =>
  e.name
).sort();

const totals = {
  files: 0,
  messages: 0,
  samples: 0,
  values: 0,
  maxError: 0,
  canmatrixLabelByPhysical: 0,
};

for (const name of files) {
  const vectors: Vectors = JSON.parse(Deno.readTextFileSync(new URL(name, VECTORS)));
  Deno.test(`agreement with canmatrix: ${vectors.file}`, () => {
    const db: DbcDatabase = parseDbc(readDbc(vectors.file));
    totals.files++;
    for (const m of vectors.messages) {
      totals.messages++;
      const frameId = { arbitrationId: m.id, isExtendedId: m.extended };
      const message = db.messageFor(frameId);
      assert(message, `${vectors.file}: no message for ${m.name}`);
      assertEquals(message.name, m.name);
      const outside = new Set(m.signals.filter((s) => !s.inside).map((s) => s.name));
      const masks = new Map(m.signals.map((s) => [s.name, hex(s.mask)]));
      const unterminated = new Set(UNTERMINATED_VAL[vectors.file]?.[m.name] ?? []);
      const extraTree = new Set(SECOND_TOP_LEVEL_TREE[vectors.file]?.[m.name] ?? []);
      for (const [payload, list] of m.samples) {
        totals.samples++;
        const data = hex(payload);
        const sampleSignals = Object.fromEntries(
          list.map(([i, ...rest]) => [m.signals[i].name, rest]),
        );
        const decoded = db.decode({ ...frameId, isRemoteFrame: false, isErrorFrame: false, data });
        assert(decoded);
        const where = `${vectors.file} ${m.name} ${payload}`;
        const ours = Object.keys(decoded.signals).filter((n) => !extraTree.has(n)).sort();
        const theirs = Object.keys(sampleSignals).filter((n) =>
          !outside.has(n) && !extraTree.has(n)
        )
          .sort();
        assertEquals(ours, theirs, `signals chosen, ${where}`);
        for (const signal of outside) {
          assert(!(signal in decoded.signals), `${signal} runs past ${m.name}`);
        }
        for (const signalName of theirs) {
          const [physical, label, canmatrixLabel] = sampleSignals[signalName];
          const got = decoded.signals[signalName];
          const error = relativeError(got.value, Number(physical));
          totals.values++;
          totals.maxError = Math.max(totals.maxError, error);
          assert(error < 1e-9, `${where} ${signalName}: ${got.value} vs canmatrix ${physical}`);
          if (unterminated.has(signalName)) {
            assertEquals(
              got.label,
              message.signals.find((s) => s.name === signalName)!.labels.get(Number(got.raw)),
            );
          } else {
            assertEquals(got.label, label ?? undefined, `${where} ${signalName} label`);
          }
          if (canmatrixLabel !== label) totals.canmatrixLabelByPhysical++;
        }
        // encode(decode(x)) gives back every bit the present signals cover.
        const raws = Object.fromEntries(
          Object.entries(decoded.signals).map(([n, s]) => [n, s.raw]),
        );
        const again = db.encode(m.name, raws, { raw: true }).data;
        for (const [signalName, s] of Object.entries(decoded.signals)) {
          if (typeof s.raw === "number" && Number.isNaN(s.raw)) continue; // a NaN's payload bits are not kept
          const mask = masks.get(signalName)!;
          for (let i = 0; i < mask.length; i++) {
            assertEquals(again[i] & mask[i], data[i] & mask[i], `${where} ${signalName} byte ${i}`);
          }
        }
      }
    }
  });
}

Deno.test("agreement with canmatrix: figures", () => {
  assert(totals.files === files.length && totals.values > 10_000, JSON.stringify(totals));
  console.log(`canmatrix agreement: ${JSON.stringify(totals)}`);
});
