// The web page's models, without a browser: filters, bus load, the
// recording, the per-ID table and the exports.
import { assert, assertEquals, assertThrows } from "../_helpers/assert.ts";
import { createFrame } from "../../core/frame.ts";
import { parseCandump } from "../../core/candump.ts";
import { compileFilter, parseIdFilter, searchText } from "../../web/frame_filter.ts";
import { frameBits, frameDuration } from "../../web/bus_load.ts";
import { TraceStore } from "../../web/trace_store.ts";
import { IdTable, rowsToCsv, sortRows } from "../../web/id_table.ts";
import { logChannelName, toCandumpLog } from "../../web/log_export.ts";
import { formatData, formatId, formatTime, parseHexBytes } from "../../web/format.ts";

const std = (arbitrationId: number, data: number[] = []) =>
  createFrame({ arbitrationId, isExtendedId: false, data });

Deno.test("parseIdFilter: single ids, ranges, id/mask, exclusions", () => {
  const pass = parseIdFilter("0x100-0x10F 7E0/7F8 18FEF100 !105")!;
  const ids = [0x100, 0x105, 0x10f, 0x110, 0x7e7, 0x7e8, 0x18fef100];
  assertEquals(ids.filter((id) => pass(createFrame({ arbitrationId: id }))), [
    0x100,
    0x10f,
    0x7e7,
    0x18fef100,
  ]);
  const only = parseIdFilter("!7DF")!;
  assert(only(std(0x123)) && !only(std(0x7df)));
  assertEquals(parseIdFilter("  ,, "), null);
});

Deno.test("parseIdFilter: bad terms are SyntaxError or RangeError quoting the term", () => {
  assertThrows(() => parseIdFilter("12G"), SyntaxError, '"12G"');
  assertThrows(() => parseIdFilter("1-2-3"), SyntaxError, '"1-2-3"');
  assertThrows(() => parseIdFilter("200-100"), RangeError, '"200-100"');
  assertThrows(() => parseIdFilter("20000000"), RangeError, '"20000000"');
});

Deno.test("compileFilter: kinds, id formats and text search combine", () => {
  const frames = [
    std(0x1, [0xca, 0xfe]),
    createFrame({ arbitrationId: 0x2, isFd: true, bitrateSwitch: true, data: [1] }),
    createFrame({ arbitrationId: 0x3, isExtendedId: false, isRemoteFrame: true, dlc: 2 }),
    createFrame({
      arbitrationId: 0x4,
      isExtendedId: false,
      isErrorFrame: true,
      data: new Uint8Array(8),
    }),
  ];
  const ids = (pass: ((f: typeof frames[0]) => boolean) | null) =>
    frames.filter((f) => pass === null || pass(f)).map((f) => f.arbitrationId);
  assertEquals(ids(compileFilter({ kinds: ["data", "err"] })), [1, 4]);
  assertEquals(ids(compileFilter({ standard: false })), [2, 4]);
  assertEquals(ids(compileFilter({ extended: false, kinds: ["fd", "rtr"] })), [3]);
  assertEquals(ids(compileFilter({ search: " Ca Fe " })), [1]);
  assertEquals(ids(compileFilter({ search: "brs" })), [2]);
  assertEquals(ids(compileFilter({ search: "003#R" })), [3]);
  assertEquals(searchText(frames[1]), "00000002#01 01 EXT FD BRS");
});

Deno.test("frameBits: worst-case lengths of classic, extended, FD and error frames", () => {
  // ISO 11898-1 worst case, 3-bit intermission included.
  assertEquals(frameBits(std(0, [])).nominal, 47 + 8);
  assertEquals(frameBits(createFrame({ data: new Uint8Array(8) })).nominal, 131 + 29);
  assertEquals(
    frameBits(createFrame({ isExtendedId: false, isErrorFrame: true, data: new Uint8Array(8) }))
      .nominal,
    17,
  );
  const fd = createFrame({
    isExtendedId: false,
    isFd: true,
    bitrateSwitch: true,
    data: new Uint8Array(64),
  });
  const bits = frameBits(fd);
  assert(bits.data > 8 * 64 && bits.nominal < 40, JSON.stringify(bits));
  // With BRS the data phase runs at the data rate: shorter at 2 Mbit/s than at 500 kbit/s.
  assert(
    frameDuration(fd, 500_000, 2_000_000) <
      frameDuration({ ...fd, bitrateSwitch: false }, 500_000, 2_000_000),
  );
  assertThrows(() => frameDuration(fd, 0), RangeError, "0");
});

Deno.test("TraceStore: evicts the oldest in chunks and keeps the filtered index in step", () => {
  const store = new TraceStore(100);
  store.setFilter((f) => f.arbitrationId % 10 === 0);
  for (let i = 0; i < 1000; i++) store.push(std(i % 0x800));
  assert(store.size >= 100 && store.size < 100 + 100 / 8, `${store.size}`);
  assertEquals(store.evicted + store.size, 1000);
  const shown = [...store.shownFrames()].map((f) => f.arbitrationId);
  assertEquals(shown, shown.filter((id) => id % 10 === 0));
  assertEquals(shown.at(-1), 990);
  assertEquals(store.shownSeq(store.shown - 1), 990);
  store.setFilter(null);
  assertEquals(store.shown, store.size);
  assertEquals(store.shownAt(store.size - 1).arbitrationId, 999);
  assertThrows(() => store.shownAt(store.size), RangeError);
  store.clear();
  assertEquals([store.size, store.shown, store.evicted], [0, 0, 0]);
  assertThrows(() => new TraceStore(0), RangeError, "0");
});

Deno.test("IdTable: rows per id and kind, periods, changed bytes, a row limit", () => {
  const table = new IdTable(3);
  table.update({ ...std(0x10, [1, 2, 3]), timestamp: 1 }, 100);
  table.update({ ...std(0x10, [1, 9, 3, 4]), timestamp: 1.5 }, 200);
  table.update(createFrame({ arbitrationId: 0x10, isExtendedId: false, isRemoteFrame: true }), 300);
  table.update(createFrame({ arbitrationId: 0x10 }), 300);
  table.update(std(0x11), 400);
  assertEquals(table.size, 3);
  assertEquals(table.overflow, 1);
  const row = table.rows()[0];
  assertEquals([row.count, row.period, row.changedAt], [2, 0.5, [-Infinity, 200, -Infinity, 200]]);
  const byCount = sortRows(table.rows(), "count", true).map((r) => r.key);
  assertEquals(byCount[0], "ds16");
  const csv = rowsToCsv(sortRows(table.rows(), "id"));
  assertEquals(csv.split("\r\n")[1], "010,0,,4,01 09 03 04,2,500.000,1.000000,1.500000");
  assert(csv.includes("010,0,RTR,0,R 0,1,"), csv);
});

Deno.test("toCandumpLog: lines parse back to the same frames", () => {
  const frames = [
    { ...std(0x123, [0xde, 0xad]), timestamp: 1700000000.123, isRx: true },
    createFrame({ timestamp: 1700000000.5, arbitrationId: 0x1abcdef, data: [] }),
    createFrame({
      timestamp: 1700000001,
      arbitrationId: 0x7ff,
      isExtendedId: false,
      isFd: true,
      bitrateSwitch: true,
      data: new Uint8Array(12),
    }),
    createFrame({
      timestamp: 1700000002,
      arbitrationId: 0x5,
      isExtendedId: false,
      isErrorFrame: true,
      data: new Uint8Array(8),
    }),
  ];
  const log = toCandumpLog(frames, logChannelName("0"));
  const lines = log.split("\n");
  assertEquals(lines.at(-1), "");
  assertEquals(lines[0], "(1700000000.123000) 0 123#DEAD");
  for (const [i, line] of lines.slice(0, -1).entries()) {
    const parsed = parseCandump(line);
    assertEquals(parsed.timestamp, frames[i].timestamp);
    assertEquals(parsed.data, frames[i].data);
    assertEquals([parsed.arbitrationId, parsed.isFd, parsed.isErrorFrame], [
      frames[i].arbitrationId,
      frames[i].isFd,
      frames[i].isErrorFrame,
    ]);
  }
  assertEquals(toCandumpLog([], "can0"), "");
  assertEquals(logChannelName("my bus"), "my_bus");
});

Deno.test("format: ids, data, times and typed hex bytes", () => {
  assertEquals(formatId(std(0x7)), "007");
  assertEquals(formatData(std(0, [0, 0xff])), "00 FF");
  assertEquals(formatTime(10.000001, "relative", 10), "0.000001");
  assertEquals(formatTime(9, "delta", 10), "+0.000000");
  assertEquals(parseHexBytes(""), new Uint8Array(0));
  assertThrows(() => parseHexBytes("ABC"), SyntaxError, '"ABC"');
});
