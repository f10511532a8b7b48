import { parseDbc } from "../../../core/dbc/parse.ts";
import { scalerOf } from "../../../core/dbc/scale.ts";
import { assert, assertEquals } from "../../_helpers/assert.ts";

Deno.test("scaling is decimal-exact: raw 3 × 0.1 is 0.3", () => {
  const db = parseDbc('BO_ 1 M: 2 X\n SG_ S : 0|16@1+ (0.1,-0.3) [0|0] "" X\n');
  const scaler = scalerOf(db.messages[0].signals[0]);
  assertEquals(scaler.toPhysical(3), 0);
  assertEquals(scaler.toPhysical(6), 0.3);
  assertEquals(scaler.toPhysical(65535), 6553.2);
});

Deno.test("scaling falls back to binary arithmetic when the decimal sum would not be exact", () => {
  const db = parseDbc(`BO_ 1 M: 8 X
 SG_ Wide : 0|64@1+ (0.5,1) [0|0] "" X
 SG_ Fine : 0|8@1+ (1E-30,0) [0|0] "" X
`);
  const [wide, fine] = db.messages[0].signals.map(scalerOf);
  assertEquals(wide.toPhysical(2n ** 63n), 2 ** 62 + 1);
  assert(Math.abs(fine.toPhysical(3) - 3e-30) < 1e-45);
  assertEquals(wide.toRaw(5), 8);
});
