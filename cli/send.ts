/**
 * `send`: sends frames written in can-utils' `cansend` syntax, once or
 * periodically.
 *
 * ```sh
 * deno run -A jsr:@canremote/server/send -i remote -c ws://127.0.0.1:54701/ 123#DEADBEEF
 * ```
 *
 * @example Sending two frames on an in-process virtual bus
 * ```ts
 * import { main } from "./send.ts";
 * import { VirtualBus, VirtualNetwork } from "../core/virtual_bus.ts";
 * const network = new VirtualNetwork();
 * await using listener = VirtualBus.open({ channel: "0", network });
 * const code = await main(["-i", "virtual", "-c", "0", "123#DEADBEEF", "1F334455#R"], {
 *   network, env: {}, configPath: [],
 * });
 * if (code !== 0 || listener.poll()?.data.length !== 4 || !listener.poll()?.isRemoteFrame) {
 *   throw new Error();
 * }
 * ```
 *
 * @module
 */

import type { PeriodicTask } from "../core/bus.ts";
import { RemoteBus } from "../client.ts";
import { parseCansend, stringifyCansend } from "../core/candump.ts";
import type { CanFrame } from "../core/frame.ts";
import type { DbcCollection } from "../core/dbc/collection.ts";
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
import { DBC_USAGE, loadDbcFiles, parseSignalValues } from "./_dbc.ts";

export type { ToolIo } from "./_common.ts";
export type { Environment } from "../config/canrc.ts";
export type { VirtualNetwork } from "../core/virtual_bus.ts";

// How long `-v --periodic` waits for a server's refusal before saying a task runs.
const SETTLE_SECONDS = 0.3;

/** The send tool's help text. */
export const USAGE: string = `Usage: send [options] FRAME...
       send --dbc FILE [options] MESSAGE [SIGNAL=VALUE...]

Sends each FRAME, in order, in cansend syntax:
  123#DEADBEEF          standard id 123, 4 data bytes
  1F334455#11.22.33     extended id (8 digits), dots allowed between bytes
  123#R  123#R8         remote frame, with an optional DLC
  123##1AABBCCDD        CAN FD: ## then a flags digit (1 = bit rate switch, 2 = ESI)
  20000080#0000000000000000   error frame (CAN_ERR_FLAG set in the id)

With --dbc, the frame is MESSAGE of the DBC file built from signal values:
physical numbers (EngineSpeed=1500) or value-table labels (Gear=Third);
signals left out take their GenSigStartValue, or 0.

Options:
      --periodic MS       send the frames every MS milliseconds until Ctrl-C
                          (one periodic task per frame; their ids must differ)
      --duration SECONDS  with --periodic: stop after SECONDS
  -v, --verbose           print each frame once the bus took it (a server: after the
                          last frame, or 0.3 s after starting --periodic tasks)
${DBC_USAGE}
${BUS_USAGE}
  -h, --help              this text

A server may refuse frames (a read-only token, an id it does not allow, a
period under its minimum): send then prints the server's message, stops a
--periodic run and exits with 1.

Examples:
  deno task send -i remote -c ws://127.0.0.1:54701/ 123#DEADBEEF
  deno run -A jsr:@canremote/server/send -i socketcan -c vcan0 123#11 124#22 1F334455#R
  deno task send -i remote -c ws://pi:54701/ --periodic 100 100#0102030405060708
  deno task send --periodic 10 --duration 5 7DF#0201000000000000   # bus from ~/.canrc
  deno task send -i remote -c ws://pi:54701/ --dbc truck.dbc EEC1 EngineSpeed=1500
  deno task send --dbc car.dbc --periodic 50 Transmission Gear=Third BrakePressed=1`;

const OPTIONS = {
  ...BUS_OPTIONS,
  periodic: { type: "string" },
  duration: { type: "string" },
  verbose: { type: "boolean", short: "v" },
  dbc: { type: "string", multiple: true },
} as const;

/**
 * Runs the send tool.
 *
 * @param args Command-line arguments, as {@linkcode USAGE} describes.
 * @param io Output streams, stop signal and configuration sources; the process's by default.
 * @returns The exit code: 0 once sent, 1 on an error or when the server refused a frame or
 *   task, 2 for bad arguments or frames.
 * @example The help text
 * ```ts
 * import { main } from "./send.ts";
 * let text = "";
 * const stdout = new WritableStream<Uint8Array>({
 *   write: (chunk) => void (text += new TextDecoder().decode(chunk)),
 * });
 * const code = await main(["--help"], { stdout });
 * if (code !== 0 || !text.startsWith("Usage: send")) throw new Error(text);
 * ```
 */
export function main(args: string[], io: ToolIo = {}): Promise<number> {
  return runTool("send", io, async (stderr) => {
    const { values, positionals, extra } = parse(args, OPTIONS, true);
    if (values.help) return await printUsage(USAGE, io);
    const dbc = await loadDbcFiles(values.dbc);
    if (positionals.length === 0) {
      throw new UsageError(
        dbc
          ? "give a message, such as EEC1 EngineSpeed=1500"
          : "give at least one frame, such as 123#DEADBEEF",
      );
    }
    const frames: CanFrame[] = dbc ? [signalFrame(dbc, positionals)] : positionals.map((text) => {
      try {
        return parseCansend(text);
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
    });
    const periodMs = numberFlag("periodic", values.periodic, 1);
    const duration = numberFlag("duration", values.duration, 0);
    if (duration !== undefined && periodMs === undefined) {
      throw new UsageError("--duration goes with --periodic");
    }
    if (periodMs !== undefined) {
      const ids = new Set(frames.map((f) => `${f.isExtendedId}:${f.arbitrationId}`));
      if (ids.size !== frames.length) {
        throw new UsageError("periodic frames need different ids: a task is named by its id");
      }
    }
    using stop = stopSignal(io);
    await using bus = await openBus(values, extra, io, { signal: stop });
    // A periodic_stop for a task the server refused or already ended gets
    // "No periodic task ..." back: not a refusal of anything sent.
    const refusals = new Refusals(bus, "send", stderr, /^No periodic task /);
    // A local bus throws from send(); a server's refusal comes later, as an event.
    const remote = bus instanceof RemoteBus;
    const out = values.verbose ? new TextWriter(io.stdout ?? Deno.stdout.writable) : undefined;
    const print = async (lines: string[]) => {
      for (const line of lines.splice(0)) await out?.write(line + "\n");
    };
    const accepted: string[] = [];
    try {
      if (periodMs === undefined) {
        for (const frame of frames) {
          await bus.send(frame);
          accepted.push(stringifyCansend(frame));
          if (!remote) await print(accepted);
        }
      } else {
        const start = performance.now();
        const run = AbortSignal.any([stop, refusals.signal]);
        const tasks: PeriodicTask[] = frames.map((frame) =>
          bus.sendPeriodic(frame, periodMs / 1000, duration === undefined ? {} : { duration })
        );
        accepted.push(...frames.map((frame) => `${stringifyCansend(frame)} every ${periodMs} ms`));
        const seconds = duration ?? Infinity;
        // A server refuses a task within a round trip; the lines wait for that.
        if (remote && out) await sleep(Math.min(SETTLE_SECONDS, seconds), run);
        if (!refusals.signal.aborted) await print(accepted);
        await sleep(Math.max(0, seconds - (performance.now() - start) / 1000), run);
        for (const task of tasks) task.stop();
      }
      await bus.close();
      if (await refusals.done()) return 1;
      await print(accepted);
      return 0;
    } finally {
      out?.release();
    }
  });
}

// MESSAGE SIGNAL=VALUE... encoded with the DBC files; a bad value is a usage error.
function signalFrame(dbc: DbcCollection, [message, ...assignments]: string[]): CanFrame {
  const values = parseSignalValues(assignments);
  try {
    return dbc.encode(message, values);
  } catch (error) {
    if (error instanceof RangeError || error instanceof TypeError) {
      throw new UsageError(error.message);
    }
    throw error;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
