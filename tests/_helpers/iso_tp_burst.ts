// The request-answer-burst pattern that meets Nagle's algorithm and delayed
// ACKs: an ISO-TP first frame from one client, the flow control from
// another, then seven consecutive frames from the first. Shared by
// tests/server/http/quick_ack_test.ts and bench/bridge_bench.ts.
import { RemoteBus, type RemoteBusOptions } from "../../client.ts";
import { createFrame } from "../../core/frame.ts";

/** Options of {@linkcode isoTpBurstTimes}. */
export interface IsoTpBurstOptions {
  /** How many rounds to play, 10 ms apart. */
  rounds: number;
  /** How long each receive may wait, in ms. */
  receiveTimeoutMs: number;
  /** Options of both clients' connections. */
  bus?: RemoteBusOptions;
}

/**
 * Connects two `RemoteBus` clients to `url` and plays the rounds between them.
 * @param url The server.
 * @param options Rounds, receive timeout and connection options.
 * @returns Per round, ms from the flow control's arrival to the seventh consecutive frame's.
 * @throws {Error} When a consecutive frame arrives out of order, or a receive times out.
 */
export async function isoTpBurstTimes(url: string, options: IsoTpBurstOptions): Promise<number[]> {
  const a = await RemoteBus.connect(url, options.bus);
  const b = await RemoteBus.connect(url, options.bus);
  try {
    const times: number[] = [];
    for (let round = 0; round < options.rounds; round++) {
      times.push(await burst(a, b, options.receiveTimeoutMs));
      await new Promise((r) => setTimeout(r, 10));
    }
    return times;
  } finally {
    await a.close();
    await b.close();
  }
}

// One round: `a` sends the first frame, `b` answers with the flow control,
// `a` sends the consecutive frames; ms from the flow control's arrival at
// `a` to the last consecutive frame's at `b`.
async function burst(a: RemoteBus, b: RemoteBus, timeoutMs: number): Promise<number> {
  const receive = (bus: RemoteBus) => bus.receive({ signal: AbortSignal.timeout(timeoutMs) });
  await a.send(createFrame({ arbitrationId: 0x7e0, data: [0x10, 0x30, 1, 2, 3, 4, 5, 6] }));
  await receive(b);
  await b.send(createFrame({ arbitrationId: 0x7e8, data: [0x30, 0, 0] }));
  await receive(a);
  const start = performance.now();
  for (let i = 1; i <= 7; i++) {
    await a.send(createFrame({ arbitrationId: 0x7e0, data: [0x20 | i, i, i, i, i, i, i, i] }));
  }
  for (let i = 1; i <= 7; i++) {
    const frame = await receive(b);
    if (frame.data[0] !== (0x20 | i)) {
      throw new Error(`consecutive frame ${i} arrived as ${frame.data[0].toString(16)}`);
    }
  }
  return performance.now() - start;
}
