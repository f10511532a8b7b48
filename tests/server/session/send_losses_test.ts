// Frames a client sent that never reached the bus are counted and told
// (server/session/send_losses.ts), through the Transmitter that loses them.
import { assertEquals } from "../../_helpers/assert.ts";
import { configure, type LogRecord, reset } from "@logtape/logtape";
import { getLogger } from "@logtape/logtape";
import type { Bus } from "../../../core/bus.ts";
import { type CanFrame, createFrame } from "../../../core/frame.ts";
import { DEFAULT_LIMITS } from "../../../server/limits.ts";
import { Transmitter } from "../../../server/session/transmit.ts";
import { SendLosses } from "../../../server/session/send_losses.ts";
import type { SessionStats } from "../../../server/session/stats.ts";
import { VirtualBus, VirtualNetwork } from "../../../core/virtual_bus.ts";

const frame = (i: number) => createFrame({ arbitrationId: i, isExtendedId: false, data: [i] });

async function withLog(fn: (records: LogRecord[]) => Promise<void>) {
  const records: LogRecord[] = [];
  await configure({
    sinks: { memory: (record) => records.push(record) },
    loggers: [
      { category: ["losses"], lowestLevel: "info", sinks: ["memory"] },
      { category: ["logtape", "meta"], lowestLevel: "error", sinks: [] },
    ],
    reset: true,
  });
  try {
    await fn(records);
  } finally {
    await reset();
  }
}

Deno.test("SendLosses: a full transmit queue is one error event with the count, and a log line per client", async () => {
  await withLog(async (records) => {
    const network = new VirtualNetwork();
    await using bus = VirtualBus.open({ channel: "t", network });
    const stats: SessionStats = { received: 0, sent: 0, dropped: 0, rateLimited: 0, errors: 0 };
    const errors: string[] = [];
    const sendError = (message: string) => errors.push(message);
    const losses = new SendLosses({
      id: 7,
      channel: "can0",
      log: getLogger("losses"),
      stats,
      sendError,
    });
    const limits = { ...DEFAULT_LIMITS, maxSendRate: Infinity, maxPendingSends: 2 };
    const transmitter = new Transmitter(limits, stats, sendError, losses);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => release = resolve);
    const gated: Bus = Object.assign(Object.create(bus), {
      send: (f: CanFrame) => gate.then(() => bus.send(f)),
    });
    for (let i = 0; i < 10; i++) transmitter.send(gated, frame(i));
    // The first loss is told at once; the next 7 wait for the next notice.
    assertEquals(errors, [
      "1 frame not sent on can0: the transmit queue is full (2 frames waiting, --max-pending-sends) (1 in all)",
    ]);
    assertEquals(stats.notSent, 8);
    assertEquals(stats.received, 2);
    release();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    assertEquals(errors.length, 2);
    assertEquals(
      errors[1],
      "7 frames not sent on can0: the transmit queue is full (2 frames waiting, --max-pending-sends) (8 in all)",
    );
    transmitter.close();
    losses.close();
    const lines = records.map((r) => r.message.map(String).join(""));
    assertEquals(lines.length, 1, lines.join("\n")); // the log's 10 s window holds the rest
    assertEquals(records[0].level, "warning");
    assertEquals(records[0].properties.id, 7);
    assertEquals(records[0].properties.total, 8);
  });
});

Deno.test("SendLosses: failed sends are counted by reason; the frames after them still go", async () => {
  await withLog(async (records) => {
    const network = new VirtualNetwork();
    await using bus = VirtualBus.open({ channel: "t", network });
    await using listener = VirtualBus.open({ channel: "t", network });
    const stats: SessionStats = { received: 0, sent: 0, dropped: 0, rateLimited: 0, errors: 0 };
    const errors: string[] = [];
    const sendError = (message: string) => errors.push(message);
    const losses = new SendLosses({
      id: 3,
      channel: "can0",
      log: getLogger("losses"),
      stats,
      sendError,
    });
    const transmitter = new Transmitter(
      { ...DEFAULT_LIMITS, maxSendRate: Infinity },
      stats,
      sendError,
      losses,
    );
    const down: Bus = Object.assign(Object.create(bus), {
      send: (f: CanFrame) =>
        f.data[0] % 2
          ? Promise.reject(new Error('Cannot send on "can0": network is down'))
          : bus.send(f),
    });
    for (let i = 0; i < 6; i++) transmitter.send(down, frame(i));
    await new Promise((resolve) => setTimeout(resolve, 10));
    const got: number[] = [];
    for (let f = listener.poll(); f; f = listener.poll()) got.push(f.data[0]);
    assertEquals(got, [0, 2, 4]);
    assertEquals(stats.notSent, 3);
    assertEquals(errors, [
      '1 frame not sent on can0: Cannot send on "can0": network is down (1 in all)',
    ]);
    transmitter.close();
    losses.close(); // the two not yet told are in the log, with the total
    assertEquals(records.at(-1)!.properties.total, 3);
  });
});
