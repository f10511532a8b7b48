import fc from "fast-check";
import { decodeDbcText } from "../../../core/dbc/text.ts";
import { assertEquals } from "../../_helpers/assert.ts";

Deno.test("decodeDbcText reads UTF-8 as UTF-8 and anything else as Latin-1", () => {
  fc.assert(
    fc.property(fc.string({ unit: "grapheme" }), (text) => {
      assertEquals(decodeDbcText(new TextEncoder().encode(text)), text.replace(/^\ufeff/, ""));
    }),
  );
  // cantools' choices.dbc: a Latin-1 "ä" in a value description.
  assertEquals(decodeDbcText(Uint8Array.of(0x22, 0x4d, 0xe4, 0x22)), '"M\u00e4"');
});
