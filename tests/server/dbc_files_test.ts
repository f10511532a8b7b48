import { readDbcFiles } from "../../server/dbc_files.ts";
import { assertEquals, assertRejects } from "../_helpers/assert.ts";

Deno.test("readDbcFiles names each file by its last path part and keeps Latin-1 text", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const bytes = new TextEncoder().encode('BO_ 1 M: 1 X\n SG_ S : 0|8@1+ (1,0) [0|0] "?C" X\n');
    bytes[bytes.indexOf(0x3f)] = 0xb0; // Latin-1 degree sign
    await Deno.writeFile(`${dir}/car.dbc`, bytes);
    const [file] = await readDbcFiles([`${dir}/car.dbc`]);
    assertEquals(file.name, "car.dbc");
    assertEquals(file.text.includes('"\u00b0C"'), true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readDbcFiles refuses a malformed file, naming it, the line and the column", async () => {
  const path = await Deno.makeTempFile({ suffix: ".dbc" });
  try {
    await Deno.writeTextFile(path, "BO_ 1 M: 8 X\nBO_ oops\n");
    await assertRejects(() => readDbcFiles([path]), SyntaxError, `${path}: DBC line 2, column 5`);
    await assertRejects(() => readDbcFiles([`${path}.missing`]), Deno.errors.NotFound);
  } finally {
    await Deno.remove(path);
  }
});
