import fc from "fast-check";
import { CSV_HEADER, CsvWriter, readCsv } from "../../formats/csv.ts";
import { pythonFloatRepr } from "../../formats/_python.ts";
import { type CanFrame, createFrame, framesEqual } from "../../core/frame.ts";
import { validFrame } from "../_helpers/arbitraries.ts";
import { assert, assertEquals, assertRejects } from "../_helpers/assert.ts";

function memorySink(): { stream: WritableStream<Uint8Array>; text: () => string } {
  const chunks: Uint8Array[] = [];
  const stream = new WritableStream<Uint8Array>({ write: (chunk) => void chunks.push(chunk) });
  const text = () => new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
  return { stream, text };
}

async function readAll(text: string, errors?: SyntaxError[]): Promise<CanFrame[]> {
  const onError = errors ? (e: SyntaxError) => void errors.push(e) : undefined;
  return await Array.fromAsync(readCsv(new Blob([text]).stream(), { onError }));
}

async function write(frames: CanFrame[]): Promise<string> {
  const sink = memorySink();
  const writer = new CsvWriter(sink.stream);
  for (const frame of frames) await writer.write(frame);
  await writer.close();
  return sink.text();
}

Deno.test("pythonFloatRepr matches Python's repr(float)", () => {
  const cases: [number, string][] = [
    [0, "0.0"],
    [5, "5.0"],
    [1700000000.25, "1700000000.25"],
    [0.1, "0.1"],
    [1e-4, "0.0001"],
    [1e-5, "1e-05"],
    [1.5e-7, "1.5e-07"],
    [1e15, "1000000000000000.0"],
    [1e16, "1e+16"],
    [1.2345e22, "1.2345e+22"],
    [-2.5, "-2.5"],
    [123456789.123456789, "123456789.12345679"],
  ];
  for (const [value, repr] of cases) assertEquals(pythonFloatRepr(value), repr, String(value));
});

Deno.test("CsvWriter writes python-can's CSV rows", async () => {
  const text = await write([
    createFrame({
      timestamp: 1700000000.25,
      arbitrationId: 0x123,
      isExtendedId: false,
      data: [1, 2],
    }),
    createFrame({ timestamp: 5, arbitrationId: 0xdadada, isRemoteFrame: true, dlc: 6 }),
    createFrame({
      timestamp: 6,
      arbitrationId: 0x80,
      isExtendedId: false,
      isErrorFrame: true,
      data: new Uint8Array(8),
    }),
    createFrame({
      timestamp: 7,
      arbitrationId: 1,
      isFd: true,
      bitrateSwitch: true,
      data: new Uint8Array(12).fill(255),
    }),
  ]);
  assertEquals(text.split("\n"), [
    CSV_HEADER,
    "1700000000.25,0x123,0,0,0,2,AQI=",
    "5.0,0xdadada,1,1,0,6,",
    "6.0,0x80,0,0,1,8,AAAAAAAAAAA=",
    "7.0,0x1,1,0,0,12,////////////////",
    "",
  ]);
});

Deno.test("CsvWriter then readCsv gives the frames back exactly, FD flags aside", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(validFrame, { maxLength: 20 }), async (frames) => {
      const back = await readAll(await write(frames));
      assertEquals(back.length, frames.length);
      back.forEach((frame, i) => {
        const f = frames[i];
        // The format has no FD columns: only a frame with more than 8 bytes reads back as FD.
        const expected = {
          ...f,
          isFd: f.data.length > 8,
          bitrateSwitch: false,
          errorStateIndicator: false,
        };
        assert(framesEqual(frame, expected), JSON.stringify(f));
      });
    }),
    { numRuns: 100 },
  );
});

Deno.test("readCsv reads python-can's rows, with any line ends", async () => {
  const frames = await readAll(
    `${CSV_HEADER}\r\n1483389946.197,0x00dadada,1,0,0,7,WzQyLCA5XQ==\r\n\r\n0.5,7ff,0,1,0,3,\r\n`,
  );
  assertEquals(frames.length, 2);
  assertEquals(
    [frames[0].timestamp, frames[0].arbitrationId, frames[0].isExtendedId, frames[0].dlc],
    [1483389946.197, 0xdadada, true, 7],
  );
  assertEquals(new TextDecoder().decode(frames[0].data), "[42, 9]");
  assertEquals([frames[1].isRemoteFrame, frames[1].dlc, frames[1].arbitrationId], [true, 3, 0x7ff]);
});

Deno.test("readCsv names the bad line, or reports it and reads on", async () => {
  const text = [
    CSV_HEADER,
    "1.0,0x1,1,0,0,1,AQ==",
    "1.0,0x1,1,0,0,1", // wrong columns
    "x,0x1,1,0,0,1,AQ==", // bad timestamp
    "1.0,0xG,1,0,0,1,AQ==", // bad id
    "1.0,0x1,2,0,0,1,AQ==", // bad flag
    "1.0,0x1,1,0,0,2,AQ==", // dlc and data disagree
    "1.0,0x1,1,0,0,1,A*==", // bad base64
    "1.0,0x800,0,0,0,0,", // standard id out of range
    "2.0,0x2,1,0,0,0,",
  ].join("\n");
  await assertRejects(() => readAll(text), SyntaxError, "line 3: expected 7 columns");
  const errors: SyntaxError[] = [];
  const frames = await readAll(text, errors);
  assertEquals(frames.map((f) => f.arbitrationId), [1, 2]);
  assertEquals(errors.map((e) => Number(/^line (\d+): /.exec(e.message)?.[1])), [
    3,
    4,
    5,
    6,
    7,
    8,
    9,
  ]);
});

Deno.test("readCsv wants the header first and calls an empty file an error", async () => {
  await assertRejects(() => readAll(""), SyntaxError, "line 1: the file is empty");
  await assertRejects(
    () => readAll("1.0,0x1,1,0,0,0,\n"),
    SyntaxError,
    "line 1: expected the header",
  );
  assertEquals(await readAll(CSV_HEADER + "\n"), []);
});

Deno.test("readCsv reads any bytes without throwing anything but SyntaxError", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.string(),
        fc.string({ unit: fc.constantFrom(..."0123456789abx.,=AQ\n".split("")) }),
      )
        .map((s) => CSV_HEADER + "\n" + s),
      async (text) => {
        const errors: SyntaxError[] = [];
        await readAll(text, errors);
        assert(errors.every((e) => e instanceof SyntaxError && /^line \d+: /.test(e.message)));
      },
    ),
    { numRuns: 300 },
  );
});
