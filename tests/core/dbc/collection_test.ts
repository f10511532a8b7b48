import { DbcCollection } from "../../../core/dbc/collection.ts";
import { parseDbc } from "../../../core/dbc/parse.ts";
import { createFrame } from "../../../core/frame.ts";
import { assertEquals, assertThrows } from "../../_helpers/assert.ts";

const A = parseDbc('BO_ 1 First: 1 X\n SG_ S : 0|8@1+ (1,0) [0|0] "" X\n');
const B = parseDbc('BO_ 1 Second: 1 X\n SG_ S : 0|8@1+ (2,0) [0|0] "" X\nBO_ 2 Other: 1 X\n');

Deno.test("DbcCollection: the first file that knows an id decodes it; set replaces in place", () => {
  const files = new DbcCollection();
  const frame = createFrame({ arbitrationId: 1, isExtendedId: false, data: [3] });
  assertEquals(files.decode(frame), undefined);
  files.set("b.dbc", B);
  files.set("a.dbc", A);
  assertEquals(files.decode(frame)?.name, "Second");
  assertEquals(files.messageFor({ arbitrationId: 2, isExtendedId: false })?.name, "Other");
  const generation = files.generation;
  files.set("b.dbc", A);
  assertEquals(files.files.map((f) => f.name), ["b.dbc", "a.dbc"]);
  assertEquals(files.decode(frame)?.name, "First");
  assertEquals(files.generation > generation, true);
  assertEquals(files.delete("b.dbc"), true);
  assertEquals(files.delete("b.dbc"), false);
});

Deno.test("DbcCollection.encode uses the file holding the message", () => {
  const files = new DbcCollection();
  files.set("a.dbc", A);
  files.set("b.dbc", B);
  assertEquals([...files.encode("Second", { S: 10 }).data], [5]);
  assertThrows(() => files.encode("Third", {}), RangeError, 'No message named "Third"');
});
