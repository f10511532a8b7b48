// Demo traffic for `deno task demo`: what a small vehicle network looks like,
// so a new user has something real to watch.
import type { Bus } from "../../core/bus.ts";
import { createFrame } from "../../core/frame.ts";
import type { DbcFile } from "../http/dbc_list.ts";
import demoDbc from "./demo.dbc" with { type: "text" };

/** The DBC file describing the demo traffic, which `--demo` offers the page. */
export const DEMO_DBC: DbcFile = { name: "canremote-demo.dbc", text: demoDbc };

interface Signal {
  id: number;
  extended?: boolean;
  fd?: boolean;
  remote?: boolean;
  periodMs: number;
  data?: (t: number, n: number) => number[];
}

const u16 = (v: number) => [(v >> 8) & 0xff, v & 0xff];
const wave = (t: number, period: number, lo: number, hi: number) =>
  Math.round(lo + (hi - lo) * (0.5 + 0.5 * Math.sin((2 * Math.PI * t) / period)));

const SIGNALS: Signal[] = [
  // engine: rpm and throttle
  {
    id: 0x0c0,
    periodMs: 10,
    data: (t, n) => [...u16(wave(t, 8, 800, 4500)), wave(t, 5, 0, 100), n & 0xff],
  },
  // wheel speeds
  {
    id: 0x1a0,
    periodMs: 20,
    data: (t) => {
      const v = wave(t, 20, 0, 1300);
      return [...u16(v), ...u16(v + 3), ...u16(v - 2), ...u16(v + 1)];
    },
  },
  // gear and status bits
  {
    id: 0x3e8,
    periodMs: 50,
    data: (t) => [Math.min(6, 1 + Math.floor(wave(t, 20, 0, 60) / 10)), 0x81],
  },
  // temperatures
  { id: 0x2f0, periodMs: 100, data: (t) => [wave(t, 60, 80, 95), wave(t, 90, 20, 40), 0, 0, 0, 0] },
  // J1939 EEC1 and CCVS on 29-bit ids
  {
    id: 0x0cf00400,
    extended: true,
    periodMs: 20,
    data: (t) => [0xf0, 0x7d, 0x7d, ...u16(wave(t, 8, 6400, 36000)).reverse(), 0, 0xf0, 0x7d],
  },
  {
    id: 0x18fef100,
    extended: true,
    periodMs: 100,
    data: (t) => [0xff, ...u16(wave(t, 20, 0, 25600)).reverse(), 0x1f, 0, 0, 0, 0xff],
  },
  // a CAN FD frame with bit rate switch: a 64-byte sensor block
  {
    id: 0x500,
    fd: true,
    periodMs: 100,
    data: (t, n) => Array.from({ length: 64 }, (_, i) => (i * 4 + n + wave(t, 3, 0, 16)) & 0xff),
  },
  // an OBD-II style remote request now and then
  { id: 0x7df, remote: true, periodMs: 2000 },
];

/**
 * Sends the demo mix on `bus` until the returned function is called.
 * @returns A function that stops the traffic.
 */
export function startDemoTraffic(bus: Bus): () => void {
  const start = performance.now();
  const sent = new Map<Signal, number>();
  const timer = setInterval(() => {
    const now = performance.now() - start;
    for (const signal of SIGNALS) {
      const n = sent.get(signal) ?? 0;
      if (n * signal.periodMs > now) continue;
      sent.set(signal, n + 1);
      const frame = createFrame({
        arbitrationId: signal.id,
        isExtendedId: signal.extended ?? false,
        isFd: signal.fd ?? false,
        bitrateSwitch: signal.fd ?? false,
        isRemoteFrame: signal.remote ?? false,
        dlc: signal.remote ? 8 : undefined,
        data: signal.data?.(now / 1000, n) ?? [],
      });
      bus.send(frame).catch(() => clearInterval(timer));
    }
  }, 5);
  return () => clearInterval(timer);
}
