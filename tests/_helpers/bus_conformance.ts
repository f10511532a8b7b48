// One Bus conformance suite, run against every backend (virtual, RemoteBus
// through the server, SocketCAN in the VM). `open` must put every bus it
// returns on the same channel.
import { assert, assertEquals, assertRejects } from "./assert.ts";
import type { Bus, BusOptions } from "../../core/bus.ts";
import { type CanFrame, createFrame } from "../../core/frame.ts";
import { BusClosedError } from "../../core/errors.ts";

export type OpenBus = (options?: BusOptions) => Promise<Bus>;

/** The fields a frame keeps across any bus (timestamps and channel are the bus's). */
export function frameFields(frame: CanFrame) {
  return {
    arbitrationId: frame.arbitrationId,
    isExtendedId: frame.isExtendedId,
    isRemoteFrame: frame.isRemoteFrame,
    isErrorFrame: frame.isErrorFrame,
    isFd: frame.isFd,
    bitrateSwitch: frame.bitrateSwitch,
    errorStateIndicator: frame.errorStateIndicator,
    dlc: frame.dlc,
    data: [...frame.data],
  };
}

/** Receives until nothing arrives for `quietMs`; returns what came. */
export function drain(bus: Bus, quietMs = 150): Promise<CanFrame[]> {
  return collect(bus, 0, quietMs);
}

/**
 * Receives the `count` frames a test expects, waiting up to `waitMs` for each
 * (a loaded machine or the emulated VM can be slow), then until nothing more
 * arrives for `quietMs`; returns every frame that came, so a test compares the
 * whole list and sees both missing and extra frames.
 */
export async function collect(
  bus: Bus,
  count: number,
  quietMs = 150,
  waitMs = 5000,
): Promise<CanFrame[]> {
  const frames: CanFrame[] = [];
  while (true) {
    const ms = frames.length < count ? waitMs : quietMs;
    try {
      frames.push(await bus.receive({ signal: AbortSignal.timeout(ms) }));
    } catch (error) {
      if (error instanceof DOMException && error.name === "TimeoutError") return frames;
      throw error;
    }
  }
}

/** The arbitration ids of `count` expected frames and of any extra ones ({@linkcode collect}). */
export async function collectIds(bus: Bus, count: number, quietMs = 150): Promise<number[]> {
  return (await collect(bus, count, quietMs)).map((frame) => frame.arbitrationId);
}

/** Receives until `accept` takes a frame, waiting at most `ms` for each; returns that frame. */
export async function receiveUntil(
  bus: Bus,
  accept: (frame: CanFrame) => boolean,
  ms = 2000,
): Promise<CanFrame> {
  while (true) {
    const frame = await bus.receive({ signal: AbortSignal.timeout(ms) });
    if (accept(frame)) return frame;
  }
}

const within = (ms = 2000) => ({ signal: AbortSignal.timeout(ms) });
const std = (id: number, data: number[] = []) =>
  createFrame({ arbitrationId: id, isExtendedId: false, data });

export interface ConformanceOptions {
  /** Backends without CAN FD (a classic-only interface) skip the FD case. */
  fd?: boolean;
  /** Extra Deno.test options (sanitizers, ignore). */
  test?: Partial<Deno.TestDefinition>;
}

export function defineBusConformance(
  name: string,
  open: OpenBus,
  options: ConformanceOptions = {},
): void {
  const test = (title: string, fn: () => Promise<void>) =>
    Deno.test({ name: `${name}: ${title}`, fn, ...options.test });

  test("a frame sent on one bus reaches the other, not the sender", async () => {
    await using a = await open();
    await using b = await open();
    await a.send(std(0x123, [1, 2, 3]));
    assertEquals(frameFields(await b.receive(within())), frameFields(std(0x123, [1, 2, 3])));
    assertEquals(await drain(a), []);
  });

  test("frames arrive complete and in order", async () => {
    await using a = await open();
    await using b = await open();
    const sent = Array.from(
      { length: 300 },
      (_, i) => createFrame({ arbitrationId: i, isExtendedId: true, data: [i & 0xff, i >> 8] }),
    );
    for (const frame of sent) await a.send(frame);
    const got: CanFrame[] = [];
    while (got.length < sent.length) got.push(await b.receive(within()));
    assertEquals(got.map(frameFields), sent.map(frameFields));
  });

  test("remote, extended and error-free flags survive", async () => {
    await using a = await open();
    await using b = await open();
    const frames = [
      createFrame({ arbitrationId: 0x1fffffff, isExtendedId: true, data: [0xff] }),
      createFrame({ arbitrationId: 0x7ff, isExtendedId: false, isRemoteFrame: true, dlc: 8 }),
      createFrame({ arbitrationId: 0, isExtendedId: false }),
    ];
    for (const frame of frames) await a.send(frame);
    for (const frame of frames) {
      assertEquals(frameFields(await b.receive(within())), frameFields(frame));
    }
  });

  if (options.fd !== false) {
    test("CAN FD frames of 64 bytes with BRS", async () => {
      await using a = await open({ fd: true });
      await using b = await open({ fd: true });
      const frame = createFrame({
        arbitrationId: 0x456,
        isExtendedId: false,
        isFd: true,
        bitrateSwitch: true,
        data: Array.from({ length: 64 }, (_, i) => i),
      });
      await a.send(frame);
      assertEquals(frameFields(await b.receive(within())), frameFields(frame));
    });
  }

  test("receiveOwnMessages delivers the sender's own frames", async () => {
    await using a = await open({ receiveOwnMessages: true });
    await using b = await open();
    await a.send(std(0x42, [9]));
    assertEquals(frameFields(await a.receive(within())), frameFields(std(0x42, [9])));
    assertEquals(frameFields(await b.receive(within())), frameFields(std(0x42, [9])));
  });

  test("filters: id/mask, extended flag, and setFilters", async () => {
    await using a = await open();
    await using b = await open({ canFilters: [{ canId: 0x100, canMask: 0x7f0, extended: false }] });
    await a.send(std(0x200));
    await a.send(createFrame({ arbitrationId: 0x105, isExtendedId: true }));
    await a.send(std(0x10f, [1]));
    assertEquals(await collectIds(b, 1), [0x10f]);
    b.setFilters([{ canId: 0x200, canMask: 0x7ff }]);
    await a.send(std(0x10f));
    await a.send(std(0x200, [2]));
    assertEquals(await collectIds(b, 1), [0x200]);
    b.setFilters(null);
    // Wider filters take effect once the backend has them: a remote server
    // reads b's update before b's next frame, so a receiving that frame means
    // the update is in place.
    await b.send(std(0x7aa));
    assertEquals((await a.receive(within())).arbitrationId, 0x7aa);
    await a.send(std(0x10f));
    await a.send(std(0x300));
    assertEquals(await collectIds(b, 2), [0x10f, 0x300]);
  });

  test("an invalid frame is refused and nothing is sent", async () => {
    await using a = await open();
    await using b = await open();
    await assertRejects(() => a.send(std(0x800)), RangeError);
    await assertRejects(() => a.send(std(0x1, [1, 2, 3, 4, 5, 6, 7, 8, 9])), RangeError);
    assertEquals(await drain(b), []);
  });

  test("periodic: start, modify, stop", async () => {
    await using a = await open();
    await using b = await open();
    const task = a.sendPeriodic(std(0x321, [1]), 0.02);
    const first = await b.receive(within());
    assertEquals(first.data, new Uint8Array([1]));
    await b.receive(within());
    task.modify(std(0x321, [2]));
    let frame = await b.receive(within());
    for (let i = 0; i < 5 && frame.data[0] !== 2; i++) frame = await b.receive(within());
    assertEquals(frame.data, new Uint8Array([2]));
    task.stop();
    assert(task.stopped);
    await drain(b, 100); // frames already under way
    assertEquals(await drain(b, 150), []);
  });

  test("periodic: a duration ends the task by itself", async () => {
    await using a = await open();
    await using b = await open();
    const task = a.sendPeriodic(std(0x55, [5]), 0.02, { duration: 0.1 });
    const frames = await collect(b, 1, 300);
    assert(frames.length >= 3 && frames.length <= 8, `got ${frames.length} frames`);
    assert(task.stopped);
  });

  test("close: pending and later receives reject, sends reject, close twice is fine", async () => {
    const a = await open();
    const pending = a.receive();
    pending.catch(() => {}); // checked below; a backend may reject it before close() resolves
    await a.close();
    await assertRejects(() => pending, BusClosedError);
    await assertRejects(() => a.receive(), BusClosedError);
    await assertRejects(() => a.send(std(1)), BusClosedError);
    await a.close();
    assert(a.closed);
  });

  test("close stops periodic tasks and ends iteration", async () => {
    const a = await open();
    await using b = await open();
    const task = a.sendPeriodic(std(0x66), 0.01);
    await b.receive(within());
    const seen: CanFrame[] = [];
    const loop = (async () => {
      for await (const frame of a) seen.push(frame);
    })();
    await a.close();
    await loop;
    assert(task.stopped);
    await drain(b, 100);
    assertEquals(await drain(b, 150), []);
  });
}
