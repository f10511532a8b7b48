// Prompt ACKs against a client's Nagle algorithm (server/http/quick_ack.ts).
// Linux delays an ACK by at least 40 ms once a connection looks interactive;
// a client with Nagle on holds its next small write until that ACK. These
// tests look for that 40 ms wait, not for a speed: each round either waits
// for the delayed ACK or it does not.
import net from "node:net";
import { assert } from "../../_helpers/assert.ts";
import { ackPromptly } from "../../../server/http/quick_ack.ts";
import type { RemoteBusOptions } from "../../../client.ts";
import { requires } from "../../_helpers/requires.ts";
import { makePki } from "../../_helpers/pki.ts";
import { isoTpBurstTimes } from "../../_helpers/iso_tp_burst.ts";
import { startServer } from "../../_helpers/cli.ts";

const median = (values: number[]) => values.toSorted((a, b) => a - b)[values.length >> 1];

/**
 * A node:net server that answers each "q" with "r" (so the connection looks
 * interactive) and a client with Nagle on that, once answered, writes "a" and
 * "b" at once: ms from the server's "a" to its "b", per round.
 */
async function secondWriteDelays(prompt: boolean, rounds: number): Promise<number[]> {
  const delays: number[] = [];
  let gotA = 0;
  let waiter = () => {};
  const server = net.createServer((socket) => {
    if (prompt) assert(ackPromptly(socket, socket), "prompt ACKs are on");
    socket.on("data", (bytes: Uint8Array) => {
      for (const byte of bytes) {
        if (byte === 0x71) socket.write("r"); // "q"
        if (byte === 0x61) gotA = performance.now(); // "a"
        if (byte === 0x62) { // "b"
          delays.push(performance.now() - gotA);
          waiter();
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const conn = await Deno.connect({
    hostname: "127.0.0.1",
    port: (server.address() as net.AddressInfo).port,
  });
  conn.setNoDelay(false); // Nagle on, as Deno's WebSocket client has it
  try {
    for (let i = 0; i < rounds; i++) {
      const { promise, resolve } = Promise.withResolvers<void>();
      waiter = resolve;
      await conn.write(new TextEncoder().encode("q"));
      await conn.read(new Uint8Array(16)); // "r"
      await conn.write(new TextEncoder().encode("a"));
      await conn.write(new TextEncoder().encode("b"));
      await promise;
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    conn.close();
    await new Promise((resolve) => server.close(resolve));
  }
  return delays;
}

Deno.test("quick_ack: a Nagle client's second small write does not wait for the delayed ACK", async () => {
  // The control shows the wait this machine's kernel puts there without
  // prompt ACKs, so the second half cannot pass for want of a delay.
  const without = await secondWriteDelays(false, 3);
  assert(median(without) >= 30, `without prompt ACKs: ${without.map((d) => d.toFixed(1))} ms`);
  const prompt = await secondWriteDelays(true, 10);
  assert(median(prompt) < 20, `with prompt ACKs: ${prompt.map((d) => d.toFixed(1))} ms`);
});

/** ms for seven consecutive frames after a first frame and its flow control, per round. */
function burstTimes(url: string, options: RemoteBusOptions): Promise<number[]> {
  return isoTpBurstTimes(url, {
    rounds: 10,
    receiveTimeoutMs: 2000,
    bus: { timeout: 5000, ...options },
  });
}

Deno.test("quick_ack: a RemoteBus in Deno sends a burst after a request and its answer without the 40 ms wait", async () => {
  await using server = await startServer();
  const open = () => [...Deno.readDirSync("/proc/self/fd")].length;
  const before = open();
  const times = await burstTimes(server.url, {});
  assert(median(times) < 25, `the bursts took ${times.map((t) => t.toFixed(1))} ms`);
  // The descriptor each connection held for its ACKs is closed with it.
  for (let i = 0; i < 200 && open() > before; i++) await new Promise((r) => setTimeout(r, 10));
  assert(open() <= before, `${open() - before} descriptors left open`);
});

const needs = requires("openssl");

Deno.test({
  name: "quick_ack: the same over wss://",
  ...needs,
  fn: async () => {
    const pki = await makePki(await Deno.makeTempDir({ prefix: "canremote-quickack-" }), {
      server: "DNS:localhost,IP:127.0.0.1",
    });
    try {
      const { ca, leaves: { server: { cert, key } } } = pki;
      await using server = await startServer({ cert, key });
      using httpClient = Deno.createHttpClient({ caCerts: [ca] });
      const times = await burstTimes(server.url, { httpClient });
      assert(median(times) < 25, `the bursts took ${times.map((t) => t.toFixed(1))} ms`);
    } finally {
      await Deno.remove(pki.dir, { recursive: true });
    }
  },
});
