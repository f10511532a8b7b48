import { SIGNALS_CSV_HEADER, SignalsCsvWriter } from "../../formats/signals_csv.ts";
import { parseDbc } from "../../core/dbc/parse.ts";
import { createFrame } from "../../core/frame.ts";
import { assertEquals, assertRejects } from "../_helpers/assert.ts";

const DB = parseDbc(`BO_ 1 Status: 2 X
 SG_ Mode : 0|8@1+ (1,0) [0|0] "" X
 SG_ Temp : 8|8@1- (0.5,0) [0|0] "deg, C" X
VAL_ 1 Mode 1 "say \\"hi\\"" ;`);

Deno.test("signals CSV: a row per signal, fields quoted as RFC 4180 wants, unknown frames skipped", async () => {
  let text = "";
  const sink = new WritableStream<Uint8Array>({
    write: (chunk) => void (text += new TextDecoder().decode(chunk)),
  });
  const writer = new SignalsCsvWriter(sink, (frame) => DB.decode(frame));
  await writer.write(
    createFrame({ timestamp: 10, arbitrationId: 1, isExtendedId: false, data: [1, 0xfd] }),
  );
  await writer.write(
    createFrame({ timestamp: 11, arbitrationId: 2, isExtendedId: false, data: [1] }),
  );
  await writer.close();
  assertEquals(text.split("\n"), [
    SIGNALS_CSV_HEADER,
    '10.0,Status,Mode,1,,"say ""hi"""',
    '10.0,Status,Temp,-1.5,"deg, C",',
    "",
  ]);
  await assertRejects(() => writer.write(createFrame()), TypeError);
});
