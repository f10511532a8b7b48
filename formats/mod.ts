/**
 * Log file formats for the logger and player tools: `.log` (`candump -L`),
 * `.asc` (Vector ASCII as python-can writes it), `.csv` (python-can's CSV)
 * and `.jsonl` (one JSON object per frame), each optionally gzipped
 * (`.gz`). {@linkcode openLogWriter} and {@linkcode readLogFile} choose the
 * format by file extension.
 *
 * @example
 * ```ts
 * import { openLogWriter, readLogFile } from "./mod.ts";
 * import { createFrame } from "../core/frame.ts";
 * const path = await Deno.makeTempFile({ suffix: ".asc" });
 * const writer = await openLogWriter(path);
 * await writer.write(createFrame({ timestamp: 100, arbitrationId: 0x123, data: [1, 2] }));
 * await writer.write(createFrame({ timestamp: 100.5, arbitrationId: 0x124, data: [3] }));
 * await writer.close();
 * const frames = await Array.fromAsync(readLogFile(path));
 * if (frames[1].timestamp !== 0.5) throw new Error("ASC timestamps count from the first frame");
 * await Deno.remove(path);
 * ```
 *
 * @module
 */

export * from "./types.ts";
export * from "./candump_log.ts";
export * from "./asc.ts";
export * from "./csv.ts";
export * from "./jsonl.ts";
export * from "./log_file.ts";
