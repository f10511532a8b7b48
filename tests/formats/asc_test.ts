import fc from "fast-check";
import { AscWriter, readAsc, type ReadAscOptions } from "../../formats/asc.ts";
import { type CanFrame, createFrame } from "../../core/frame.ts";
import { validFrame } from "../_helpers/arbitraries.ts";
import { assert, assertEquals, assertRejects } from "../_helpers/assert.ts";

function memorySink(): { stream: WritableStream<Uint8Array>; text: () => string } {
  const chunks: Uint8Array[] = [];
  const stream = new WritableStream<Uint8Array>({ write: (chunk) => void chunks.push(chunk) });
  const text = () => new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
  return { stream, text };
}

async function readAll(
  text: string,
  options: ReadAscOptions = {},
  errors?: SyntaxError[],
): Promise<CanFrame[]> {
  const onError = errors ? (e: SyntaxError) => void errors.push(e) : undefined;
  return await Array.fromAsync(readAsc(new Blob([text]).stream(), { ...options, onError }));
}

async function write(
  frames: CanFrame[],
  now = new Date(2023, 10, 14, 22, 13, 20, 5),
): Promise<string> {
  const sink = memorySink();
  const writer = new AscWriter(sink.stream, { now });
  for (const frame of frames) await writer.write(frame);
  await writer.close();
  return sink.text();
}

Deno.test("AscWriter writes what python-can 4.1's ASCWriter writes", async () => {
  const t0 = new Date(2023, 10, 14, 22, 13, 20).getTime() / 1000 + 0.25; // local time
  const text = await write([
    createFrame({ timestamp: t0, arbitrationId: 0x123, isExtendedId: false, data: [0x11, 0x22] }),
    createFrame({
      timestamp: t0 + 0.5,
      arbitrationId: 0x1f334455,
      isRemoteFrame: true,
      dlc: 8,
      isRx: false,
      channel: "can1",
    }),
    createFrame({
      timestamp: t0 + 1,
      arbitrationId: 0x123,
      isExtendedId: false,
      isFd: true,
      bitrateSwitch: true,
      data: new Uint8Array(12),
      channel: 0,
    }),
    createFrame({ timestamp: t0 + 1.5, isErrorFrame: true, channel: 5 }),
    createFrame({ timestamp: t0 + 12.000001, arbitrationId: 0x7ff, isExtendedId: false }),
    createFrame({ timestamp: t0 - 3, arbitrationId: 1, isExtendedId: false }),
  ]);
  assertEquals(text.split("\n"), [
    "date Tue Nov 14 10:13:20.005 PM 2023",
    "base hex  timestamps absolute",
    "internal events logged",
    "Begin Triggerblock Tue Nov 14 10:13:20.25 PM 2023",
    " 0.000000 Start of measurement",
    " 0.000000 1  123             Rx   d 2 11 22",
    " 0.500000 2  1F334455x       Tx   r 8 ",
    " 1.000000 CANFD   1 Rx        123                                   1 0 9 12 " +
    "00 00 00 00 00 00 00 00 00 00 00 00        0    0     3000        0        0        0        0        0",
    " 1.500000 1  ErrorFrame",
    " 12.000001 1  7FF             Rx   d 0 ",
    " 0.000000 1  1               Rx   d 0 ", // older than the first frame (python-can writes its absolute time)
    "End TriggerBlock",
    "",
  ]);
});

Deno.test("AscWriter with no frames writes the header and the end", async () => {
  const text = await write([]);
  assertEquals(text.split("\n").slice(1), [
    "base hex  timestamps absolute",
    "internal events logged",
    "End TriggerBlock",
    "",
  ]);
});

Deno.test("AscWriter then readAsc gives the frames back, timestamps relative to the first", async () => {
  const frames = fc.sample(validFrame, { numRuns: 300, seed: 42 })
    .filter((f) => !f.isErrorFrame && !(f.isFd && f.data.length === 0))
    .map((f, i) => ({ ...f, timestamp: 1000 + i * 0.001234, channel: i % 3, isRx: i % 2 === 0 }));
  const back = await readAll(await write(frames));
  assertEquals(back.length, frames.length);
  back.forEach((frame, i) => {
    const f = frames[i];
    const expected = {
      ...f,
      timestamp: parseFloat((f.timestamp - frames[0].timestamp).toFixed(6)),
      data: [...f.data],
    };
    assertEquals({ ...frame, data: [...frame.data] }, expected);
  });
});

Deno.test("readAsc reads hex and dec bases, FD, remote and error frames as python-can does", async () => {
  const text = [
    "date Tue Nov 14 10:13:20.250 pm 2023",
    "base dec  timestamps absolute",
    "no internal events logged",
    "// version 13.0.0",
    "Begin Triggerblock Tue Nov 14 10:13:20.250 pm 2023",
    "   0.000000 Start of measurement",
    "   0.100000 1  Statistic: D 0 R 0 XD 0 XR 0 E 0 O 0 B 0.00%",
    "   0.200000 1  291             Rx   d 2 17 34  Length = 0 BitCount = 0 ID = 291",
    "   0.300000 2  291x            Tx   r 5",
    "   0.400000 2  291             TxRq r",
    "   0.500000 1  ErrorFrame   ECC: 10100010",
    "   0.600000 CANFD   3 Rx        291  MyMessage                   0 1 9 12 1 2 3 4 5 6 7 8 9 10 11 12   0 0 1000 0 0 0 0 0",
    "   0.700000 CANFD   1 Tx ErrorFrame",
    "   0.800000 1  291             Rx   d 12 1 2 3 4 5 6 7 8",
    "End TriggerBlock",
  ].join("\n");
  const frames = await readAll(text);
  assertEquals(frames.length, 7);
  const [data, remote, remoteNoDlc, error, fd, fdError, longDlc] = frames;
  assertEquals(
    [data.timestamp, data.channel, data.arbitrationId, data.isExtendedId, data.isRx, [
      ...data.data,
    ]],
    [0.2, 0, 291, false, true, [17, 34]],
  );
  assertEquals([remote.isRemoteFrame, remote.dlc, remote.isExtendedId, remote.isRx], [
    true,
    5,
    true,
    false,
  ]);
  assertEquals([remoteNoDlc.isRemoteFrame, remoteNoDlc.dlc, remoteNoDlc.isRx], [true, 0, false]);
  assertEquals(
    [error.isErrorFrame, error.arbitrationId, error.isExtendedId, error.channel, error.isRx],
    [true, 0, true, 0, true],
  );
  assertEquals(
    [fd.isFd, fd.channel, fd.bitrateSwitch, fd.errorStateIndicator, fd.dlc, fd.data[11]],
    [true, 2, false, true, 12, 12],
  );
  assertEquals([fdError.isFd, fdError.isErrorFrame, fdError.isRx], [true, true, false]);
  assertEquals([longDlc.dlc, longDlc.data.length], [8, 8]);

  const absolute = await readAll(text, { relativeTimestamp: false });
  const start = new Date(2023, 10, 14, 22, 13, 20).getTime() / 1000 + 0.25;
  assertEquals(absolute[0].timestamp, 0.2 + start);
});

Deno.test("readAsc adds up 'timestamps relative' deltas", async () => {
  const text = [
    "base hex  timestamps relative",
    "Begin Triggerblock",
    "   0.500000 1  1 Rx d 0",
    "   0.250000 1  Statistic: D 0",
    "   0.250000 1  2 Rx d 0",
    "End TriggerBlock",
  ].join("\n");
  assertEquals((await readAll(text)).map((f) => f.timestamp), [0.5, 1]);
});

Deno.test("readAsc reads an empty FD frame as a data frame, not python-can's FD remote frame", async () => {
  const [frame] = await readAll("   1.000000 CANFD   1 Rx 123 0 0 0  0    0 0 1000 0 0 0 0 0\n");
  assertEquals([frame.isFd, frame.isRemoteFrame, frame.dlc], [true, false, 0]);
});

Deno.test("readAsc names the bad line, or reports it and reads on", async () => {
  const text = [
    "base hex  timestamps absolute",
    "   0.100000 1  123 Rx d 8 01 02 03", // truncated
    "   0.200000 1  12G Rx d 1 01", // bad id
    "   0.300000 1  123 Rx d 1 0G", // bad byte
    "   0.400000 1  123 Rx", // missing columns
    "   0.500000 1  123 Rx q 1 01", // unknown frame type
    "   0.600000 CANFD   1 Rx 123 1 0 9 13 00", // no such FD length
    "   0.700000 1  800 Rx d 0", // standard id out of range
    "garbage line",
    "   0.800000 1  124 Rx d 1 01",
  ].join("\n");
  await assertRejects(() => readAll(text), SyntaxError, "line 2: expected 8 data bytes, got 3");
  const errors: SyntaxError[] = [];
  const frames = await readAll(text, {}, errors);
  assertEquals(frames.map((f) => f.arbitrationId), [0x124]);
  assertEquals(errors.map((e) => Number(/^line (\d+): /.exec(e.message)?.[1])), [
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
  ]);
  assert(errors[6].cause instanceof RangeError);
});

Deno.test("readAsc calls an empty file an error, and a bad date in absolute mode", async () => {
  await assertRejects(() => readAll(""), SyntaxError, "line 1: the file is empty");
  await assertRejects(
    () => readAll("date Tue Foo 14 10:13:20 2023\n", { relativeTimestamp: false }),
    SyntaxError,
    "line 1: ",
  );
  assertEquals(await readAll("date Tue Foo 14 10:13:20 2023\n"), []);
});

Deno.test("readAsc reads any bytes without throwing anything but SyntaxError", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.uint8Array({ maxLength: 200 }),
        fc.string({ unit: fc.constantFrom(..." 0123456789.xRrTdCANFDErrorFrame\n".split("")) })
          .map((s) => new TextEncoder().encode(s)),
      ),
      async (bytes) => {
        const errors: SyntaxError[] = [];
        await Array.fromAsync(
          readAsc(new Blob([bytes]).stream(), { onError: (e) => void errors.push(e) }),
        );
        assert(errors.every((e) => e instanceof SyntaxError && /^line \d+: /.test(e.message)));
      },
    ),
    { numRuns: 300 },
  );
});
