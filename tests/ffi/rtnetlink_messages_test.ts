// rtnetlink encoding and decoding (ffi/rtnetlink_messages.ts) against what a
// real kernel answered (recorded in the VM: tests/_data/rtm_newlink.json).
import { assertEquals, assertThrows } from "../_helpers/assert.ts";
import {
  CAN_CTRLMODE_FD,
  CAN_CTRLMODE_LISTENONLY,
  decodeAck,
  decodeLink,
  encodeSetLink,
} from "../../ffi/rtnetlink_messages.ts";

const recorded = JSON.parse(
  await Deno.readTextFile(new URL("../_data/rtm_newlink.json", import.meta.url)),
);
const bytes = (hex: string) => Uint8Array.from(hex.match(/../g)!, (b) => parseInt(b, 16));

Deno.test("decodeLink: an SJA1000 controller as the kernel describes it", () => {
  const link = decodeLink(bytes(recorded.can0));
  if ("errno" in link) throw new Error(`errno ${link.errno}`);
  assertEquals(link.name, "can0");
  assertEquals(link.kind, "can");
  assertEquals(link.up, true);
  assertEquals(link.mtu, 16);
  assertEquals(link.state, "ERROR_ACTIVE");
  assertEquals(link.bitrate, 250000);
  assertEquals(link.samplePoint, 0.875);
  assertEquals(link.dataBitrate, null);
  assertEquals(link.restartMs, 100);
  assertEquals(link.ctrlmode, 0);
  assertEquals(link.berr, { tx: 0, rx: 0 });
  assertEquals(link.deviceStats, {
    busError: 0,
    errorWarning: 0,
    errorPassive: 0,
    busOff: 0,
    arbitrationLost: 0,
    restarts: 0,
  });
  assertEquals(link.stats?.txPackets, 1); // cansend can0 123#11
});

Deno.test("decodeLink: a vcan has no controller data", () => {
  const link = decodeLink(bytes(recorded.vcan0));
  if ("errno" in link) throw new Error(`errno ${link.errno}`);
  assertEquals([link.name, link.kind, link.mtu, link.up], ["vcan0", "vcan", 72, true]);
  assertEquals([link.state, link.bitrate, link.berr, link.deviceStats], [null, null, null, null]);
});

Deno.test("decodeLink: truncated or foreign bytes are a SyntaxError, never a half link", () => {
  const full = bytes(recorded.can0);
  for (const cut of [0, 8, 16, 31]) {
    assertThrows(() => decodeLink(full.subarray(0, cut)), SyntaxError, "No RTM_NEWLINK");
  }
  // Attributes cut anywhere still decode what is whole, without throwing.
  for (let cut = 32; cut < full.length; cut += 7) {
    const copy = full.slice(0, cut);
    new DataView(copy.buffer).setUint32(0, cut, true);
    decodeLink(copy);
  }
});

Deno.test("encodeSetLink: the can link info ip link sends, in the kernel's layout", () => {
  const b = encodeSetLink(4, 9, { bitrate: 500000, fd: true, dataBitrate: 2000000, up: true });
  const v = new DataView(b.buffer);
  assertEquals(v.getUint32(0, true), b.length); // nlmsg_len
  assertEquals([v.getUint16(4, true), v.getUint16(6, true), v.getUint32(8, true)], [16, 5, 9]);
  assertEquals([v.getInt32(20, true), v.getUint32(24, true), v.getUint32(28, true)], [4, 1, 1]);
  // IFLA_LINKINFO { IFLA_INFO_KIND "can", IFLA_INFO_DATA { CTRLMODE, BITTIMING, DATA_BITTIMING } }
  assertEquals(v.getUint16(34, true) & 0x3fff, 18);
  assertEquals(new TextDecoder().decode(b.subarray(40, 43)), "can");
  assertEquals(v.getUint16(46, true) & 0x3fff, 2); // IFLA_INFO_DATA
  assertEquals([v.getUint16(50, true), v.getUint32(52, true), v.getUint32(56, true)], [
    5,
    CAN_CTRLMODE_FD,
    CAN_CTRLMODE_FD,
  ]);
  assertEquals([v.getUint16(62, true), v.getUint32(64, true)], [1, 500000]);
  assertEquals([v.getUint16(98, true), v.getUint32(100, true)], [9, 2000000]);
  assertEquals(b.length, 132);
  const off = new DataView(encodeSetLink(4, 1, { listenOnly: false }).buffer);
  assertEquals([off.getUint32(52, true), off.getUint32(56, true)], [CAN_CTRLMODE_LISTENONLY, 0]);
  assertEquals(encodeSetLink(4, 1, { up: false }).length, 32); // flags only: no link info
  assertThrows(
    () => encodeSetLink(4, 1, { bitrate: 0 }),
    RangeError,
    "bitrate must be a positive integer",
  );
  assertThrows(() => encodeSetLink(4, 1, { restartMs: -1 }), RangeError, "restartMs");
});

Deno.test("decodeAck: the kernel's error and its extended message", () => {
  // NLMSG_ERROR, seq 3, -EOPNOTSUPP, the request header, then NLMSGERR_ATTR_MSG.
  const msg = new TextEncoder().encode("bitrate error\0");
  const len = 16 + 4 + 16 + 4 + 16;
  const b = new Uint8Array(len);
  const v = new DataView(b.buffer);
  v.setUint32(0, len, true);
  v.setUint16(4, 2, true);
  v.setUint16(6, 0x100 | 0x200, true); // NLM_F_CAPPED | NLM_F_ACK_TLVS
  v.setUint32(8, 3, true);
  v.setInt32(16, -95, true);
  v.setUint32(20, 16, true);
  v.setUint16(36, 4 + 14, true);
  v.setUint16(38, 1, true);
  b.set(msg, 40);
  assertEquals(decodeAck(b, 3), { errno: 95, message: "bitrate error" });
  assertEquals(decodeAck(b, 4), undefined);
});
