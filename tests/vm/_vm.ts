// Helpers for the tests that need a kernel with SocketCAN (tests/vm/run.sh
// runs them in a qemu guest with vcan0 and vcan1 up). Elsewhere they are ignored.
import { listCanInterfaces } from "../../ffi/can_interfaces.ts";

function hasVcan0(): boolean {
  try {
    return listCanInterfaces().includes("vcan0");
  } catch {
    return false; // no read permission: not a SocketCAN test run
  }
}

/** vcan0 exists: SocketCAN tests can run. */
export const haveVcan: boolean = hasVcan0();

/** Inside the throw-away VM (as root): tests may add, remove and toggle interfaces. */
export const inVm: boolean = haveVcan && Deno.env.get("VCANVM") === "1";

/** Test options that skip a test outside a SocketCAN machine (or outside the VM). */
export const needsVcan = { ignore: !haveVcan } as const;
export const needsVm = { ignore: !inVm } as const;

const decoder = new TextDecoder();

/** Runs a command to completion; throws with its stderr when it fails. */
export async function run(command: string, ...args: string[]): Promise<string> {
  const output = await new Deno.Command(command, { args, stdin: "null" }).output();
  const stderr = decoder.decode(output.stderr).trim();
  if (!output.success) {
    throw new Error(`${command} ${args.join(" ")} exited with ${output.code}: ${stderr}`);
  }
  return decoder.decode(output.stdout);
}

let counter = 0;

/** Creates a vcan interface for one test (MTU 72 unless told) and deletes it afterwards. */
export async function withVcan<T>(
  fn: (name: string) => Promise<T>,
  options: { mtu?: number; up?: boolean } = {},
): Promise<T> {
  const name = `vtest${Deno.pid % 1000}x${counter++}`;
  await run("ip", "link", "add", "dev", name, "type", "vcan");
  try {
    await run("ip", "link", "set", name, "mtu", String(options.mtu ?? 72));
    if (options.up !== false) await run("ip", "link", "set", name, "up");
    return await fn(name);
  } finally {
    await run("ip", "link", "del", name).catch(() => {});
  }
}

/** Splits a byte stream into lines. */
export async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let rest = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    rest += chunk;
    const parts = rest.split("\n");
    rest = parts.pop()!;
    yield* parts;
  }
  if (rest) yield rest;
}

/**
 * A `candump -L` process on an interface. `ready()` sends a marker frame
 * until candump shows it (so it has bound its socket); `until()` collects
 * lines up to a closing marker. Marker lines (id 7FE) are left out.
 */
export class Candump {
  #process: Deno.ChildProcess;
  #lines: AsyncGenerator<string>;
  #iface: string;

  constructor(iface: string, extraArgs: string[] = []) {
    this.#iface = iface;
    this.#process = new Deno.Command("candump", {
      args: ["-L", ...extraArgs, iface],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    this.#lines = lines(this.#process.stdout);
  }

  #pending: Promise<IteratorResult<string>> | undefined;

  // Like #next but keeps an unfinished read for the next call (no lost lines).
  async #nextKeep(ms: number): Promise<string | undefined> {
    this.#pending ??= this.#lines.next();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) =>
      timer = setTimeout(() => resolve("timeout"), ms)
    );
    try {
      const result = await Promise.race([this.#pending, timeout]);
      if (result === "timeout") return undefined;
      this.#pending = undefined;
      return result.done ? undefined : result.value;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Waits until candump prints frames: sends `7FE#00` with cansend until one shows up. */
  async ready(): Promise<void> {
    for (let i = 0; i < 50; i++) {
      await run("cansend", this.#iface, "7FE#00");
      const line = await this.#nextKeep(200);
      if (line?.includes(" 7FE#00")) {
        // drain further markers that are already on their way
        while ((await this.#nextKeep(100))?.includes(" 7FE#00"));
        return;
      }
    }
    throw new Error(`candump on ${this.#iface} never got ready`);
  }

  /** Sends the closing marker `7FE#FF` and returns the lines before it (markers left out). */
  async until(maxMs = 10000): Promise<string[]> {
    await run("cansend", this.#iface, "7FE#FF");
    const got: string[] = [];
    const deadline = Date.now() + maxMs;
    while (Date.now() < deadline) {
      const line = await this.#nextKeep(deadline - Date.now());
      if (line === undefined) break;
      if (line.includes(" 7FE#FF")) return got;
      if (!line.includes(" 7FE#00")) got.push(line);
    }
    throw new Error(`candump on ${this.#iface}: no closing marker; got ${got.length} lines`);
  }

  async stop(): Promise<void> {
    try {
      this.#process.kill("SIGTERM");
    } catch { /* already gone */ }
    await this.#process.status;
    await this.#pending?.catch(() => {});
    await this.#lines.return(undefined).catch(() => {});
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

function isController(name: string): boolean {
  try {
    // A controller has a device behind it (a PCI card); vcan is virtual.
    return !Deno.realPathSync(`/sys/class/net/${name}`).startsWith("/sys/devices/virtual/");
  } catch {
    return false;
  }
}

function driverOf(name: string): string {
  try {
    return Deno.realPathSync(`/sys/class/net/${name}/device/driver`).split("/").pop()!;
  } catch {
    return "";
  }
}

/** can0 and can1 are emulated controllers on one bus (tests/vm/run.sh with VCANVM_HW set). */
export const haveCanHw: boolean = inVm && isController("can0") && isController("can1");
/** The driver of can0: `kvaser_pci` (VCANVM_HW=kvaser) or `ctucanfd_pci` (VCANVM_HW=ctucan). */
export const canDriver: string = haveCanHw ? driverOf("can0") : "";
/** Test options that skip a test without emulated SJA1000 controllers (VCANVM_HW=kvaser). */
export const needsCanHw = { ignore: canDriver !== "kvaser_pci" } as const;
/** Test options that skip a test without emulated CTU CAN FD controllers (VCANVM_HW=ctucan). */
export const needsCtucan = { ignore: canDriver !== "ctucanfd_pci" } as const;

/** Reads a counter of /sys/class/net/NAME/statistics. */
export function netStat(name: string, counter: string): number {
  return Number(Deno.readTextFileSync(`/sys/class/net/${name}/statistics/${counter}`).trim());
}

/** Takes both controllers down, as the VM starts them, for the next test. */
export async function resetControllers(): Promise<void> {
  for (const name of ["can0", "can1"]) await run("ip", "link", "set", name, "down");
}

/** Brings a controller up at a bit rate with `ip`, as an operator would. */
export async function ipUp(name: string, bitrate = 250000): Promise<void> {
  await run("ip", "link", "set", name, "type", "can", "bitrate", String(bitrate));
  await run("ip", "link", "set", name, "up");
}
