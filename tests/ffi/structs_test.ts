import fc from "fast-check";
import { assert, assertEquals, assertThrows } from "../_helpers/assert.ts";
import { validFrame } from "../_helpers/arbitraries.ts";
import { type CanFilter, matchesFilters } from "../../core/bus.ts";
import { createFrame, framesEqual } from "../../core/frame.ts";
import {
  CAN_EFF_FLAG,
  CAN_FILTER_SIZE,
  CAN_MTU,
  CAN_RAW_FILTER_MAX,
  CANFD_MTU,
  decodeCanFilters,
  decodeCanFrame,
  decodeSockaddrCan,
  encodeCanFilters,
  encodeCanFrame,
  encodeSockaddrCan,
} from "../../ffi/structs.ts";

const hex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");

Deno.test("encodeCanFrame: the bytes cansend writes for 123#DEADBEEF and 1ABCDEF0#R3", () => {
  const classic = encodeCanFrame(
    createFrame({ arbitrationId: 0x123, isExtendedId: false, data: [0xde, 0xad, 0xbe, 0xef] }),
  );
  assertEquals(hex(classic), "23010000" + "04000000" + "deadbeef00000000");
  const remote = encodeCanFrame(
    createFrame({ arbitrationId: 0x1abcdef0, isRemoteFrame: true, dlc: 3 }),
  );
  assertEquals(hex(remote), "f0debcda" + "03000000" + "0000000000000000");
});

Deno.test("encodeCanFrame: a CAN FD frame is a 72-byte canfd_frame with BRS and ESI flags", () => {
  const bytes = encodeCanFrame(createFrame({
    arbitrationId: 0x321,
    isExtendedId: false,
    isFd: true,
    bitrateSwitch: true,
    errorStateIndicator: true,
    data: Array.from({ length: 12 }, (_, i) => i + 1),
  }));
  assertEquals(bytes.length, CANFD_MTU);
  assertEquals(hex(bytes.subarray(0, 20)), "21030000" + "0c030000" + "0102030405060708090a0b0c");
  assert(bytes.subarray(20).every((b) => b === 0));
});

Deno.test("encodeCanFrame: an error frame carries CAN_ERR_FLAG; invalid frames are refused", () => {
  const bytes = encodeCanFrame(
    createFrame({ arbitrationId: 0x40, isExtendedId: false, isErrorFrame: true, data: [0, 0, 4] }),
  );
  assertEquals(hex(bytes.subarray(0, 4)), "40000020");
  assertThrows(
    () => encodeCanFrame(createFrame({ arbitrationId: 0x800, isExtendedId: false })),
    RangeError,
  );
});

Deno.test("decodeCanFrame: a kernel FD frame with CANFD_FDF set, and the options copied in", () => {
  const bytes = new Uint8Array(CANFD_MTU);
  bytes.set([0x21, 0x03, 0, 0, 12, 0x05, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  const frame = decodeCanFrame(bytes, { timestamp: 12.5, channel: "vcan0", isRx: false });
  assertEquals(frame, {
    ...createFrame({
      arbitrationId: 0x321,
      isExtendedId: false,
      isFd: true,
      bitrateSwitch: true,
      data: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
      timestamp: 12.5,
    }),
    channel: "vcan0",
    isRx: false,
  });
});

Deno.test("decodeCanFrame: a remote frame has a dlc and no data", () => {
  const bytes = new Uint8Array(CAN_MTU);
  bytes.set([0xff, 0x07, 0, 0x40, 8]);
  const frame = decodeCanFrame(bytes);
  assertEquals([frame.isRemoteFrame, frame.dlc, frame.data.length], [true, 8, 0]);
});

Deno.test("decodeCanFrame: wrong sizes and lengths are RangeErrors quoting the value", () => {
  assertThrows(() => decodeCanFrame(new Uint8Array(20)), RangeError, "20 bytes");
  const classic = new Uint8Array(CAN_MTU);
  classic[4] = 9;
  assertThrows(() => decodeCanFrame(classic), RangeError, "got 9");
  const fd = new Uint8Array(CANFD_MTU);
  fd[4] = 13;
  assertThrows(() => decodeCanFrame(fd), RangeError, "13 bytes");
});

Deno.test("property: decodeCanFrame(encodeCanFrame(f)) equals f for every valid frame", () => {
  fc.assert(fc.property(validFrame, (frame) => {
    const decoded = decodeCanFrame(encodeCanFrame(frame), { timestamp: frame.timestamp });
    return framesEqual(decoded, frame);
  }));
});

Deno.test("property: decodeCanFrame on random bytes only ever throws RangeError", () => {
  const bytes = fc.oneof(
    fc.uint8Array({ minLength: CAN_MTU, maxLength: CAN_MTU }),
    fc.uint8Array({ minLength: CANFD_MTU, maxLength: CANFD_MTU }),
    fc.uint8Array({ maxLength: 100 }),
  );
  fc.assert(fc.property(bytes, (input) => {
    try {
      const frame = decodeCanFrame(input);
      return frame.data.length <= (frame.isFd ? 64 : 8);
    } catch (error) {
      return error instanceof RangeError;
    }
  }));
});

Deno.test("sockaddr_can: 24 bytes, AF_CAN then the index after padding; bad indexes refused", () => {
  const bytes = encodeSockaddrCan(0x01020304);
  assertEquals(hex(bytes), "1d000000" + "04030201" + "00".repeat(16));
  assertEquals(decodeSockaddrCan(bytes), { family: 29, ifindex: 0x01020304 });
  assertThrows(() => encodeSockaddrCan(-1), RangeError, "-1");
  assertThrows(() => decodeSockaddrCan(new Uint8Array(8)), RangeError, "8");
});

Deno.test("encodeCanFilters: none means one pass-all filter; extended sets CAN_EFF_FLAG", () => {
  for (const none of [undefined, null, []]) {
    assertEquals(hex(encodeCanFilters(none)), "0000000000000000");
  }
  const bytes = encodeCanFilters([
    { canId: 0x123, canMask: 0x7ff },
    { canId: 0x100, canMask: 0x700, extended: false },
    { canId: 0x1abcdef0, canMask: 0x1fffffff, extended: true },
  ]);
  const view = new DataView(bytes.buffer);
  const pairs = [0, 1, 2].map((
    i,
  ) => [view.getUint32(i * 8, true), view.getUint32(i * 8 + 4, true)]);
  assertEquals(pairs, [
    [0x123, 0x7ff],
    [0x100, (0x700 | CAN_EFF_FLAG) >>> 0],
    [(0x1abcdef0 | CAN_EFF_FLAG) >>> 0, 0x9fffffff],
  ]);
});

Deno.test("encodeCanFilters: a filter no id can pass is left out; too many are refused", () => {
  assertEquals(encodeCanFilters([{ canId: 0x80000000, canMask: 0x80000000 }]).length, 0);
  const many = Array.from({ length: CAN_RAW_FILTER_MAX + 1 }, () => ({ canId: 0, canMask: 0 }));
  assertThrows(() => encodeCanFilters(many), RangeError, String(CAN_RAW_FILTER_MAX + 1));
  assertThrows(() => decodeCanFilters(new Uint8Array(12)), RangeError, "12");
});

const filter29: fc.Arbitrary<CanFilter> = fc.record({
  canId: fc.nat({ max: 0x1fffffff }),
  canMask: fc.nat({ max: 0x1fffffff }),
  extended: fc.option(fc.boolean(), { nil: undefined }),
}).map((f) => (f.extended === undefined ? { canId: f.canId, canMask: f.canMask } : { ...f }));

Deno.test("property: decodeCanFilters(encodeCanFilters(fs)) equals fs for 29-bit ids and masks", () => {
  fc.assert(fc.property(fc.array(filter29, { minLength: 1, maxLength: 20 }), (filters) => {
    assertEquals(decodeCanFilters(encodeCanFilters(filters)), filters);
  }));
});

// raw_rcv() of net/can/raw.c through af_can.c's find_rcv_list: a frame passes
// a filter when (can_id & mask) == (filter.can_id & mask).
function kernelPasses(frame: Uint8Array, filters: Uint8Array): boolean {
  const id = new DataView(frame.buffer).getUint32(0, true);
  const view = new DataView(filters.buffer);
  for (let offset = 0; offset < filters.length; offset += CAN_FILTER_SIZE) {
    const fid = view.getUint32(offset, true);
    const mask = view.getUint32(offset + 4, true);
    if (((id & mask) >>> 0) === ((fid & mask) >>> 0)) return true;
  }
  return false;
}

Deno.test("property: the kernel filters encoded pass exactly the frames matchesFilters passes", () => {
  const anyFilter = fc.record({
    canId: fc.oneof(fc.nat({ max: 0x7ff }), fc.nat({ max: 0xffffffff })),
    canMask: fc.oneof(
      fc.constantFrom(0, 0x7ff, 0x1fffffff, 0xffffffff),
      fc.nat({ max: 0xffffffff }),
    ),
    extended: fc.option(fc.boolean(), { nil: undefined }),
  });
  const dataFrame = validFrame.filter((f) => !f.isErrorFrame);
  fc.assert(
    fc.property(fc.array(anyFilter, { maxLength: 4 }), dataFrame, (filters, frame) => {
      const list = filters.map((
        f,
      ) => (f.extended === undefined ? { canId: f.canId, canMask: f.canMask } : f));
      const kernel = kernelPasses(encodeCanFrame(frame), encodeCanFilters(list));
      assertEquals(kernel, matchesFilters(frame, list));
    }),
    { numRuns: 2000 },
  );
});

Deno.test("ffi modules import without permissions: libraries open on first use", async () => {
  const modules = ["socketcan_bus.ts", "libsocketcan.ts", "errno.ts", "structs.ts"]
    .map((name) => `import ${JSON.stringify(new URL(`../../ffi/${name}`, import.meta.url).href)};`);
  const code = `${modules.join("\n")}\nconsole.log("imported");`;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--no-config", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = output.stdin.getWriter();
  await writer.write(new TextEncoder().encode(code));
  await writer.close();
  const { success, stdout, stderr } = await output.output();
  assert(success, new TextDecoder().decode(stderr));
  assertEquals(new TextDecoder().decode(stdout), "imported\n");
});
