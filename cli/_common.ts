// What the command-line tools share: python-can's bus flags (-i, -c, -b,
// --fd, --data_bitrate, extra --key=value options), --filter ID:MASK,
// text output with back-pressure, and Ctrl-C/SIGTERM handling.
import { parseArgs } from "node:util";
import type { CanFilter } from "../core/bus.ts";
import type { Environment } from "../config/canrc.ts";
import { type AnyBus, createBus } from "../config/create_bus.ts";
import type { VirtualNetwork } from "../core/virtual_bus.ts";
import { sleep as sleepMs } from "../core/_sleep.ts";
import { configBitrate } from "../config/config_values.ts";

/**
 * What a tool's `main()` uses from its surroundings; everything defaults to
 * the process's own, so tests can run a tool in-process.
 */
export interface ToolIo {
  /** Where frames and results go. @default {Deno.stdout.writable} */
  stdout?: WritableStream<Uint8Array>;
  /** Where messages and the status line go. @default {Deno.stderr.writable} */
  stderr?: WritableStream<Uint8Array>;
  /** Stops the tool as Ctrl-C does. Without it, SIGINT and SIGTERM do. */
  signal?: AbortSignal;
  /** Environment for the bus configuration. @default {Deno.env} */
  env?: Environment;
  /** Config files to read instead of python-can's list. */
  configPath?: string | readonly string[];
  /** The network `-i virtual` joins. */
  network?: VirtualNetwork;
  /** Draw the status line as on a terminal. @default {Deno.stderr.isTerminal()} */
  isTerminal?: boolean;
}

/** The bus flags every tool takes, in `parseArgs` form (python-can's names). */
export const BUS_OPTIONS = {
  interface: { type: "string", short: "i" },
  channel: { type: "string", short: "c" },
  bitrate: { type: "string", short: "b" },
  fd: { type: "boolean" },
  data_bitrate: { type: "string" },
  "data-bitrate": { type: "string" },
  context: { type: "string" },
  ca: { type: "string" },
  token: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** Usage lines of {@linkcode BUS_OPTIONS}. */
export const BUS_USAGE =
  `Bus options (python-can's; the rest comes from ~/.canrc and CAN_* as in python-can):
  -i, --interface NAME    remote, virtual, socketcan or mqtt
  -c, --channel CHANNEL   remote: the server, ws://HOST:54701/; socketcan: can0, vcan0;
                          mqtt: a fleet gateway's channel, mqtt://HOST:1883/GATEWAY/CHANNEL
  -b, --bitrate BPS       bit rate
      --fd                CAN FD
      --data_bitrate BPS  CAN FD data phase bit rate
      --context NAME      config file section [NAME] and CAN_*_NAME variables
      --ca FILE           remote: trust this CA's certificate (PEM) for a wss:// server
                          besides the system's (or DENO_CERT=FILE for the whole process)
      --token TOKEN       remote: the server's access token (or token = in ~/.canrc)
      --KEY=VALUE         any other option of the interface (--receive_own_messages=True)`;

/** A usage error: the tool prints it with a hint and exits with 2. */
export class UsageError extends Error {
  /** @param message What is wrong, quoting the value. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * Splits python-can style extra options (`--app-name=x`, not one of the
 * tool's own flags) from the rest, converting values as python-can's
 * `_parse_additional_config` does (integers, floats, `True`/`False`).
 */
export function splitExtraArgs(
  args: readonly string[],
  known: Record<string, unknown>,
): { args: string[]; extra: Record<string, unknown> } {
  const rest: string[] = [];
  const extra: Record<string, unknown> = {};
  for (const [i, arg] of args.entries()) {
    if (arg === "--") {
      rest.push(...args.slice(i));
      break;
    }
    const match = /^--([a-zA-Z][a-zA-Z_-]*)=(\S*)$/.exec(arg);
    if (!match || match[1] in known) {
      rest.push(arg);
      continue;
    }
    const [, name, text] = match;
    const key = name.replaceAll("-", "_");
    if (/^[-+]?\d+$/.test(text)) extra[key] = Number(text);
    else if (/^[-+]?\d*\.\d+$/.test(text)) extra[key] = Number(text);
    else if (text === "True" || text === "False") extra[key] = text === "True";
    else extra[key] = text;
  }
  return { args: rest, extra };
}

// What python-can's --filter values look like: ID:MASK or ID~MASK in hex.
const FILTER_LIKE = /^(?:0x)?[0-9a-fA-F]+[:~](?:0x)?[0-9a-fA-F]+$/;

/**
 * Rewrites python-can's `--filter A B C` (argparse `nargs="+"`) as
 * `--filter A --filter B --filter C`: the arguments after a `--filter`
 * value that look like filters (`ID:MASK`, `ID~MASK`) are more filters.
 */
export function expandFilters(args: readonly string[]): string[] {
  const out: string[] = [];
  let more = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      out.push(...args.slice(i));
      break;
    }
    if (more && FILTER_LIKE.test(arg)) {
      out.push(`--filter=${arg}`);
      continue;
    }
    more = false;
    out.push(arg);
    if (arg === "--filter" && i + 1 < args.length) {
      out.push(args[++i]);
      more = true;
    } else if (arg.startsWith("--filter=")) {
      more = true;
    }
  }
  return out;
}

// Certificate flags people try; as --KEY=VALUE they would go to the server as config keys.
const CA_FLAG = /^--(ca[_-]?file|ca[_-]certs?|ssl[_-]context)(=|$)/;

/** Parses the tool's arguments; a bad flag becomes a {@linkcode UsageError}. */
export function parse<
  T extends Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }>,
>(
  args: readonly string[],
  options: T,
  allowPositionals: boolean,
) {
  const ca = args.find((arg) => CA_FLAG.test(arg));
  if (ca !== undefined) {
    throw new UsageError(
      `${ca.split("=")[0]}: the tools trust a private CA for wss:// with --ca FILE ` +
        `(or DENO_CERT=FILE in the environment)`,
    );
  }
  const split = splitExtraArgs("filter" in options ? expandFilters(args) : args, options);
  try {
    const parsed = parseArgs({
      args: split.args,
      options,
      strict: true,
      allowPositionals,
    });
    return { ...parsed, extra: split.extra };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** Parses a non-negative integer flag; `k`, `M` and `G` multiply by 1000s when `units` is set. */
export function integerFlag(
  name: string,
  value: string | undefined,
  units = false,
): number | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+)([kKMG]?)$/.exec(value.trim());
  if (!match || (!units && match[2])) {
    throw new UsageError(
      `--${name} must be a whole number${units ? " (with k, M or G)" : ""}, got "${value}"`,
    );
  }
  const scale = { "": 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9 }[match[2]]!;
  return Number(match[1]) * scale;
}

/**
 * Parses a bit rate flag as the server does: bit/s, `k` or `M` allowed.
 * @throws {UsageError} `--bitrate must be a bit rate in bit/s, such as 500000 or 500k, got "fast"`.
 */
export function bitrateFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  try {
    return configBitrate(value, name);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** Parses a number flag (seconds, factors) of at least `min`, or above it when `above` is set. */
export function numberFlag(
  name: string,
  value: string | undefined,
  min = 0,
  above = false,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < min || (above && n === min)) {
    throw new UsageError(
      `--${name} must be a number ${above ? "above" : "of at least"} ${min}, got "${value}"`,
    );
  }
  return n;
}

/**
 * Parses `--filter` values as python-can's tools do: `ID:MASK` in hex,
 * several in one value separated by spaces or commas (several values after
 * one `--filter` are split by {@linkcode expandFilters}).
 */
export function parseFilters(values: readonly string[] | undefined): CanFilter[] | undefined {
  if (!values?.length) return undefined;
  const filters: CanFilter[] = [];
  for (const text of values.flatMap((v) => v.split(/[\s,]+/)).filter(Boolean)) {
    const match = /^(?:0x)?([0-9a-fA-F]{1,8}):(?:0x)?([0-9a-fA-F]{1,8})$/.exec(text);
    if (!match) {
      throw new UsageError(
        text.includes("~")
          ? `--filter ${JSON.stringify(text)}: inverted filters (ID~MASK) are not supported`
          : `--filter ${JSON.stringify(text)} is not ID:MASK in hex, such as 100:7F0`,
      );
    }
    filters.push({ canId: parseInt(match[1], 16), canMask: parseInt(match[2], 16) });
  }
  return filters;
}

/** Opens the bus the flags and the configuration name. */
export function openBus(
  values: Record<string, unknown>,
  extra: Record<string, unknown>,
  io: ToolIo,
  more: { canFilters?: CanFilter[]; signal?: AbortSignal; reconnect?: boolean } = {},
): Promise<AnyBus> {
  const dataBitrate = values.data_bitrate ?? values["data-bitrate"];
  // --token TOKEN is the same as python-can's --token=TOKEN: a config key.
  if (values.token !== undefined) extra = { ...extra, token: values.token };
  const httpClient = values.ca === undefined ? undefined : caClient(values.ca as string);
  const opening = createBus({
    interface: values.interface as string | undefined,
    channel: values.channel as string | undefined,
    bitrate: bitrateFlag("--bitrate", values.bitrate as string | undefined),
    dataBitrate: bitrateFlag("--data_bitrate", dataBitrate as string | undefined),
    fd: values.fd ? true : undefined,
    context: values.context as string | undefined,
    config: extra,
    canFilters: more.canFilters,
    env: io.env,
    configPath: io.configPath,
    network: io.network,
    signal: more.signal,
    reconnect: more.reconnect,
    httpClient,
  });
  if (!httpClient) return opening;
  return opening.then((bus) => {
    // The HTTP client lives as long as the bus: closed once the bus is.
    const close = bus.close.bind(bus);
    let closing: Promise<void> | undefined;
    bus.close = () => closing ??= close().finally(() => httpClient.close());
    return bus;
  }, (error) => {
    httpClient.close();
    throw error;
  });
}

// An HTTP client that trusts the CA in `path` besides the system's roots.
function caClient(path: string): Deno.HttpClient {
  let pem: string;
  try {
    pem = Deno.readTextFileSync(path);
  } catch (error) {
    throw new UsageError(`--ca ${JSON.stringify(path)}: ${(error as Error).message}`);
  }
  if (!pem.includes("-----BEGIN CERTIFICATE-----")) {
    throw new UsageError(`--ca ${JSON.stringify(path)} holds no PEM certificate`);
  }
  return Deno.createHttpClient({ caCerts: [pem] });
}

/** Text output over a byte stream, waiting when the reader is slow. */
export class TextWriter {
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #encoder = new TextEncoder();

  /** @param stream The stream; it is released, not closed, by {@linkcode TextWriter.release}. */
  constructor(stream: WritableStream<Uint8Array>) {
    this.#writer = stream.getWriter();
  }

  /** Writes text. */
  async write(text: string): Promise<void> {
    await this.#writer.ready;
    await this.#writer.write(this.#encoder.encode(text));
  }

  /** Gives the stream back (without closing stdout). */
  release(): void {
    this.#writer.releaseLock();
  }
}

/** Prints a tool's help text on `io.stdout`; returns the exit code 0. */
export async function printUsage(usage: string, io: ToolIo): Promise<number> {
  const out = new TextWriter(io.stdout ?? Deno.stdout.writable);
  try {
    await out.write(usage + "\n");
  } finally {
    out.release();
  }
  return 0;
}

/** A sink over `stream` that does not close it: for writers that close their sink. */
export function unclosable(stream: WritableStream<Uint8Array>): WritableStream<Uint8Array> {
  const writer = stream.getWriter();
  return new WritableStream({
    write: (chunk) => writer.write(chunk),
    close: () => writer.releaseLock(),
    abort: () => writer.releaseLock(),
  });
}

/** The tool's stop signal: `io.signal`, or SIGINT/SIGTERM. Dispose it to remove the listeners. */
export function stopSignal(io: ToolIo): AbortSignal & Disposable {
  const controller = new AbortController();
  const listeners: [Deno.Signal, () => void][] = [];
  if (io.signal) {
    if (io.signal.aborted) controller.abort(io.signal.reason);
    else {io.signal.addEventListener("abort", () => controller.abort(io.signal!.reason), {
        once: true,
      });}
  } else {
    for (const name of ["SIGINT", "SIGTERM"] as const) {
      const listener = () => controller.abort(new DOMException(name, "AbortError"));
      try {
        Deno.addSignalListener(name, listener);
        listeners.push([name, listener]);
      } catch {
        // SIGTERM does not exist on Windows.
      }
    }
  }
  return Object.assign(controller.signal, {
    [Symbol.dispose]() {
      for (const [name, listener] of listeners) Deno.removeSignalListener(name, listener);
    },
  });
}

/** Waits `seconds` (`Infinity`: until the signal), or less when `signal` aborts. */
export function sleep(seconds: number, signal: AbortSignal): Promise<void> {
  // setTimeout() fires at once for delays beyond 2^31 - 1 ms.
  const ms = seconds * 1000;
  return sleepMs(ms < 2 ** 31 ? ms : Infinity, signal);
}

/**
 * Runs a tool body with its error handling: usage errors print the message
 * and a `--help` hint (exit 2), other errors their message (exit 1).
 */
export async function runTool(
  name: string,
  io: ToolIo,
  body: (stderr: TextWriter) => Promise<number>,
): Promise<number> {
  const stderr = new TextWriter(io.stderr ?? Deno.stderr.writable);
  try {
    return await body(stderr);
  } catch (error) {
    if (error instanceof UsageError) {
      await stderr.write(`${name}: ${error.message}\nTry "${name} --help".\n`);
      return 2;
    }
    if (error instanceof Deno.errors.BrokenPipe) return 0;
    // Stopped while connecting: the reason is the signal's name.
    if (error instanceof DOMException && error.name === "AbortError") {
      await stderr.write(`${name}: interrupted (${error.message})\n`);
      return error.message === "SIGTERM" ? 143 : 130;
    }
    await stderr.write(`${name}: ${(error as Error)?.message ?? error}\n`);
    return 1;
  } finally {
    stderr.release();
  }
}
