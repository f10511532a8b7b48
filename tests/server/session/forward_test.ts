// Readers that stop reading (SIGSTOP) while the bus runs at 5,000 frames/s:
// the server drops frames for them alone, keeps them connected (no ping
// timeout, over ws:// and wss://), tells each how many it lost when it reads
// again, and the memory they cost stays near their --max-buffered-bytes.
import { assert, assertEquals } from "../../_helpers/assert.ts";
import { requires } from "../../_helpers/requires.ts";
import { makePki } from "../../_helpers/pki.ts";
import { RemoteBus } from "../../../client.ts";
import { createFrame } from "../../../core/frame.ts";

const SERVER = new URL("../../../server.ts", import.meta.url).pathname;
const READER = new URL("../../_helpers/stall_reader.ts", import.meta.url).pathname;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const needs = requires("openssl");

/** The server CLI in its own process (to measure its memory), with TLS from `pkiDir`; its URL. */
async function startServer(pkiDir?: string) {
  const tls = pkiDir ? ["--cert", `${pkiDir}/server.pem`, "--key", `${pkiDir}/server.key`] : [];
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SERVER, "-p", "0", "--max-send-rate", "0", "--max-clients", "64", ...tls],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let output = "";
  const decoder = new TextDecoder();
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) output += decoder.decode(chunk, { stream: true });
  };
  const collecting = Promise.all([collect(child.stdout), collect(child.stderr)]);
  let port = 0;
  for (let i = 0; i < 1000 && !port; i++) {
    port = Number(/Web page: https?:\/\/127\.0\.0\.1:(\d+)\//.exec(output)?.[1] ?? 0);
    if (!port) await sleep(10);
  }
  assert(port, output);
  return {
    url: `${pkiDir ? "wss" : "ws"}://127.0.0.1:${port}/`,
    rssMiB: () =>
      Number(/VmRSS:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${child.pid}/status`))![1]) /
      1024,
    output: () => output,
    stop: async () => {
      child.kill("SIGTERM");
      await child.status;
      await collecting;
    },
  };
}

/** A reader process (trusting the CA in `pkiDir`); its latest {frames, dropped}. */
function startReader(url: string, pkiDir?: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", READER, url],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...pkiDir ? { DENO_CERT: `${pkiDir}/ca.pem` } : {} },
  }).spawn();
  let latest = { frames: 0, dropped: 0 };
  // Lines read and what the reader printed on stderr: whether a reader that
  // stops counting still runs, and why, when a test fails.
  let reports = 0;
  let errors = "";
  const reading = (async () => {
    let buffered = "";
    for await (const text of child.stdout.pipeThrough(new TextDecoderStream())) {
      buffered += text;
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      reports += lines.length;
      if (lines.length) latest = JSON.parse(lines.at(-1)!);
    }
  })();
  const collecting = (async () => {
    for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) errors += text;
  })();
  return {
    child,
    latest: () => latest,
    /** The latest counts, how many reports came, and the reader's stderr. */
    describe: () => `${JSON.stringify(latest)} after ${reports} reports; stderr: ${errors || "-"}`,
    stop: async () => {
      child.kill("SIGCONT");
      child.kill("SIGTERM");
      await child.status;
      await reading;
      await collecting;
    },
  };
}

/** Sends `rate` frames/s for `seconds` in bursts every 10 ms; the count sent. */
async function flood(bus: RemoteBus, rate: number, seconds: number): Promise<number> {
  const start = performance.now();
  let sent = 0;
  while (performance.now() - start < seconds * 1000) {
    const due = Math.min(rate * seconds, Math.floor((performance.now() - start) / 1000 * rate));
    for (; sent < due; sent++) {
      bus.send(
        createFrame({ arbitrationId: sent & 0x7ff, data: [sent & 0xff, (sent >> 8) & 0xff] }),
      );
    }
    await sleep(10);
  }
  return sent;
}

/**
 * Sends frames until every reader receives them all (each may have missed
 * the first ones, sent before its bus opened); their counts then.
 */
async function warmUp(bus: RemoteBus, readers: { latest(): { frames: number } }[]) {
  for (let i = 0; i < 400 && readers.some((r) => r.latest().frames === 0); i++) {
    bus.send(createFrame({ arbitrationId: 0x700, data: [0] }));
    await sleep(50);
  }
  await sleep(300);
  const base = readers.map((r) => r.latest().frames);
  for (let i = 0; i < 10; i++) bus.send(createFrame({ arbitrationId: 0x701, data: [i] }));
  await until(
    () => readers.every((r, i) => r.latest().frames === base[i] + 10),
    "the readers to receive everything",
  );
  return readers.map((r) => r.latest().frames);
}

async function until(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
  for (let i = 0; i < ms / 50 && !condition(); i++) await sleep(50);
  assert(condition(), `timed out waiting for ${what}`);
}

/**
 * Waits until a resumed reader has received or been told about `total`
 * frames, for as long as its count still moves: it has up to 10 MB of them
 * in the kernel's buffers to read, which takes it over 20 s when other work
 * shares the two cores. Fails once the count stands still for 10 s, or
 * after 2 minutes; `what` is read then.
 */
async function caughtUp(
  reader: ReturnType<typeof startReader>,
  total: number,
  what: () => string,
) {
  const accounted = () => reader.latest().frames + reader.latest().dropped;
  const end = performance.now() + 120_000;
  let last = -1;
  let moved = performance.now();
  while (accounted() !== total && performance.now() < end && performance.now() - moved < 10_000) {
    if (accounted() !== last) [last, moved] = [accounted(), performance.now()];
    await sleep(50);
  }
  assert(accounted() === total, `timed out waiting for ${what()} (${reader.describe()})`);
}

Deno.test("a reader stopped for 60 s at 5,000 frames/s stays connected, gets its dropped count, the others lose nothing", async () => {
  const server = await startServer();
  const stalled = startReader(server.url);
  const healthy = startReader(server.url);
  await using sender = await RemoteBus.connect(server.url);
  try {
    // Both readers receive before one is stopped.
    const [stalledBase, healthyBase] = await warmUp(sender, [stalled, healthy]);
    stalled.child.kill("SIGSTOP");
    const sent = await flood(sender, 5000, 60);
    stalled.child.kill("SIGCONT");
    // Every frame reaches it or is counted, and the count reaches it.
    await caughtUp(
      stalled,
      stalledBase + sent,
      () => `the resumed reader to account for ${sent} frames\n${server.output()}`,
    );
    assert(stalled.latest().dropped > 0, JSON.stringify(stalled.latest()));
    await until(
      () => healthy.latest().frames === healthyBase + sent,
      `the healthy reader to get ${sent} frames`,
    );
    assertEquals(healthy.latest().dropped, 0);
    assert(!/disconnected \(1001\)/.test(server.output()), server.output());
  } finally {
    await stalled.stop();
    await healthy.stop();
    await sender.close();
    await server.stop();
  }
});

Deno.test({
  name:
    "over wss:// a reader stopped for 40 s (past Deno's 30 s ping timeout) stays connected and accounts for every frame",
  ...needs,
  fn: async () => {
    const pki = await makePki(await Deno.makeTempDir({ prefix: "canremote-stall-" }), {
      server: "DNS:localhost,IP:127.0.0.1",
    });
    const server = await startServer(pki.dir);
    const stalled = startReader(server.url, pki.dir);
    using httpClient = Deno.createHttpClient({ caCerts: [pki.ca] });
    await using sender = await RemoteBus.connect(server.url, { httpClient });
    try {
      const [stalledBase] = await warmUp(sender, [stalled]);
      stalled.child.kill("SIGSTOP");
      const sent = await flood(sender, 5000, 40);
      stalled.child.kill("SIGCONT");
      await caughtUp(
        stalled,
        stalledBase + sent,
        () => `the resumed reader to account for ${sent} frames`,
      );
      assert(!/disconnected \(1001\)/.test(server.output()), server.output());
    } finally {
      await stalled.stop();
      await sender.close();
      await server.stop();
      await Deno.remove(pki.dir, { recursive: true });
    }
  },
});

Deno.test("20 stopped readers cost the server about their --max-buffered-bytes each", async () => {
  const server = await startServer();
  const readers = Array.from({ length: 20 }, () => startReader(server.url));
  await using sender = await RemoteBus.connect(server.url);
  try {
    await warmUp(sender, readers);
    const before = server.rssMiB();
    for (const reader of readers) reader.child.kill("SIGSTOP");
    await flood(sender, 5000, 10);
    const during = server.rssMiB();
    // Documented bound (PROTOCOL.md): maxBufferedBytes (1 MiB) per reader
    // plus what the runtime keeps; asserted generously (3 MiB each, 32 MiB more).
    assert(during - before < 20 * 3 + 32, `RSS ${before.toFixed(1)} -> ${during.toFixed(1)} MiB`);
    console.log(
      `server RSS with 20 stalled readers: ${before.toFixed(1)} -> ${during.toFixed(1)} MiB`,
    );
  } finally {
    for (const reader of readers) await reader.stop();
    await sender.close();
    await server.stop();
  }
});
