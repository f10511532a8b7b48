// Benchmark of the page's live plot: Debian's Chromium (headless) shows a
// server's traffic at 10,000 frames/s with 20 signals plotted, and reports
// how smooth the page stays: the time between animation frames (from a
// requestAnimationFrame loop in the page), the frames skipped (intervals
// longer than one 60 Hz frame count the frames they missed), and the time
// the page's own render takes per animation frame. `deno task bench:signals`;
// docs/signals.md quotes the figures. Needs /usr/bin/chromium.
//
//   deno run -A bench/signals_plot_bench.ts [--seconds 10] [--rate 10000] [--signals 20]
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";
import { serve, type VirtualBackend } from "../server.ts";
import { createFrame } from "../core/frame.ts";
import { VirtualBus } from "../core/virtual_bus.ts";

const args = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "10" },
    rate: { type: "string", default: "10000" },
    signals: { type: "string", default: "20" },
  },
}).values;
const SECONDS = Number(args.seconds);
const RATE = Number(args.rate);
const SIGNALS = Number(args.signals);
const PER_MESSAGE = 4;
// Traffic: five messages of four signals, whatever is plotted (0 plots nothing: the baseline).
const MESSAGES = Math.max(5, Math.ceil(SIGNALS / PER_MESSAGE));

// MESSAGES messages of four 16-bit signals each, ids 0x100 and up.
let dbc = "";
for (let m = 0; m < MESSAGES; m++) {
  dbc += `BO_ ${0x100 + m} Bench${m}: 8 Bench\n`;
  for (let s = 0; s < PER_MESSAGE; s++) {
    dbc += ` SG_ S${s} : ${s * 16}|16@1+ (0.1,0) [0|6553.5] "u${s}" Vector__XXX\n`;
  }
}
const keys = Array.from(
  { length: SIGNALS },
  (_, i) => `Bench${Math.floor(i / PER_MESSAGE)}.S${i % PER_MESSAGE}`,
);

const server = await serve({ port: 0, dbcFiles: [{ name: "bench.dbc", text: dbc }] });
const network = (server.backend as VirtualBackend).network;
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
  ],
});
try {
  const page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } }))
    .newPage();
  await page.goto(server.httpUrl);
  const until = async (expression: string, ms = 10_000) => {
    const end = performance.now() + ms;
    while (!(await page.evaluate(expression))) {
      if (performance.now() > end) throw new Error(`timed out waiting for ${expression}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  await until(`canremote.state === "open" && canremote.dbcFiles.includes("bench.dbc")`);
  for (const key of keys) await page.evaluate(`canremote.plot(${JSON.stringify(key)})`);
  await until(`canremote.stats.plotted === ${SIGNALS}`);

  const sender = VirtualBus.open({ channel: "0", network });
  const send = async (n: number) => {
    const id = 0x100 + (n % MESSAGES);
    const t = n / RATE;
    const data = new Uint8Array(8);
    for (let s = 0; s < PER_MESSAGE; s++) {
      const v = Math.round(30000 + 20000 * Math.sin(2 * Math.PI * t / (2 + s + (id & 7))));
      data[2 * s] = v & 0xff;
      data[2 * s + 1] = v >> 8;
    }
    await sender.send(createFrame({ arbitrationId: id, isExtendedId: false, data }));
  };
  // One second of warm-up, then the measured run.
  let sent = 0;
  const run = async (seconds: number) => {
    const begin = performance.now();
    const start = sent;
    while (performance.now() - begin < seconds * 1000) {
      const due = start + Math.floor((performance.now() - begin) * RATE / 1000);
      while (sent < due) await send(sent++);
      await new Promise((r) => setTimeout(r, 4));
    }
    return { frames: sent - start, seconds: (performance.now() - begin) / 1000 };
  };
  await run(1);
  await page.evaluate(`(() => {
    canremote.resetStallMeter();
    globalThis.benchRenders = canremote.stats.renders;
    globalThis.benchRaf = [];
    const tick = (t) => { globalThis.benchRaf.push(t); if (!globalThis.benchStop) requestAnimationFrame(tick); };
    requestAnimationFrame(tick);
  })()`);
  const received0 = await page.evaluate("canremote.stats.received") as number;
  const { frames, seconds } = await run(SECONDS);
  const result = await page.evaluate(`(() => {
    globalThis.benchStop = true;
    return {
      raf: globalThis.benchRaf,
      renders: canremote.stats.renders - globalThis.benchRenders,
      renderMs: canremote.stats.renderMs,
      maxRenderMs: canremote.stats.maxRenderMs,
      maxStallMs: canremote.stats.maxStallMs,
      received: canremote.stats.received,
      dropped: canremote.stats.dropped,
      points: canremote.stats.plotPoints,
    };
  })()`) as {
    raf: number[];
    renders: number;
    renderMs: number;
    maxRenderMs: number;
    maxStallMs: number;
    received: number;
    dropped: number;
    points: number;
  };
  await sender.close();

  const intervals = result.raf.slice(1).map((t, i) => t - result.raf[i]);
  const sorted = [...intervals].sort((a, b) => a - b);
  const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
  const frameMs = 1000 / 60;
  const skipped = intervals.reduce((n, d) => n + Math.max(0, Math.round(d / frameMs) - 1), 0);
  const expected = Math.round((result.raf.at(-1)! - result.raf[0]) / frameMs);
  const summary = {
    rate: Math.round(frames / seconds),
    seconds: Number(seconds.toFixed(1)),
    signals: SIGNALS,
    received: result.received - received0,
    dropped: result.dropped,
    animationFrames: intervals.length,
    intervalMs: {
      mean: Number((intervals.reduce((a, b) => a + b, 0) / intervals.length).toFixed(2)),
      p50: Number(pct(0.5).toFixed(2)),
      p95: Number(pct(0.95).toFixed(2)),
      p99: Number(pct(0.99).toFixed(2)),
      max: Number(sorted.at(-1)!.toFixed(2)),
    },
    skipped,
    skippedPercent: Number((100 * skipped / Math.max(1, expected)).toFixed(2)),
    renderMsPerFrame: Number((result.renderMs / Math.max(1, result.renders)).toFixed(2)),
    maxRenderMs: Number(result.maxRenderMs.toFixed(1)),
    maxStallMs: Number(result.maxStallMs.toFixed(1)),
    pointsPerLine: result.points,
  };
  console.log(JSON.stringify(summary, null, 2));
  console.log(
    `${summary.rate} frames/s, ${SIGNALS} signals plotted for ${summary.seconds} s: ` +
      `animation frame every ${summary.intervalMs.mean} ms on average (p99 ${summary.intervalMs.p99} ms), ` +
      `${skipped} of ${expected} frames skipped (${summary.skippedPercent} %), ` +
      `page render ${summary.renderMsPerFrame} ms per frame (max ${summary.maxRenderMs} ms)`,
  );
} finally {
  await browser.close();
  await server.close();
}
