// One round of the request-answer-burst pattern that meets Nagle's algorithm
// and delayed ACKs: an ISO-TP first frame from `a`, the flow control from
// `b`, then seven consecutive frames from `a`. Shared by
// tests/server/http/quick_ack_test.ts and bench/bridge_bench.ts.
import type { RemoteBus } from "../../client.ts";
import { createFrame } from "../../core/frame.ts";

/**
 * Plays one round between two buses on the same server.
 * @param a The sender of the first and consecutive frames.
 * @param b The receiver, which answers with the flow control.
 * @param timeoutMs How long each receive may wait.
 * @returns ms from the flow control's arrival at `a` to the seventh consecutive frame's at `b`.
 * @throws {Error} When a consecutive frame arrives out of order, or a receive times out.
 */
export async function isoTpBurst(a: RemoteBus, b: RemoteBus, timeoutMs: number): Promise<number> {
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
