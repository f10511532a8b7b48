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
 * import { VirtualBus, VirtualNetwork } from "../virtual_bus.ts";
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

import type { CanFrame } from "../frame.ts";
import { stringifyCandump } from "../candump.ts";
import { readLogFile } from "../formats/log_file.ts";
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

export type { ToolIo } from "./_common.ts";

/** The player's help text. */
export const USAGE: string = `Usage: player [options] FILE

Replays a log file onto a bus with the original timing between frames.
FILE is .log (candump -L), .asc, .csv or .jsonl, optionally .gz.

Options (python-can's can.player, plus --speed and --loop):
      --ignore-timestamps  send with --gap between frames instead
  -g, --gap SECONDS        time between frames with --ignore-timestamps (default 0.0001)
  -s, --skip SECONDS       shorten pauses longer than SECONDS to SECONDS (default 86400)
      --speed FACTOR       play FACTOR times as fast: 2, 0.5 (default 1)
      --loop               start over at the end, until Ctrl-C
      --error-frames       send error frames too (skipped by default)
  -v, --verbose            print each frame as it is sent (candump -L)
${BUS_USAGE}
  -h, --help               this text

Examples:
  deno task player -i remote -c ws://127.0.0.1:54701/ trace.asc
  deno run -A jsr:@canremote/server/player -i remote -c ws://pi:54701/ trace.log.gz --speed 10
  deno task player -i socketcan -c vcan0 --ignore-timestamps -g 0.001 trace.csv
  deno task player --loop -s 1 trace.log      # interface and channel from ~/.canrc`;

const OPTIONS = {
  ...BUS_OPTIONS,
  "ignore-timestamps": { type: "boolean" },
  ignore_timestamps: { type: "boolean" },
  gap: { type: "string", short: "g" },
  skip: { type: "string", short: "s" },
  speed: { type: "string" },
  loop: { type: "boolean" },
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

/**
 * Runs the player.
 *
 * @param args Command-line arguments, as {@linkcode USAGE} describes.
 * @param io Output streams, stop signal and configuration sources; the process's by default.
 * @returns The exit code: 0 when every frame was sent (or Ctrl-C), 1 on an error, 2 for bad arguments.
 */
export function main(args: string[], io: ToolIo = {}): Promise<number> {
  return runTool("player", io, async (stderr) => {
    const { values, positionals, extra } = parse(args, OPTIONS, true);
    if (values.help) return await printUsage(USAGE, io);
    if (positionals.length !== 1) {
      throw new UsageError(positionals.length ? "give one file" : "give the file to replay");
    }
    const [path] = positionals;
    const timing: Timing = {
      timestamps: !(values["ignore-timestamps"] || values.ignore_timestamps),
      gap: numberFlag("gap", values.gap) ?? 0.0001,
      skip: numberFlag("skip", values.skip) ?? 86400,
      speed: numberFlag("speed", values.speed, 0, true) ?? 1,
    };
    const errorFrames = values["error-frames"] || values.error_frames;
    await Deno.stat(path); // a missing file is reported before connecting
    using stop = stopSignal(io);
    await using bus = await openBus(values, extra, io, { signal: stop });
    const out = values.verbose ? new TextWriter(io.stdout ?? Deno.stdout.writable) : undefined;
    let sent = 0;
    try {
      do {
        for await (const frame of paced(readLogFile(path), timing, stop)) {
          if (frame.isErrorFrame && !errorFrames) continue;
          await bus.send(frame);
          sent++;
          if (out) {
            const { isRx: _, ...plain } = frame;
            await out.write(stringifyCandump(plain) + "\n");
          }
        }
      } while (values.loop && !stop.aborted);
    } catch (error) {
      if (error instanceof SyntaxError) throw new SyntaxError(`${path}: ${error.message}`);
      throw error;
    } finally {
      out?.release();
    }
    await stderr.write(`Sent ${sent} frames from ${path}\n`);
    return 0;
  });
}

/** Yields the frames at their time; ends early when `signal` aborts. */
async function* paced(
  frames: AsyncIterable<CanFrame>,
  { timestamps, gap, skip, speed }: Timing,
  signal: AbortSignal,
): AsyncGenerator<CanFrame> {
  const start = performance.now() / 1000;
  let wake = start;
  let first: number | undefined;
  let skipped = 0;
  for await (const frame of frames) {
    if (signal.aborted) return;
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
