// Interop with the real python-can 4.1 (Debian's python3-can): files our
// writers make are read by can.LogReader, and files can.Logger makes are read
// by our readers exactly as can.LogReader reads them. One python process per format.
import { requires } from "../_helpers/requires.ts";
import fc from "fast-check";
import { pythonFloatRepr } from "../../formats/_python.ts";
import { openLogWriter, readLogFile } from "../../formats/log_file.ts";
import { type CanFrame, createFrame } from "../../core/frame.ts";
import { validFrame } from "../_helpers/arbitraries.ts";
import { assertEquals } from "../_helpers/assert.ts";
import { python } from "../_helpers/cli.ts";

// Reads `ours` with can.LogReader, writes `frames` with can.Logger to
// `theirs` and reads that back with can.LogReader; frames travel as JSON.
const SCRIPT = `
import json, sys
import can

def message(f):
    return can.Message(
        timestamp=float(f["timestamp"]), arbitration_id=f["arbitrationId"],
        is_extended_id=f["isExtendedId"], is_remote_frame=f["isRemoteFrame"],
        is_error_frame=f["isErrorFrame"], is_fd=f["isFd"],
        bitrate_switch=f["bitrateSwitch"], error_state_indicator=f["errorStateIndicator"],
        dlc=f["dlc"], data=bytes.fromhex(f["data"]), channel=f.get("channel"),
        is_rx=f.get("isRx", True))

def plain(m):
    f = {
        "timestamp": m.timestamp, "arbitrationId": m.arbitration_id,
        "isExtendedId": m.is_extended_id, "isRemoteFrame": m.is_remote_frame,
        "isErrorFrame": m.is_error_frame, "isFd": m.is_fd,
        "bitrateSwitch": m.bitrate_switch, "errorStateIndicator": m.error_state_indicator,
        "dlc": m.dlc, "data": bytes(m.data).hex(), "isRx": m.is_rx}
    if m.channel is not None:
        f["channel"] = m.channel
    return f

results = []
for job in json.load(sys.stdin):
    ours = [plain(m) for m in can.LogReader(job["ours"], **job["kwargs"])]
    with can.Logger(job["theirs"]) as logger:
        for f in job["frames"]:
            logger.on_message_received(message(f))
    theirs = [plain(m) for m in can.LogReader(job["theirs"], **job["kwargs"])]
    results.append({"ours": ours, "theirs": theirs})
json.dump(results, sys.stdout)
`;

/** A frame as the script exchanges it. */
interface Plain {
  timestamp: number;
  arbitrationId: number;
  isExtendedId: boolean;
  isRemoteFrame: boolean;
  isErrorFrame: boolean;
  isFd: boolean;
  bitrateSwitch: boolean;
  errorStateIndicator: boolean;
  dlc: number;
  data: string;
  channel?: string | number;
  isRx?: boolean;
}

function plain(frame: CanFrame): Plain {
  const p: Plain = {
    timestamp: frame.timestamp,
    arbitrationId: frame.arbitrationId,
    isExtendedId: frame.isExtendedId,
    isRemoteFrame: frame.isRemoteFrame,
    isErrorFrame: frame.isErrorFrame,
    isFd: frame.isFd,
    bitrateSwitch: frame.bitrateSwitch,
    errorStateIndicator: frame.errorStateIndicator,
    dlc: frame.dlc,
    data: Array.from(frame.data, (b) => b.toString(16).padStart(2, "0")).join(""),
  };
  if (frame.channel !== undefined) p.channel = frame.channel;
  if (frame.isRx !== undefined) p.isRx = frame.isRx;
  return p;
}

interface Job {
  suffix: string;
  frames: CanFrame[];
  /** `.asc` only: read with absolute timestamps (python-can's `relative_timestamp=False`). */
  absolute?: boolean;
}

interface Outcome {
  /** python-can's reading of the file our writer made. */
  pythonReadsOurs: Plain[];
  /** python-can's reading of the file its writer made. */
  pythonReadsTheirs: Plain[];
  /** Our reading of the file python-can's writer made. */
  weReadTheirs: Plain[];
  ourText: string;
  theirText: string;
}

async function runJobs(jobs: Job[]): Promise<Outcome[]> {
  const dir = await Deno.makeTempDir();
  try {
    const request = [];
    for (const [i, job] of jobs.entries()) {
      const ours = `${dir}/ours${i}${job.suffix}`;
      const writer = await openLogWriter(ours, { now: new Date(2023, 10, 14, 22, 13, 20, 5) });
      for (const frame of job.frames) await writer.write(frame);
      await writer.close();
      request.push({
        ours,
        theirs: `${dir}/theirs${i}${job.suffix}`,
        frames: job.frames.map(plain),
        kwargs: job.absolute ? { relative_timestamp: false } : {},
      });
    }
    const results = await python(SCRIPT, request) as { ours: Plain[]; theirs: Plain[] }[];
    const outcomes: Outcome[] = [];
    for (const [i, result] of results.entries()) {
      const options = { relativeTimestamp: !jobs[i].absolute };
      const weReadTheirs = (await Array.fromAsync(readLogFile(request[i].theirs, options))).map(
        plain,
      );
      const text = (path: string) => path.endsWith(".gz") ? "" : Deno.readTextFileSync(path);
      outcomes.push({
        pythonReadsOurs: result.ours,
        pythonReadsTheirs: result.theirs,
        weReadTheirs,
        ourText: text(request[i].ours),
        theirText: text(request[i].theirs),
      });
    }
    return outcomes;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Random valid frames in time order, on a few channels, with a direction. */
function randomFrames(seed: number, count: number): CanFrame[] {
  return fc.sample(validFrame, { numRuns: count, seed })
    .map((f, i) => ({ ...f, channel: `can${i % 3}`, isRx: i % 4 !== 0 }))
    .sort((a, b) => a.timestamp - b.timestamp);
}

const micro = (t: number) => parseFloat(t.toFixed(6));

/** python-can's Message for an error frame it read from .log or .asc: all defaults. */
function pythonErrorFrame(timestamp: number, extra: Partial<Plain> = {}): Plain {
  return {
    timestamp,
    arbitrationId: 0,
    isExtendedId: true,
    isRemoteFrame: false,
    isErrorFrame: true,
    isFd: false,
    bitrateSwitch: false,
    errorStateIndicator: false,
    dlc: 0,
    data: "",
    isRx: true,
    ...extra,
  };
}

Deno.test(
  "python-can reads our .log files, and we read its .log files as it does",
  requires("python3-can"),
  async () => {
    // python-can only takes an error frame for one when its id has CAN_ERR_BUSERROR (0x80).
    const frames = randomFrames(1, 200).filter((f) => !f.isErrorFrame);
    frames.push(
      createFrame({
        timestamp: frames[frames.length - 1].timestamp + 1,
        arbitrationId: 0x80,
        isExtendedId: false,
        isErrorFrame: true,
        data: new Uint8Array(8),
        channel: "can0",
      }),
    );
    const [plainJob, gzJob] = await runJobs([{ suffix: ".log", frames }, {
      suffix: ".log.gz",
      frames: frames.slice(0, 20),
    }]);
    for (const [job, sent] of [[plainJob, frames], [gzJob, frames.slice(0, 20)]] as const) {
      assertEquals(
        job.pythonReadsOurs,
        sent.map((f) =>
          f.isErrorFrame
            ? pythonErrorFrame(micro(f.timestamp))
            : { ...plain(f), timestamp: micro(f.timestamp), isRx: f.isRx ?? true }
        ),
      );
      // python-can writes an error frame as 20000080# with its data and reads it back
      // as a blank error frame; we read the id's error class, the data and the channel.
      const theirs = job.pythonReadsTheirs.map((p) =>
        p.isErrorFrame ? { timestamp: p.timestamp } : p
      );
      const ours = job.weReadTheirs.map((p) => p.isErrorFrame ? { timestamp: p.timestamp } : p);
      assertEquals(ours, theirs);
    }
    const errorLine = plainJob.theirText.trimEnd().split("\n").pop();
    assertEquals(errorLine?.split(" ").slice(1), ["can0", "20000080#0000000000000000"]);
  },
);

Deno.test(
  "python-can reads our .asc files, and we write and read .asc exactly as it does",
  requires("python3-can"),
  async () => {
    // python-can reads an empty CAN FD frame as an FD remote frame, which the frame model has not.
    const random = randomFrames(2, 200).filter((f) => !(f.isFd && f.data.length === 0));
    // Also a measurement of today, so that the trigger block's date has a fraction.
    const today = random.map((f, i) => ({ ...f, timestamp: 1700000000.123456 + i * 0.0123457 }));
    const jobs = await runJobs([
      { suffix: ".asc", frames: random },
      { suffix: ".asc", frames: today },
      { suffix: ".asc", frames: today, absolute: true },
    ]);
    for (const [i, frames] of [random, today].entries()) {
      const job = jobs[i];
      const t0 = frames[0].timestamp;
      assertEquals(
        job.pythonReadsOurs,
        frames.map((f) => {
          const channel = Number(String(f.channel).slice(3));
          if (f.isErrorFrame) return pythonErrorFrame(micro(f.timestamp - t0), { channel: 0 });
          return { ...plain(f), timestamp: micro(f.timestamp - t0), channel, isRx: f.isRx ?? true };
        }),
      );
      assertEquals(job.weReadTheirs, job.pythonReadsTheirs);
      // Byte for byte, but for the "date" line that holds the writer's creation time.
      const body = (text: string) => text.split("\n").slice(1).join("\n");
      assertEquals(body(job.ourText), body(job.theirText));
    }
    assertEquals(jobs[1].ourText.split("\n")[3].split(".")[1].slice(0, 3), "123");
    // Absolute timestamps: the trigger block's local time (to the millisecond) plus the offset.
    assertEquals(jobs[2].weReadTheirs, jobs[2].pythonReadsTheirs);
    const absolute = jobs[2].weReadTheirs.map((p) => p.timestamp);
    assertEquals(jobs[2].pythonReadsOurs.map((p) => p.timestamp), absolute);
    assertEquals(absolute.every((t, i) => Math.abs(t - today[i].timestamp) < 0.001), true);
  },
);

Deno.test(
  "python-can reads our .csv files, and we write and read .csv exactly as it does",
  requires("python3-can"),
  async () => {
    const frames = randomFrames(3, 200);
    const [job, gzJob] = await runJobs([{ suffix: ".csv", frames }, { suffix: ".csv.gz", frames }]);
    const expected = frames.map((f) => ({
      ...plain(f),
      // No FD, channel or direction columns; python-can's defaults fill them.
      isFd: false,
      bitrateSwitch: false,
      errorStateIndicator: false,
      channel: undefined,
      isRx: true,
    })).map(({ channel: _, ...rest }) => rest);
    assertEquals(job.pythonReadsOurs, expected);
    assertEquals(gzJob.pythonReadsOurs, expected);
    // We mark frames with more than 8 bytes as FD; python-can cannot and says is_rx.
    const ours = job.weReadTheirs.map((p) => ({ ...p, isFd: false, isRx: true }));
    assertEquals(ours, job.pythonReadsTheirs);
    assertEquals(job.ourText, job.theirText);
    assertEquals(job.ourText.split("\n")[1].split(",")[0], pythonFloatRepr(frames[0].timestamp));
  },
);
