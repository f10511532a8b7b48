/**
 * `player`: replays a log file onto a bus with its original timing, like
 * python-can's `python -m can.player` (and can-utils' `canplayer`). Reads
 * `.log`, `.asc`, `.csv` and `.jsonl`, gzipped or not.
 *
 * ```sh
 * deno run -A jsr:@canremote/server/player -i remote -c ws://127.0.0.1:54701/ trace.asc
 * ```
 *
 * @example Replaying a candump log onto an in-process virtual bus
 * ```ts
 * import { main } from "./player.ts";
 * import { VirtualBus, VirtualNetwork } from "../core/virtual_bus.ts";
 * const network = new VirtualNetwork();
 * await using listener = VirtualBus.open({ channel: "0", network });
 * const path = await Deno.makeTempFile({ suffix: ".log" });
 * await Deno.writeTextFile(path, "(1.000000) vcan0 123#11\n(1.010000) vcan0 124#22\n");
 * const code = await main(["-i", "virtual", "-c", "0", path], {
 *   network, env: {}, configPath: [], stderr: new WritableStream(),
 * });
 * if (code !== 0 || listener.poll()?.arbitrationId !== 0x123) throw new Error();
 * await Deno.remove(path);
 * ```
 *
 * @module
 */

import type { CanFrame } from "../core/frame.ts";
import { stringifyCandump } from "../core/candump.ts";
import { readLogFile, type ReadLogFileOptions } from "../formats/log_file.ts";
import {
  BUS_OPTIONS,
  BUS_USAGE,
  numberFlag,
  openBus,
  parse,
  printUsage,
  runTool,
  sleep,
  stopSignal,
  TextWriter,
  type ToolIo,
  UsageError,
} from "./_common.ts";
import { Refusals } from "./_refusals.ts";

export type { ToolIo } from "./_common.ts";
export type { Environment } from "../config/canrc.ts";
export type { VirtualNetwork } from "../core/virtual_bus.ts";

/** The player's help text. */
export const USAGE: string = `Usage: player [options] FILE

Replays a log file onto a bus with the original timing between frames.
FILE is .log (candump -L), .asc, .csv or .jsonl, optionally .gz.

Options (python-can's can.player, plus --speed, --loop and --strict):
  -f, --file_name FILE     the file, instead of the FILE argument
      --ignore-timestamps  send with --gap between frames instead
  -g, --gap SECONDS        time between frames with --ignore-timestamps (default 0.0001)
  -s, --skip SECONDS       shorten pauses longer than SECONDS to SECONDS (default 86400)
      --speed FACTOR       play FACTOR times as fast: 2, 0.5 (default 1)
      --loop               start over at the end, until Ctrl-C; between two passes
                           it waits the mean time between frames (--gap without
                           timestamps), at least 1 ms
      --strict             stop at the first bad line of FILE
      --error-frames       send error frames too (skipped by default)
  -v, --verbose            print each frame as it is sent (candump -L)
${BUS_USAGE}
  -h, --help               this text

A line the player cannot read is reported as "player: FILE: line N: ...
(skipped)" and the rest of the file is played; the exit code is then 1, after
"Sent N frames from FILE; skipped M bad lines". With --strict it stops there.
A server may refuse frames (a read-only token, an id it does not allow, its
send rate): the player prints the server's message at once and exits with 1.

Examples:
  deno task player -i remote -c ws://127.0.0.1:54701/ trace.asc
  deno run -A jsr:@canremote/server/player -i remote -c ws://pi:54701/ trace.log.gz --speed 10
  deno task player -i socketcan -c vcan0 --ignore-timestamps -g 0.001 trace.csv
  deno task player --loop -s 1 trace.log      # interface and channel from ~/.canrc`;

const OPTIONS = {
  ...BUS_OPTIONS,
  file_name: { type: "string", short: "f" },
  "file-name": { type: "string" },
  "ignore-timestamps": { type: "boolean" },
  ignore_timestamps: { type: "boolean" },
  gap: { type: "string", short: "g" },
  skip: { type: "string", short: "s" },
  speed: { type: "string" },
  loop: { type: "boolean" },
  strict: { type: "boolean" },
  "error-frames": { type: "boolean" },
  error_frames: { type: "boolean" },
  verbose: { type: "boolean", short: "v" },
} as const;

/** Timing of one pass, python-can's `MessageSync` with a speed factor. */
interface Timing {
  timestamps: boolean;
  gap: number;
  skip: number;
  speed: number;
}

/** What a pass read: the frames and their first and last timestamps. */
interface PassStats {
  frames: number;
  first: number;
  last: number;
}

// The shortest pause between two --loop passes, so a one-frame file cannot flood the bus.
const MIN_LOOP_PAUSE = 0.001;

/**
 * Runs the player.
 *
 * @param args Command-line arguments, as {@linkcode USAGE} describes.
 * @param io Output streams, stop signal and configuration sources; the process's by default.
 * @returns The exit code: 0 when every frame was sent (or Ctrl-C), 1 on an error, a
 *   skipped bad line or a frame the server refused, 2 for bad arguments.
 * @example The help text
 * ```ts
 * import { main } from "./player.ts";
 * let text = "";
 * const stdout = new WritableStream<Uint8Array>({
 *   write: (chunk) => void (text += new TextDecoder().decode(chunk)),
 * });
 * const code = await main(["--help"], { stdout });
 * if (code !== 0 || !text.startsWith("Usage: player")) throw new Error(text);
 * ```
 */
export function main(args: string[], io: ToolIo = {}): Promise<number> {
  return runTool("player", io, async (stderr) => {
    const { values, positionals, extra } = parse(args, OPTIONS, true);
    if (values.help) return await printUsage(USAGE, io);
    const named = values.file_name ?? values["file-name"];
    const files = named === undefined ? positionals : [named, ...positionals];
    if (files.length !== 1) {
      throw new UsageError(files.length ? "give one file" : "give the file to replay");
    }
    const [path] = files;
    const timing: Timing = {
      timestamps: !(values["ignore-timestamps"] || values.ignore_timestamps),
      gap: numberFlag("gap", values.gap) ?? 0.0001,
      skip: numberFlag("skip", values.skip) ?? 86400,
      speed: numberFlag("speed", values.speed, 0, true) ?? 1,
    };
    const errorFrames = values["error-frames"] || values.error_frames;
    // A missing file is reported before connecting, in the user's words.
    try {
      await Deno.stat(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) throw new Error(`No such file: ${path}`);
      throw error;
    }
    using stop = stopSignal(io);
    await using bus = await openBus(values, extra, io, { signal: stop });
    const refusals = new Refusals(bus, "player", stderr);
    const out = values.verbose ? new TextWriter(io.stdout ?? Deno.stdout.writable) : undefined;
    // Bad lines are reported by the reader as it reads: printed before the next frame goes out.
    const warnings: string[] = [];
    const warn = async () => {
      for (const text of warnings.splice(0)) await stderr.write(`player: ${path}: ${text}\n`);
    };
    let sent = 0;
    let skipped = 0;
    let empty = false;
    try {
      for (let pass = 0;; pass++) {
        const onError = (error: SyntaxError) => {
          if (pass > 0) return; // said in the first pass
          if (error.message.endsWith(": the file is empty")) {
            empty = true;
            warnings.push("the file is empty");
          } else {
            skipped++;
            warnings.push(`${error.message} (skipped)`);
          }
        };
        const stats: PassStats = { frames: 0, first: 0, last: 0 };
        const frames = readFile(path, values.strict ? {} : { onError });
        let played = 0;
        for await (const frame of paced(frames, timing, stop, stats)) {
          await warn();
          if (frame.isErrorFrame && !errorFrames) continue;
          await bus.send(frame);
          sent++;
          played++;
          if (out) {
            const { isRx: _, ...plain } = frame;
            await out.write(stringifyCandump(plain) + "\n");
          }
        }
        await warn();
        if (!values.loop || stop.aborted) break;
        if (played === 0) {
          const n = stats.frames;
          const errors = n ? ` (${n} error frame${n > 1 ? "s" : ""}: add --error-frames)` : "";
          throw new Error(`--loop: ${path} has no frames to play${errors}`);
        }
        await sleep(loopPause(stats, timing), stop);
      }
    } finally {
      out?.release();
    }
    await bus.close();
    if (await refusals.done()) {
      if (skipped) await stderr.write(`player: ${path}: skipped ${skipped} bad lines\n`);
      return 1;
    }
    if (empty) return 1;
    if (skipped) {
      const lines = skipped === 1 ? "1 bad line" : `${skipped} bad lines`;
      await stderr.write(`Sent ${sent} frames from ${path}; skipped ${lines}\n`);
      return 1;
    }
    await stderr.write(`Sent ${sent} frames from ${path}\n`);
    return 0;
  });
}

/** The frames of the file; an error reading it names the file. */
async function* readFile(
  path: string,
  options: ReadLogFileOptions,
): AsyncGenerator<CanFrame> {
  try {
    yield* readLogFile(path, options);
  } catch (error) {
    // SyntaxError: a bad line (--strict); TypeError: a damaged .gz file.
    if (error instanceof SyntaxError || error instanceof TypeError) {
      throw new (error.constructor as typeof Error)(`${path}: ${error.message}`, { cause: error });
    }
    throw error;
  }
}

/**
 * The pause after a --loop pass, as between two frames: the recording's mean
 * frame interval at --speed, or --gap without timestamps or with one frame;
 * at most --skip and at least {@linkcode MIN_LOOP_PAUSE}.
 */
function loopPause(stats: PassStats, { timestamps, gap, skip, speed }: Timing): number {
  const mean = timestamps && stats.frames > 1
    ? Math.abs(stats.last - stats.first) / (stats.frames - 1) / speed
    : gap;
  return Math.max(MIN_LOOP_PAUSE, Math.min(mean, skip || Infinity));
}

/** Yields the frames at their time, counting them in `stats`; ends early when `signal` aborts. */
async function* paced(
  frames: AsyncIterable<CanFrame>,
  { timestamps, gap, skip, speed }: Timing,
  signal: AbortSignal,
  stats: PassStats,
): AsyncGenerator<CanFrame> {
  const start = performance.now() / 1000;
  let wake = start;
  let first: number | undefined;
  let skipped = 0;
  for await (const frame of frames) {
    if (signal.aborted) return;
    if (stats.frames++ === 0) stats.first = frame.timestamp;
    stats.last = frame.timestamp;
    if (timestamps) {
      first ??= frame.timestamp;
      wake = start + (frame.timestamp - first) / speed - skipped;
    } else {
      wake += gap;
    }
    let pause = wake - performance.now() / 1000;
    if (skip && pause > skip) {
      skipped += pause - skip;
      pause = skip;
    }
    if (pause > 1e-4) await sleep(pause, signal);
    if (signal.aborted) return;
    yield frame;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
