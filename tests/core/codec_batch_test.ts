import fc from "fast-check";
import { assert, assertEquals, assertThrows } from "../_helpers/assert.ts";
import { validFrame } from "../_helpers/arbitraries.ts";
import { decodeBinaryBatch, encodeBinaryBatch, encodeFramesBatch } from "../../core/codec_batch.ts";
import { encodeBinary } from "../../core/codec_binary.ts";
import { decodeJson, encodeJson, joinJsonMessages } from "../../core/codec_json.ts";
import { decodeEvent, encodeEvent } from "../../core/codec.ts";
import { createFrame, framesEqual } from "../../core/frame.ts";
import { BINARY_PROTOCOL, JSON_PROTOCOL } from "../../core/protocol.ts";

const sameFrames = (a: ReturnType<typeof createFrame>[], b: ReturnType<typeof createFrame>[]) =>
  a.length === b.length && a.every((f, i) => framesEqual(f, b[i]));

Deno.test("encodeBinaryBatch/decodeBinaryBatch: every list of valid frames round-trips", () => {
  fc.assert(
    fc.property(fc.array(validFrame, { minLength: 1, maxLength: 40 }), (frames) => {
      assert(sameFrames(decodeBinaryBatch(encodeFramesBatch(frames)), frames));
      const event = decodeEvent(encodeEvent({ type: "message_batch", frames }, BINARY_PROTOCOL));
      assert(event.type === "message_batch" && sameFrames(event.frames, frames));
    }),
  );
});

Deno.test("JSON message_batch: joined message texts decode to the same frames", () => {
  fc.assert(
    fc.property(fc.array(validFrame, { minLength: 1, maxLength: 40 }), (frames) => {
      const joined = joinJsonMessages(
        frames.map((frame) => encodeJson({ type: "message", frame })),
      );
      assertEquals(joined, encodeEvent({ type: "message_batch", frames }, JSON_PROTOCOL));
      const event = decodeJson(joined);
      assert(event.type === "message_batch" && sameFrames(event.frames, frames));
      // what python's json module reads: a list of ordinary message payloads
      assertEquals(
        JSON.parse(joined).payload,
        frames.map((frame) => JSON.parse(encodeJson({ type: "message", frame })).payload),
      );
    }),
  );
});

Deno.test("batches: bad input throws the documented errors, naming the message", () => {
  const one = encodeBinary(createFrame({ arbitrationId: 1, data: [1, 2] }));
  assertThrows(() => encodeBinaryBatch([]), RangeError, "at least one");
  assertThrows(() => encodeBinaryBatch([new Uint8Array(3)]), RangeError, "15-255 bytes");
  assertThrows(() => decodeBinaryBatch(new Uint8Array([0x80])), RangeError, "at least one");
  assertThrows(() => decodeBinaryBatch(one), RangeError, "type byte 0x80, got 1");
  const truncated = encodeBinaryBatch([one, one]).subarray(0, 20);
  assertThrows(() => decodeBinaryBatch(truncated), RangeError, "Message 1 of the batch claims");
  const badInside = encodeBinaryBatch([one]);
  badInside[2] = 7; // the message's own type byte
  assertThrows(() => decodeBinaryBatch(badInside), RangeError, "Message 0 of the batch:");
  assertThrows(
    () => decodeJson('{"type": "message_batch", "payload": []}'),
    TypeError,
    "non-empty list",
  );
  assertThrows(
    () => decodeJson('{"type": "message_batch", "payload": [{"arbitration_id": -1}]}'),
    RangeError,
    "Message 0 of the batch",
  );
  assertThrows(() => joinJsonMessages(['{"type": "error", "payload": "x"}']), RangeError);
});

Deno.test("batches: random bytes behind the batch type byte only throw documented errors", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (tail) => {
      const bytes = new Uint8Array([0x80, ...tail]);
      try {
        const event = decodeEvent(bytes);
        assert(event.type === "message_batch" && event.frames.length > 0);
      } catch (error) {
        assert(error instanceof RangeError || error instanceof TypeError, String(error));
      }
    }),
  );
});
