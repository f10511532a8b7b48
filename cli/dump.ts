/**
 * `dump`: a live view of a bus on the terminal in can-utils' `candump`
 * layout, or `candump -L` lines with `-L`.
 *
 * ```sh
 * deno run -A jsr:@canremote/server/dump -i remote -c ws://127.0.0.1:54701/
 * ```
 *
 * @example Two frames from an in-process virtual bus, then stop (`-n 2`)
 * ```ts
 * import { main } from "./dump.ts";
 * import { VirtualBus, VirtualNetwork } from "../core/virtual_bus.ts";
 * import { createFrame } from "../core/frame.ts";
 * const network = new VirtualNetwork();
 * const chunks: Uint8Array[] = [];
 * const done = main(["-i", "virtual", "-c", "vcan0", "-n", "2"], {
 *   network, env: {}, configPath: [], stdout: new WritableStream({ write: (c) => void chunks.push(c) }),
 * });
 * while (network.channelSize("vcan0") === 0) await new Promise((r) => setTimeout(r, 10));
 * await using peer = VirtualBus.open({ channel: "vcan0", network });
 * await peer.send(createFrame({ arbitrationId: 0x123, isExtendedId: false, data: [0x11, 0x22] }));
 * await peer.send(createFrame({ arbitrationId: 0x1f334455, isRemoteFrame: true, dlc: 3 }));
 * if (await done !== 0) throw new Error();
 * const text = chunks.map((c) => new TextDecoder().decode(c)).join("");
 * if (text !== "  vcan0  123   [2]  11 22\n  vcan0  1F334455   [3]  remote request\n") throw new Error(text);
 * ```
 *
 * @module
 */

import { describeErrorFrame } from "../core/error_frame.ts";
import { stringifyCandump } from "../core/candump.ts";
import { channelName } from "../core/_channel_name.ts";
import type { CanFrame } from "../core/frame.ts";
import { RemoteError } from "../core/errors.ts";
import {
  BUS_OPTIONS,
  BUS_USAGE,
  integerFlag,
  openBus,
  parse,
  parseFilters,
  printUsage,
  runTool,
  stopSignal,
  TextWriter,
  type ToolIo,
  UsageError,
} from "./_common.ts";
import { DBC_USAGE, formatSignals, loadDbcFiles } from "./_dbc.ts";

export type { ToolIo } from "./_common.ts";
export type { Environment } from "../config/canrc.ts";
export type { VirtualNetwork } from "../core/virtual_bus.ts";

/** The dump tool's help text. */
export const USAGE: string = `Usage: dump [options]

Shows the frames on a bus as candump does, until Ctrl-C.

Options:
  -L                      candump -L lines: (timestamp) channel frame, as canplayer reads them
  -a                      the data as ASCII too
  -e                      error frames in words, as candump -e writes them
                          (controller-problem{rx-error-warning}, bus-off, ...)
  -t a|A|d|z              timestamps: absolute, absolute with date, delta, zero-based
  -n COUNT                stop after COUNT frames
  -T MS                   stop when no frame came for MS milliseconds
      --filter ID:MASK... show only matching frames (hex); several after one
                          --filter (python-can's way) or --filter repeated
${DBC_USAGE}:
                          each frame it knows gets a line of signals after its own
                          (-L lines stay as they are, for canplayer)
${BUS_USAGE}
  -h, --help              this text

Examples:
  deno task dump -i remote -c ws://127.0.0.1:54701/
  deno run -A jsr:@canremote/server/dump -i remote -c ws://pi:54701/ -L > trace.log
  deno task dump -i socketcan -c vcan0 -t d --filter 7E8:7F8
  deno task dump -n 10                    # interface and channel from ~/.canrc
  deno task dump -i remote -c ws://pi:54701/ --dbc vehicle.dbc`;

const OPTIONS = {
  ...BUS_OPTIONS,
  log: { type: "boolean", short: "L" },
  ascii: { type: "boolean", short: "a" },
  errors: { type: "boolean", short: "e" },
  timestamp: { type: "string", short: "t" },
  count: { type: "string", short: "n" },
  timeout: { type: "string", short: "T" },
  filter: { type: "string", multiple: true },
  dbc: { type: "string", multiple: true },
} as const;

const hex = (n: number, width: number) => n.toString(16).toUpperCase().padStart(width, "0");

/** candump's view flags. */
interface View {
  /** Standard ids indented to line up with extended ones (set once one was seen). */
  indent: boolean;
  /** The data as ASCII after the bytes (`-a`). */
  ascii: boolean;
}

/**
 * Formats a frame as can-utils 2020.11's `sprint_long_canframe()`:
 * `123   [2]  11 22`, `1F334455   [3]  remote request`, `123  [12]  ...`
 * for CAN FD, `ERRORFRAME` after an error frame's data.
 */
function longFrame(frame: CanFrame, view: View): string {
  let text: string;
  if (frame.isErrorFrame) text = hex((frame.arbitrationId | 0x20000000) >>> 0, 8);
  else if (frame.isExtendedId) text = hex(frame.arbitrationId, 8);
  else text = (view.indent ? "     " : "") + hex(frame.arbitrationId, 3);
  const length = frame.isRemoteFrame ? frame.dlc : frame.data.length;
  if (!frame.isFd) {
    text += `   [${length}] `;
    if (frame.isRemoteFrame) return text + " remote request";
  } else {
    text += `  [${String(length).padStart(2, "0")}] `;
  }
  for (const byte of frame.data) text += " " + hex(byte, 2);
  if (length > 8) return text;
  if (frame.isErrorFrame) return text + "ERRORFRAME".padStart(3 * (8 - length) + 13);
  if (view.ascii) {
    const chars = Array.from(
      frame.data,
      (b) => b > 0x1f && b < 0x7f ? String.fromCharCode(b) : ".",
    );
    text += "'".padStart(3 * (8 - length) + 4) + chars.join("") + "'";
  }
  return text;
}

// A frame's own channel, else the bus's name of it (the server's, for a RemoteBus).
function frameChannel(frame: CanFrame, busChannel: string): string {
  const channel = frame.channel;
  if (typeof channel === "number") return `can${channel}`;
  return channel || busChannel;
}

const pad2 = (n: number) => String(n).padStart(2, "0");

/** candump's `-t` prefixes. */
class Stamper {
  #mode: string;
  #first: number | undefined;
  #last: number | undefined;
  constructor(mode: string) {
    this.#mode = mode;
  }
  format(timestamp: number): string {
    const split = (t: number): [number, number] => {
      const s = Math.floor(t);
      let us = Math.round((t - s) * 1e6);
      if (us >= 1e6) us = 999999;
      return [s, us];
    };
    switch (this.#mode) {
      case "a": {
        const [s, us] = split(timestamp);
        return `(${String(s).padStart(10, "0")}.${String(us).padStart(6, "0")}) `;
      }
      case "A": {
        const [s, us] = split(timestamp);
        const d = new Date(s * 1000);
        const date = `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ` +
          `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
        return `(${date}.${String(us).padStart(6, "0")}) `;
      }
      default: {
        const base = this.#mode === "z" ? (this.#first ??= timestamp) : (this.#last ?? timestamp);
        this.#last = timestamp;
        const [s, us] = split(Math.max(0, timestamp - base));
        return `(${String(s).padStart(3, "0")}.${String(us).padStart(6, "0")}) `;
      }
    }
  }
}

/**
 * Runs the dump tool.
 *
 * @param args Command-line arguments, as {@linkcode USAGE} describes.
 * @param io Output streams, stop signal and configuration sources; the process's by default.
 * @returns The exit code: 0 after Ctrl-C, `-n` or `-T`, 1 on an error, 2 for bad arguments.
 * @example The help text
 * ```ts
 * import { main } from "./dump.ts";
 * let text = "";
 * const stdout = new WritableStream<Uint8Array>({
 *   write: (chunk) => void (text += new TextDecoder().decode(chunk)),
 * });
 * const code = await main(["--help"], { stdout });
 * if (code !== 0 || !text.startsWith("Usage: dump")) throw new Error(text);
 * ```
 */
export function main(args: string[], io: ToolIo = {}): Promise<number> {
  return runTool("dump", io, async (stderr) => {
    const { values, extra } = parse(args, OPTIONS, false);
    if (values.help) return await printUsage(USAGE, io);
    const out = new TextWriter(io.stdout ?? Deno.stdout.writable);
    try {
      const mode = values.timestamp;
      if (mode !== undefined && !["a", "A", "d", "z"].includes(mode)) {
        throw new UsageError(`-t must be a, A, d or z, got "${mode}"`);
      }
      const limit = integerFlag("count", values.count);
      const idleMs = integerFlag("timeout", values.timeout);
      const canFilters = parseFilters(values.filter);
      const dbc = values.log ? undefined : await loadDbcFiles(values.dbc);
      using stop = stopSignal(io);
      await using bus = await openBus(values, extra, io, { canFilters, signal: stop });
      const stamper = mode ? new Stamper(mode) : undefined;
      const busChannel = channelName(bus) ?? "vcan0";
      let count = 0;
      const view: View = { indent: false, ascii: values.ascii ?? false };
      while (!stop.aborted && (limit === undefined || count < limit)) {
        const signal = idleMs === undefined
          ? stop
          : AbortSignal.any([stop, AbortSignal.timeout(idleMs)]);
        let frame: CanFrame;
        try {
          frame = await bus.receive({ signal });
        } catch (error) {
          if (signal.aborted) break;
          if (error instanceof RemoteError) {
            await stderr.write(`dump: the server reported: ${error.message}\n`);
            continue;
          }
          throw error;
        }
        count++;
        if (values.log) {
          const { isRx: _, ...plain } = frame;
          await out.write(stringifyCandump(plain, busChannel) + "\n");
        } else {
          // As candump: once an extended id was seen, standard ids are indented.
          if (frame.isExtendedId && !frame.isErrorFrame) view.indent = true;
          const prefix = stamper ? " " + stamper.format(frame.timestamp) : " ";
          let text = `${prefix} ${frameChannel(frame, busChannel)}  ${longFrame(frame, view)}\n`;
          if (values.errors && frame.isErrorFrame) {
            text += describeErrorFrame(frame).map((words) => `\t${words}\n`).join("");
          }
          const decoded = dbc?.decode(frame);
          if (decoded) text += `      ${formatSignals(decoded)}\n`;
          await out.write(text);
        }
      }
      return 0;
    } finally {
      out.release();
    }
  });
}

if (import.meta.main) Deno.exit(await main(Deno.args));
