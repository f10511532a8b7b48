/**
 * `logger`: records a CAN bus to a file, like python-can's `python -m can.logger`.
 * The format follows the extension: `.log` (`candump -L`), `.asc` (Vector
 * ASCII as python-can writes it), `.csv` (python-can's columns), `.jsonl`;
 * `.gz` after any of them compresses the file.
 *
 * ```sh
 * deno run -A jsr:@canremote/server/logger -i remote -c ws://127.0.0.1:54701/ -f trace.asc
 * ```
 *
 * @example Recording an in-process virtual bus until stopped
 * ```ts
 * import { main } from "./logger.ts";
 * import { VirtualBus, VirtualNetwork } from "../core/virtual_bus.ts";
 * import { createFrame } from "../core/frame.ts";
 * const network = new VirtualNetwork();
 * const path = await Deno.makeTempFile({ suffix: ".log" });
 * const stop = new AbortController();
 * const done = main(["-i", "virtual", "-c", "0", "-f", path], {
 *   network, signal: stop.signal, env: {}, configPath: [], stderr: new WritableStream(),
 * });
 * while (network.channelSize("0") === 0) await new Promise((r) => setTimeout(r, 10));
 * await using peer = VirtualBus.open({ channel: "0", network });
 * await peer.send(createFrame({ arbitrationId: 0x123, isExtendedId: false, data: [1, 2] }));
 * await new Promise((r) => setTimeout(r, 50));
 * stop.abort();
 * if (await done !== 0) throw new Error("logger failed");
 * const text = await Deno.readTextFile(path);
 * if (!text.includes(" 123#0102")) throw new Error(text);
 * await Deno.remove(path);
 * ```
 *
 * @module
 */

import { RemoteBus } from "../client.ts";
import { RemoteError } from "../core/errors.ts";
import type { CanFrame } from "../core/frame.ts";
import { createLogWriter } from "../formats/log_file.ts";
import type { AnyBus } from "../config/create_bus.ts";
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
  type TextWriter,
  type ToolIo,
  unclosable,
  UsageError,
} from "./_common.ts";
import { RotatingLog } from "./_rotating_log.ts";
import { channelName } from "../core/_channel_name.ts";
import { logFormatOf } from "../formats/log_file.ts";
import { DBC_USAGE, loadDbcFiles } from "./_dbc.ts";
import { SignalsCsvWriter } from "../formats/signals_csv.ts";
import type { LogWriter } from "../formats/types.ts";

export type { ToolIo } from "./_common.ts";
export type { Environment } from "../config/canrc.ts";
export type { VirtualNetwork } from "../core/virtual_bus.ts";

/** The logger's help text. */
export const USAGE: string = `Usage: logger [options]

Records a CAN bus to a file until Ctrl-C or SIGTERM, which flush and close it
with every received frame in it. The format follows the extension:
  .log    candump -L lines (can-utils' candump -l, canplayer, python-can)
  .asc    Vector ASCII, as python-can writes it
  .csv    python-can's CSV columns
  .jsonl  one JSON object per frame
and .gz after any of them compresses the file (trace.asc.gz).
With --dbc the logger writes decoded signals instead, one CSV row per signal
value (timestamp,message,signal,value,unit,label), to a .csv or .csv.gz FILE
or to stdout; frames the DBC files do not know write no row.

Options:
  -f, --file_name FILE    the file; without it, candump -L lines go to stdout
  -a, --append            add to FILE instead of replacing it
  -s, --file_size BYTES   start a new file when FILE holds BYTES (k, M, G) of text
                          (before gzip, as python-can counts it); the full one,
                          within one frame of BYTES, is renamed FILE_<date>T<time>_#000.EXT
      --filter ID:MASK... receive only matching frames (hex); several after one
                          --filter (python-can's way) or --filter repeated
      --reconnect         remote: when the connection drops (a server restart),
                          connect again with growing pauses (up to 5 s), forever,
                          recording into the same file; without it the logger ends
${DBC_USAGE}
      --status            print the status line even when stderr is not a terminal
  -q, --quiet             no status line and no messages
  -v                      accepted for python-can's command lines (its log level);
                          the messages are on unless -q
      --active, --passive accepted for python-can's command lines; no interface here
                          has a bus state to set, so --passive only prints a note
${BUS_USAGE}
  -h, --help              this text

On a terminal a status line shows the frames recorded, frames per second, the
frames the server dropped because this client read too slowly, and
"reconnecting" while --reconnect waits for the server.

Examples:
  deno task logger -i remote -c ws://127.0.0.1:54701/ -f trace.asc
  deno run -A jsr:@canremote/server/logger -i remote -c ws://pi:54701/ -f trace.log.gz
  deno task logger -i socketcan -c vcan0 -f trace.csv --filter 100:7F0 18FEF100:1FFFFFFF
  deno task logger -f big.asc -s 10M          # interface and channel from ~/.canrc
  deno task logger -i remote -c ws://pi:54701/ | grep 123#
  deno task logger -i remote -c ws://pi:54701/ -f week.log.gz -s 100M --reconnect
  deno task logger -i remote -c ws://pi:54701/ --dbc vehicle.dbc -f signals.csv`;

const OPTIONS = {
  ...BUS_OPTIONS,
  file_name: { type: "string", short: "f" },
  "file-name": { type: "string" },
  append: { type: "boolean", short: "a" },
  file_size: { type: "string", short: "s" },
  "file-size": { type: "string" },
  filter: { type: "string", multiple: true },
  status: { type: "boolean" },
  quiet: { type: "boolean", short: "q" },
  reconnect: { type: "boolean" },
  verbose: { type: "boolean", short: "v" },
  active: { type: "boolean" },
  passive: { type: "boolean" },
  dbc: { type: "string", multiple: true },
} as const;

const TICK_MS = 200;

function humanBytes(n: number): string {
  if (n < 1e3) return `${n} B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(1)} kB`;
  if (n < 1e9) return `${(n / 1e6).toFixed(1)} MB`;
  return `${(n / 1e9).toFixed(2)} GB`;
}

/** Frames per second over the last second. */
class Rate {
  #samples: [number, number][] = [];
  update(count: number, now: number): number {
    this.#samples.push([now, count]);
    while (this.#samples.length > 2 && now - this.#samples[1][0] >= 1000) this.#samples.shift();
    const [t0, c0] = this.#samples[0];
    return now > t0 ? Math.round((count - c0) * 1000 / (now - t0)) : 0;
  }
}

/**
 * Runs the logger.
 *
 * @param args Command-line arguments, as {@linkcode USAGE} describes.
 * @param io Output streams, stop signal and configuration sources; the process's by default.
 * @returns The exit code: 0 after a clean stop, 1 on an error, 2 for bad arguments.
 * @example The help text
 * ```ts
 * import { main } from "./logger.ts";
 * let text = "";
 * const stdout = new WritableStream<Uint8Array>({
 *   write: (chunk) => void (text += new TextDecoder().decode(chunk)),
 * });
 * const code = await main(["--help"], { stdout });
 * if (code !== 0 || !text.startsWith("Usage: logger")) throw new Error(text);
 * ```
 */
export function main(args: string[], io: ToolIo = {}): Promise<number> {
  return runTool("logger", io, async (stderr) => {
    const { values, extra } = parse(args, OPTIONS, false);
    if (values.help) return await printUsage(USAGE, io);
    const fileName = values.file_name ?? values["file-name"];
    const maxBytes = integerFlag("file_size", values.file_size ?? values["file-size"], true);
    if (maxBytes && !fileName) throw new UsageError("--file_size needs --file_name");
    const canFilters = parseFilters(values.filter);
    if (values.active && values.passive) {
      throw new UsageError("--active and --passive exclude each other");
    }
    const dbc = await loadDbcFiles(values.dbc);
    if (dbc && fileName && logFormatOf(fileName).format !== "csv") {
      throw new UsageError(`--dbc writes signal rows as CSV: name a .csv file, not "${fileName}"`);
    }
    const signalRows = dbc
      ? (sink: WritableStream<Uint8Array>) => new SignalsCsvWriter(sink, (f) => dbc.decode(f))
      : undefined;
    using stop = stopSignal(io);
    const bus = await openBus(values, extra, io, {
      canFilters,
      signal: stop,
      reconnect: values.reconnect,
    });
    const terminal = !values.quiet && (io.isTerminal ?? Deno.stderr.isTerminal());
    // On a terminal a message first wipes the status line.
    const say = (text: string) =>
      values.quiet ? Promise.resolve() : stderr.write(`${terminal ? "\r\x1b[K" : ""}${text}\n`);
    let log: RotatingLog | StdoutLog;
    try {
      // The server's name of the channel, as its page and messages use it.
      const channel = channelName(bus);
      log = fileName
        ? await RotatingLog.open(fileName, {
          maxBytes,
          append: values.append,
          channel,
          writer: signalRows,
        })
        : new StdoutLog(io.stdout ?? Deno.stdout.writable, channel, signalRows);
    } catch (error) {
      await bus.close();
      throw error;
    }
    await say(`Connected to ${bus.channelInfo}`);
    if (bus instanceof RemoteBus) {
      bus.addEventListener("statechange", ({ detail }) => {
        if (detail.state === "reconnecting") {
          const why = (detail.error as Error | undefined)?.message ?? "connection lost";
          void say(`Disconnected (${why}); reconnecting`).catch(() => {});
        } else if (detail.state === "open") {
          void say(`Reconnected to ${bus.channelInfo}`).catch(() => {});
        }
      });
    }
    if (values.passive) {
      await say("--passive: this interface has no bus state to set; recording as usual");
    }
    const status = values.quiet ? "off" : terminal ? "tty" : values.status ? "lines" : "off";
    // python-can's CSV has no FD column: an FD frame reads back as a classic one.
    const csv = !dbc && fileName !== undefined && logFormatOf(fileName).format === "csv";
    const warnFd = csv
      ? () =>
        say(
          `Warning: ${fileName} is CSV, which has no CAN FD column: FD frames read back as ` +
            "classic frames (up to 64 bytes); use .log, .asc or .jsonl to keep them",
        )
      : undefined;
    return await record(bus, log, { stop, stderr, status, say, warnFd });
  });
}

interface RecordOptions {
  stop: AbortSignal;
  stderr: TextWriter;
  status: "tty" | "lines" | "off";
  say: (text: string) => Promise<void>;
  /** Called before the first CAN FD frame is written. */
  warnFd?: () => Promise<void>;
}

async function record(
  bus: AnyBus,
  log: RotatingLog | StdoutLog,
  { stop, stderr, status, say, warnFd }: RecordOptions,
): Promise<number> {
  let count = 0;
  let failure: unknown;
  const rate = new Rate();
  let shown = "";
  let lastLine = 0;
  const where = log instanceof RotatingLog ? log.path : "stdout";
  const statusText = () => {
    const size = log instanceof RotatingLog ? ` (${humanBytes(log.bytes)})` : "";
    const state = bus instanceof RemoteBus && bus.state !== "open" ? `  ${bus.state}` : "";
    return `${count} frames  ${rate.update(count, performance.now())} frames/s  ` +
      `${bus.dropped} dropped  ${where}${size}${state}`;
  };
  const tick = setInterval(() => {
    log.flush().catch((error) => failure ??= error);
    if (status === "tty") {
      void stderr.write(`\r${statusText()}\x1b[K`).catch(() => {});
    } else if (status === "lines") {
      const text = statusText();
      const now = performance.now();
      if (now - lastLine >= 1000 && text !== shown) {
        shown = text;
        lastLine = now;
        void stderr.write(text + "\n").catch(() => {});
      }
    }
  }, TICK_MS);
  const write = async (frame: CanFrame) => {
    if (frame.isFd && warnFd) {
      const warn = warnFd;
      warnFd = undefined;
      await warn();
    }
    await log.write(frame);
    count++;
  };
  // Hands out what is queued; false once the bus has closed.
  const drain = async (): Promise<boolean> => {
    while (true) {
      let frame: CanFrame | undefined;
      try {
        frame = bus.poll();
      } catch (error) {
        if (error instanceof RemoteError) {
          await say(`The server reported: ${error.message}`);
          continue;
        }
        return false;
      }
      if (frame === undefined) return true;
      await write(frame);
    }
  };
  try {
    while (!stop.aborted && failure === undefined) {
      let frame: CanFrame;
      try {
        frame = await bus.receive({ signal: stop });
      } catch (error) {
        if (stop.aborted) break;
        if (error instanceof RemoteError) {
          await say(`The server reported: ${error.message}`);
          continue;
        }
        throw error;
      }
      await write(frame);
      if (!await drain()) break;
    }
    // Frames that arrived before the stop are recorded too.
    await drain();
  } catch (error) {
    failure ??= error;
  } finally {
    clearInterval(tick);
    await bus.close();
    await log.close().catch((error) => failure ??= error);
  }
  if (status === "tty") await stderr.write(`\r\x1b[K`);
  const rotated = log instanceof RotatingLog && log.rotated.length
    ? ` and ${log.rotated.length} rotated file${log.rotated.length > 1 ? "s" : ""}`
    : "";
  await say(`Recorded ${count} frames to ${where}${rotated}, ${bus.dropped} dropped`);
  if (failure !== undefined) throw failure;
  return 0;
}

/** candump -L lines (or --dbc's signal rows) on stdout, for a logger without a file. */
class StdoutLog {
  #writer: LogWriter;
  constructor(
    stream: WritableStream<Uint8Array>,
    channel: string | undefined,
    writer?: (sink: WritableStream<Uint8Array>) => LogWriter,
  ) {
    const sink = unclosable(stream);
    this.#writer = writer?.(sink) ?? createLogWriter("log", sink, { channel });
  }
  write(frame: CanFrame): Promise<void> {
    const { isRx: _, ...plain } = frame;
    return this.#writer.write(plain);
  }
  flush(): Promise<void> {
    return this.#writer.flush();
  }
  close(): Promise<void> {
    return this.#writer.close();
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
