import {
  createLogWriter,
  LOG_FORMATS,
  logFormatOf,
  openLogWriter,
  readLog,
  readLogFile,
} from "../../formats/log_file.ts";
import { type CanFrame, createFrame, framesEqual } from "../../core/frame.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "../_helpers/assert.ts";

const FRAMES: CanFrame[] = Array.from({ length: 300 }, (_, i) =>
  createFrame({
    timestamp: 1700000000 + i / 8,
    arbitrationId: 0x100 + i,
    isExtendedId: i % 2 === 0,
    data: [i & 0xff, 1, 2, 3],
  }));

Deno.test("logFormatOf picks the format by extension, with .gz", () => {
  assertEquals(logFormatOf("a/b/trace.log"), { format: "log", gzip: false });
  assertEquals(logFormatOf("trace.ASC"), { format: "asc", gzip: false });
  assertEquals(logFormatOf("x.y/trace.csv.gz"), { format: "csv", gzip: true });
  assertEquals(logFormatOf(new URL("file:///tmp/t.jsonl")), { format: "jsonl", gzip: false });
  for (const bad of ["trace.blf", "trace", "trace.gz", "log", "trace.log.zip", "dir.log/trace"]) {
    assertThrows(() => logFormatOf(bad), RangeError, JSON.stringify(bad));
  }
});

Deno.test("openLogWriter and readLogFile round-trip every format, plain and gzipped", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const format of LOG_FORMATS) {
      for (const suffix of ["", ".gz"]) {
        const path = `${dir}/trace.${format}${suffix}`;
        const writer = await openLogWriter(path, { channel: "can0" });
        for (const frame of FRAMES) await writer.write(frame);
        await writer.close();
        const bytes = await Deno.readFile(path);
        if (suffix) assertEquals([bytes[0], bytes[1]], [0x1f, 0x8b]); // gzip magic
        const back = await Array.fromAsync(readLogFile(path));
        assertEquals(back.length, FRAMES.length, path);
        const t0 = format === "asc" ? FRAMES[0].timestamp : 0;
        back.forEach((frame, i) => {
          const expected = { ...FRAMES[i], timestamp: FRAMES[i].timestamp - t0 };
          assert(framesEqual(frame, expected), `${path} #${i}: ${JSON.stringify(frame)}`);
        });
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writers keep the order of frames written without awaiting each write", async () => {
  for (const format of LOG_FORMATS) {
    const chunks: Uint8Array[] = [];
    const writer = createLogWriter(
      format,
      new WritableStream({ write: (c) => void chunks.push(c) }),
    );
    const writes = FRAMES.map((frame) => writer.write(frame));
    await Promise.all([...writes, writer.close()]);
    const back = await Array.fromAsync(readLog(format, new Blob(chunks as BlobPart[]).stream()));
    const t0 = format === "asc" ? FRAMES[0].timestamp : 0;
    assertEquals(back.map((f) => f.timestamp), FRAMES.map((f) => f.timestamp - t0), format);
  }
});

Deno.test("readLogFile closes the file when reading stops early or fails", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const name of ["t.log", "t.log.gz"]) {
      const path = `${dir}/${name}`;
      const writer = await openLogWriter(path);
      for (const frame of FRAMES) await writer.write(frame);
      await writer.close();
      for await (const frame of readLogFile(path)) {
        assertEquals(frame.arbitrationId, 0x100);
        break;
      }
    }
    await Deno.writeTextFile(`${dir}/bad.log`, "(1.0) vcan0 123#00\nnonsense\n");
    await assertRejects(
      () => Array.fromAsync(readLogFile(`${dir}/bad.log`)),
      SyntaxError,
      "line 2: ",
    );
    const errors: SyntaxError[] = [];
    const frames = await Array.fromAsync(
      readLogFile(`${dir}/bad.log`, { onError: (e) => void errors.push(e) }),
    );
    assertEquals([frames.length, errors.length], [1, 1]);
    await Deno.writeFile(`${dir}/bad.csv.gz`, new Uint8Array([1, 2, 3, 4]));
    await assertRejects(() => Array.fromAsync(readLogFile(`${dir}/bad.csv.gz`)), TypeError);
    await assertRejects(
      () => Array.fromAsync(readLogFile(`${dir}/missing.log`)),
      Deno.errors.NotFound,
    );
    await assertRejects(() => Array.fromAsync(readLogFile(`${dir}/x.txt`)), RangeError, "x.txt");
    await assertRejects(() => openLogWriter(`${dir}/x.blf`), RangeError, "x.blf");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("createLogWriter and readLog work on any stream", async () => {
  const chunks: Uint8Array[] = [];
  const writer = createLogWriter("asc", new WritableStream({ write: (c) => void chunks.push(c) }), {
    channel: "can2",
    now: new Date(0),
  });
  await writer.write(createFrame({ timestamp: 1, arbitrationId: 1, isExtendedId: false }));
  await writer.close();
  const [frame] = await Array.fromAsync(readLog("asc", new Blob(chunks as BlobPart[]).stream()));
  assertEquals(frame.channel, 2);
  assertThrows(() => createLogWriter("blf" as "log", new WritableStream()), RangeError, "blf");
});
