import fc from "fast-check";
import { CandumpLogWriter, readCandumpLog } from "../../formats/candump_log.ts";
import { type CanFrame, createFrame, framesEqual } from "../../core/frame.ts";
import { validFrame } from "../_helpers/arbitraries.ts";
import { assert, assertEquals, assertRejects } from "../_helpers/assert.ts";

function memorySink(): {
  stream: WritableStream<Uint8Array>;
  text: () => string;
  closed: () => boolean;
} {
  const chunks: Uint8Array[] = [];
  let closed = false;
  const stream = new WritableStream<Uint8Array>({
    write: (chunk) => void chunks.push(chunk),
    close: () => void (closed = true),
  });
  const text = () => new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
  return { stream, text, closed: () => closed };
}

const streamOf = (text: string) => new Blob([text]).stream();

async function readAll(text: string, errors?: SyntaxError[]): Promise<CanFrame[]> {
  const onError = errors ? (e: SyntaxError) => void errors.push(e) : undefined;
  return await Array.fromAsync(readCandumpLog(streamOf(text), { onError }));
}

const microFrame = validFrame.map((f) => ({
  ...f,
  timestamp: Math.round(f.timestamp * 1e6) / 1e6,
}));

Deno.test("CandumpLogWriter then readCandumpLog gives the frames back to the microsecond", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(microFrame, { maxLength: 30 }), async (frames) => {
      const sink = memorySink();
      const writer = new CandumpLogWriter(sink.stream, { channel: "can1" });
      for (const frame of frames) await writer.write(frame);
      await writer.close();
      assert(sink.closed());
      const back = frames.length ? await readAll(sink.text()) : [];
      assertEquals(back.length, frames.length);
      back.forEach((frame, i) => {
        assert(framesEqual(frame, frames[i]), `${JSON.stringify(frames[i])}`);
        assertEquals(frame.channel, "can1");
      });
    }),
    { numRuns: 100 },
  );
});

Deno.test("CandumpLogWriter writes candump -L lines and keeps channels and directions", async () => {
  const sink = memorySink();
  const writer = new CandumpLogWriter(sink.stream);
  const base = {
    timestamp: 1700000000.25,
    arbitrationId: 0x123,
    isExtendedId: false,
    data: [0x11],
  };
  await writer.write(createFrame(base));
  await writer.write(createFrame({ ...base, channel: 2, isRx: false }));
  await writer.write(
    createFrame({ ...base, channel: "vcan1", isRx: true, isFd: true, bitrateSwitch: true }),
  );
  await writer.close();
  assertEquals(
    sink.text(),
    "(1700000000.250000) vcan0 123#11\n" +
      "(1700000000.250000) can2 123#11 T\n" +
      "(1700000000.250000) vcan1 123##111 R\n",
  );
});

Deno.test("CandumpLogWriter loses no frame on close, even past its buffer", async () => {
  const sink = memorySink();
  const writer = new CandumpLogWriter(sink.stream);
  const count = 5000; // about 200 KB: several buffer flushes
  const writes = [];
  for (let i = 0; i < count; i++) {
    writes.push(
      writer.write(
        createFrame({
          timestamp: i,
          arbitrationId: i & 0x7ff,
          isExtendedId: false,
          data: [i & 0xff],
        }),
      ),
    );
  }
  await Promise.all(writes);
  await writer.close();
  const frames = await readAll(sink.text());
  assertEquals(frames.length, count);
  assertEquals(frames[count - 1].timestamp, count - 1);
  await assertRejects(() => writer.write(createFrame()), TypeError, "closed");
  await writer.close(); // a second close does nothing
});

Deno.test("CandumpLogWriter.flush hands buffered lines to the sink", async () => {
  const sink = memorySink();
  await using writer = new CandumpLogWriter(sink.stream);
  await writer.write(createFrame({ arbitrationId: 1, isExtendedId: false }));
  assertEquals(sink.text(), "");
  await writer.flush();
  assertEquals(sink.text(), "(0000000000.000000) vcan0 001#\n");
});

Deno.test("CandumpLogWriter rejects invalid frames", async () => {
  const writer = new CandumpLogWriter(memorySink().stream);
  await assertRejects(
    () => writer.write(createFrame({ arbitrationId: 0x800, isExtendedId: false })),
    RangeError,
  );
  await assertRejects(() => writer.write(createFrame({ timestamp: -1 })), RangeError);
  await writer.close();
});

Deno.test("readCandumpLog reads python-can's and candump's lines", async () => {
  const frames = await readAll(
    [
      "(1700000000.250000) vcan0 123#11223344 R", // python-can CanutilsLogWriter
      "(0.500000) can0 1F334455#R T",
      "",
      "DROPCOUNT: dropped 3 CAN frames on 'can0' socket (total drops 3)", // candump -l
      "(1700000001.000000)  can10 20000080#0000000000000000", // padded channel
      "(1700000001.000000) 5 123##3AABB\r",
    ].join("\n"),
  );
  assertEquals(frames.length, 4);
  assertEquals([frames[0].isRx, frames[0].channel, frames[0].dlc], [true, "vcan0", 4]);
  assertEquals([frames[1].isRx, frames[1].isRemoteFrame, frames[1].timestamp], [false, true, 0.5]);
  assertEquals([frames[2].isErrorFrame, frames[2].channel], [true, "can10"]);
  assertEquals([frames[3].channel, frames[3].bitrateSwitch, frames[3].errorStateIndicator], [
    5,
    true,
    true,
  ]);
});

Deno.test("readCandumpLog names the bad line, or reports it and reads on", async () => {
  const text = [
    "(1.000000) vcan0 123#11",
    "(1.000000) vcan0 123#1", // truncated byte
    "(2.000000) vcan0", // missing column
    "garbage",
    "(3.000000) vcan0 800#00", // standard id out of range
    "(4.000000) vcan0 124#22",
  ].join("\n");
  await assertRejects(() => readAll(text), SyntaxError, "line 2: ");
  const errors: SyntaxError[] = [];
  const frames = await readAll(text, errors);
  assertEquals(frames.map((f) => f.arbitrationId), [0x123, 0x124]);
  assertEquals(errors.map((e) => e.message.split(":")[0]), [
    "line 2",
    "line 3",
    "line 4",
    "line 5",
  ]);
  assert(errors.every((e) => e instanceof SyntaxError));
  assert(errors[3].message.includes("800#00"));
  assert(errors[3].cause instanceof RangeError);
});

Deno.test("readCandumpLog calls an empty file an error", async () => {
  await assertRejects(() => readAll(""), SyntaxError, "line 1: the file is empty");
  const errors: SyntaxError[] = [];
  assertEquals(await readAll("\n\n", errors), []);
  assertEquals(errors.length, 1);
});

Deno.test("readCandumpLog reads any bytes without throwing anything but SyntaxError", async () => {
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), async (bytes) => {
      const errors: SyntaxError[] = [];
      await Array.fromAsync(
        readCandumpLog(new Blob([bytes]).stream(), { onError: (e) => void errors.push(e) }),
      );
      assert(errors.every((e) => e instanceof SyntaxError && /^line \d+: /.test(e.message)));
    }),
    { numRuns: 200 },
  );
});
