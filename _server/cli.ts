// The server's command line: python-can-remote's flags, LogTape logging,
// clean shutdown on SIGINT/SIGTERM.
import { parseArgs } from "node:util";
import { configure, getConsoleSink, getLogger, getTextFormatter } from "@logtape/logtape";
import { serve } from "../server.ts";
import { DEFAULT_PORT } from "../protocol.ts";
import { VirtualBackend } from "./backend.ts";
import { startDemoTraffic } from "./demo.ts";
import { VirtualBus } from "../virtual_bus.ts";

export const USAGE = `Usage: canremote-server [options]

Shares a CAN bus with WebSocket clients (python-can-remote compatible) and
serves a web page to watch it.

Options:
  -i, --interface NAME  virtual or socketcan                   (default: virtual)
  -c, --channel NAME    channel to share; repeat for several    (default: 0 / can0)
                        ws://HOST:PORT/ is the first, ws://HOST:PORT/NAME each one
  -b, --bitrate BPS     bit rate set on the interface, forced on every client
  -H, --host ADDR       address to listen on                     (default: 127.0.0.1)
  -p, --port PORT       TCP port                                 (default: ${DEFAULT_PORT})
  -C, --cert FILE       PEM certificate: serve wss:// and https:// (with --key)
  -K, --key FILE        PEM private key
      --demo            send demo traffic on the (virtual) bus
  -v, --verbose         more log detail (repeat for debug)
  -h, --help            show this text

Examples:
  deno run -A jsr:@canremote/server --demo
  deno run -A jsr:@canremote/server -i socketcan -c can0 -b 500000 -H 0.0.0.0
  deno run -A jsr:@canremote/server -i virtual -c 0 -c 1 -p 54701

Python clients connect with:
  can.Bus("ws://127.0.0.1:${DEFAULT_PORT}/", interface="remote")`;

const OPTIONS = {
  interface: { type: "string", short: "i" },
  channel: { type: "string", short: "c", multiple: true },
  bitrate: { type: "string", short: "b" },
  host: { type: "string", short: "H" },
  port: { type: "string", short: "p" },
  cert: { type: "string", short: "C" },
  key: { type: "string", short: "K" },
  demo: { type: "boolean" },
  verbose: { type: "boolean", short: "v", multiple: true },
  help: { type: "boolean", short: "h" },
} as const;

function positiveInt(name: string, value: string | undefined, max = Number.MAX_SAFE_INTEGER) {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > max) {
    throw new RangeError(`--${name} must be an integer 0-${max}, got "${value}"`);
  }
  return n;
}

/** Runs the server until SIGINT/SIGTERM. @returns The exit code. */
export async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: false }).values;
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (parsed.help) {
    console.log(USAGE);
    return 0;
  }
  const verbosity = parsed.verbose?.length ?? 0;
  await configure({
    sinks: {
      console: getConsoleSink({
        formatter: getTextFormatter({
          timestamp: "time",
          value: (v, inspect) => typeof v === "string" ? v : inspect(v),
        }),
      }),
    },
    loggers: [
      {
        category: ["canremote"],
        lowestLevel: verbosity >= 1 ? "debug" : "info",
        sinks: ["console"],
      },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["console"] },
    ],
  });
  const log = getLogger(["canremote", "server"]);
  const iface = parsed.interface ?? "virtual";
  if (iface !== "virtual" && iface !== "socketcan") {
    console.error(`Unknown interface "${iface}": use virtual or socketcan`);
    return 2;
  }
  let server;
  try {
    const channels = parsed.channel ?? [iface === "virtual" ? "0" : "can0"];
    const readFile = (path: string | undefined) =>
      path === undefined ? undefined : Deno.readTextFileSync(path);
    if ((parsed.cert === undefined) !== (parsed.key === undefined)) {
      throw new TypeError("--cert and --key go together");
    }
    server = await serve({
      interface: iface,
      channels,
      bitrate: positiveInt("bitrate", parsed.bitrate),
      hostname: parsed.host ?? "127.0.0.1",
      port: positiveInt("port", parsed.port, 65535) ?? DEFAULT_PORT,
      cert: readFile(parsed.cert),
      key: readFile(parsed.key),
    });
  } catch (error) {
    log.error("Cannot start: {message}", { message: (error as Error).message });
    return 1;
  }
  const stopDemo: (() => void)[] = [];
  if (parsed.demo) {
    if (!(server.backend instanceof VirtualBackend)) {
      log.warn("--demo only sends on the virtual interface; ignored");
    } else {
      for (const channel of server.backend.channels) {
        const bus = VirtualBus.open({ channel, network: server.backend.network });
        stopDemo.push(startDemoTraffic(bus), () => bus.close());
      }
    }
  }
  const channels = server.backend.channels;
  log.info("Sharing {iface} {channels}", { iface, channels: channels.join(", ") });
  for (const [i, channel] of channels.entries()) {
    const path = i === 0 ? "" : encodeURIComponent(channel);
    log.info("Channel {channel}: {url}", { channel, url: server.url + path });
  }
  log.info("Web page: {url}", { url: server.httpUrl });
  const { promise, resolve } = Promise.withResolvers<string>();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => resolve(signal));
  }
  const signal = await promise;
  log.info("{signal}: closing every client", { signal });
  for (const stop of stopDemo) stop();
  await server.close();
  return 0;
}
