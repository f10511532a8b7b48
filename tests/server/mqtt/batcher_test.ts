import { assert, assertEquals, assertThrows } from "../../_helpers/assert.ts";
import { FrameBatcher } from "../../../server/mqtt/batcher.ts";
import { decodeBinaryBatch } from "../../../core/codec_batch.ts";
import { createFrame } from "../../../core/frame.ts";
import { frameFields } from "../../_helpers/bus_conformance.ts";

const fd = (i: number) =>
  createFrame({ arbitrationId: i, isFd: true, data: new Uint8Array(64).fill(i & 0xff) });

Deno.test("FrameBatcher: a saturated bus fills 16 KiB batches, never larger, nothing lost", () => {
  const batches: Uint8Array[] = [];
  const counts: number[] = [];
  const batcher = new FrameBatcher((batch, frames) => {
    batches.push(batch);
    counts.push(frames);
  });
  const sent = Array.from({ length: 1000 }, (_, i) => fd(i));
  for (const frame of sent) batcher.push(frame);
  batcher.flush();
  // 64-byte FD frames take 80 bytes each: 204 of them fit behind the type byte
  assertEquals(counts.slice(0, 4), [204, 204, 204, 204]);
  assert(batches.every((b) => b.length <= 16384));
  const got = batches.flatMap((b) => decodeBinaryBatch(b));
  assertEquals(got.map(frameFields), sent.map(frameFields));
  assertEquals(batcher.pending, 0);
});

Deno.test("FrameBatcher: a lone frame leaves after the flush interval", async () => {
  const { promise, resolve } = Promise.withResolvers<number>();
  const batcher = new FrameBatcher((_batch, frames) => resolve(frames), { flushInterval: 10 });
  batcher.push(createFrame({ arbitrationId: 1 }));
  batcher.push(createFrame({ arbitrationId: 2 }));
  assertEquals(await promise, 2);
  batcher.close();
});

Deno.test("FrameBatcher: close() discards and stops the timer; bad options are refused", () => {
  let emitted = 0;
  const batcher = new FrameBatcher(() => emitted++);
  batcher.push(createFrame({ arbitrationId: 1 }));
  batcher.close();
  batcher.flush();
  assertEquals(emitted, 0);
  assertThrows(() => new FrameBatcher(() => {}, { maxBytes: 50 }), RangeError, "maxBytes");
  assertThrows(() => new FrameBatcher(() => {}, { flushInterval: -1 }), RangeError);
});
