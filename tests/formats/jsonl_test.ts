import fc from "fast-check";
import { JsonlWriter, parseJsonl, readJsonl, stringifyJsonl } from "../../formats/jsonl.ts";
import { type CanFrame, createFrame, framesEqual } from "../../core/frame.ts";
import { validFrame } from "../_helpers/arbitraries.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "../_helpers/assert.ts";

async function readAll(text: string, errors?: SyntaxError[]): Promise<CanFrame[]> {
  const onError = errors ? (e: SyntaxError) => void errors.push(e) : undefined;
  return await Array.fromAsync(readJsonl(new Blob([text]).stream(), { onError }));
}

Deno.test("stringifyJsonl writes every field under its CanFrame name", () => {
  const line = stringifyJsonl(
    createFrame({
      timestamp: 1700000000.25,
      arbitrationId: 0x123,
      isExtendedId: false,
      data: [0x11, 0xab],
      channel: "vcan0",
      isRx: true,
    }),
  );
  assertEquals(
    line,
    '{"timestamp":1700000000.25,"arbitrationId":291,"isExtendedId":false,"isRemoteFrame":false,' +
      '"isErrorFrame":false,"isFd":false,"bitrateSwitch":false,"errorStateIndicator":false,' +
      '"dlc":2,"data":"11ab","channel":"vcan0","isRx":true}',
  );
});

Deno.test("JsonlWriter then readJsonl gives the frames back exactly, channel and direction too", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({
          frame: validFrame,
          channel: fc.option(fc.oneof(fc.string(), fc.nat()), { nil: undefined }),
          isRx: fc.option(fc.boolean(), { nil: undefined }),
        }),
        { maxLength: 20 },
      ),
      async (items) => {
        const frames = items.map(({ frame, channel, isRx }) => {
          const f: CanFrame = { ...frame };
          if (channel !== undefined) f.channel = channel;
          if (isRx !== undefined) f.isRx = isRx;
          return f;
        });
        const chunks: Uint8Array[] = [];
        const writer = new JsonlWriter(new WritableStream({ write: (c) => void chunks.push(c) }));
        for (const frame of frames) await writer.write(frame);
        await writer.close();
        const text = new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
        const back = frames.length ? await readAll(text) : [];
        assertEquals(back.length, frames.length);
        back.forEach((frame, i) => {
          assert(framesEqual(frame, frames[i]));
          assertEquals([frame.channel, frame.isRx], [frames[i].channel, frames[i].isRx]);
        });
      },
    ),
    { numRuns: 100 },
  );
});

Deno.test("parseJsonl fills python-can's defaults and takes data as bytes too", () => {
  const frame = parseJsonl('{"timestamp":2,"arbitrationId":5,"data":[1,2,3],"extra":1}');
  assertEquals(
    [
      frame.isExtendedId,
      frame.isRemoteFrame,
      frame.dlc,
      [...frame.data],
      frame.channel,
      frame.isRx,
    ],
    [true, false, 3, [1, 2, 3], undefined, undefined],
  );
  assertThrows(() => parseJsonl("[]"), TypeError);
  assertThrows(() => parseJsonl('{"timestamp":"1","arbitrationId":1}'), TypeError, "timestamp");
  assertThrows(() => parseJsonl('{"timestamp":1}'), TypeError, "arbitrationId is missing");
  assertThrows(
    () => parseJsonl('{"timestamp":1,"arbitrationId":1,"data":"abc"}'),
    SyntaxError,
    "abc",
  );
  assertThrows(
    () => parseJsonl('{"timestamp":1,"arbitrationId":1,"data":[256]}'),
    TypeError,
    "256",
  );
  assertThrows(
    () => parseJsonl('{"timestamp":1,"arbitrationId":1,"isFd":"yes"}'),
    TypeError,
    "isFd",
  );
  assertThrows(
    () => parseJsonl('{"timestamp":1,"arbitrationId":2048,"isExtendedId":false}'),
    RangeError,
  );
});

Deno.test("readJsonl names the bad line, or reports it and reads on", async () => {
  const text = [
    '{"timestamp":1,"arbitrationId":1}',
    '{"timestamp":1,"arbitrationId":1', // truncated
    "garbage",
    '{"timestamp":1}', // missing column
    '{"timestamp":1,"arbitrationId":2}',
  ].join("\n");
  await assertRejects(() => readAll(text), SyntaxError, "line 2: ");
  const errors: SyntaxError[] = [];
  assertEquals((await readAll(text, errors)).map((f) => f.arbitrationId), [1, 2]);
  assertEquals(errors.map((e) => e.message.split(":")[0]), ["line 2", "line 3", "line 4"]);
  assert(errors[2].cause instanceof TypeError);
  await assertRejects(() => readAll(""), SyntaxError, "line 1: the file is empty");
});

Deno.test("readJsonl reads any text without throwing anything but SyntaxError", async () => {
  await fc.assert(
    fc.asyncProperty(fc.oneof(fc.string(), fc.json()), async (text) => {
      const errors: SyntaxError[] = [];
      await readAll(text, errors);
      assert(errors.every((e) => e instanceof SyntaxError && /^line \d+: /.test(e.message)));
    }),
    { numRuns: 300 },
  );
});
