// The server's command line: python-can-remote's flags, LogTape logging,
// clean shutdown on SIGINT/SIGTERM.
import { parseArgs } from "node:util";
import { configure, getConsoleSink, getLogger, getTextFormatter } from "@logtape/logtape";
import { serve } from "./serve.ts";
import { DEFAULT_PORT } from "../core/protocol.ts";
import { VirtualBackend } from "./backends/backend.ts";
import { DEMO_DBC, startDemoTraffic } from "./backends/demo.ts";
import { readDbcFiles } from "./dbc_files.ts";
import { VirtualBus } from "../core/virtual_bus.ts";
import type { TokenEntry } from "./access/auth.ts";
import { parseIdRange } from "./limits.ts";
import { MQTT_OPTIONS, MQTT_USAGE, mqttFlagOptions } from "./mqtt/cli_options.ts";
import { MqttBackend } from "./backends/mqtt.ts";
import { MqttGateway } from "./mqtt/gateway.ts";
import { configBitrate } from "../config/config_values.ts";
import { serverBus } from "./bus_defaults.ts";
import { RelayBackend } from "./backends/relay.ts";

// The interfaces a server shares: per-client buses, a relay of one upstream, or an MQTT hub.
const SHARABLE = ["virtual", "socketcan", "remote", "mqtt"] as const;
const isSharable = (name: string): name is typeof SHARABLE[number] =>
  (SHARABLE as readonly string[]).includes(name);

export const USAGE = `Usage: canremote-server [options]

Shares a CAN bus with WebSocket clients (python-can-remote compatible) and
serves a web page to watch it.

Options:
  -i, --interface NAME  virtual, socketcan, remote (relay another server)
                        or mqtt (a hub of gateways' channels)
                        (default: python-can's configuration, else virtual)
  -c, --channel NAME    channel to share; repeat for several    (default: 0 / can0)
                        ws://HOST:PORT/ is the first, ws://HOST:PORT/NAME each one;
                        remote: the upstream server's URL
  -b, --bitrate BPS     bit rate set on the interface, forced on every client
                        (bit/s: 500000 or 500k)
      --context NAME    config section [NAME] and CAN_*_NAME variables
                        (without -i/-c/-b they come from ~/.canrc, /etc/can.conf
                        and CAN_* as in python-can; the log says which)
                        (socketcan: set over netlink, then the link is brought up)
      --fd              socketcan: CAN FD mode on (with --data-bitrate)
      --data-bitrate BPS
                        socketcan: CAN FD data-phase bit rate
      --restart-ms MS   socketcan: restart automatically MS after bus-off
      --listen-only     socketcan: the controller never sends (not even ACKs)
                        Without any of these the server never changes a link;
                        changing one needs CAP_NET_ADMIN (root, or setcap)
  -H, --host ADDR       address to listen on                     (default: 127.0.0.1)
                        any other address needs tokens or --insecure
  -p, --port PORT       TCP port                                 (default: ${DEFAULT_PORT})
  -C, --cert FILE       PEM certificate: serve wss:// and https:// (with --key)
  -K, --key FILE        PEM private key
      --demo            send demo traffic on the (virtual) bus, and offer the
                        page a DBC file that decodes it
      --dbc FILE        a DBC file the web page offers for decoding signals
                        (GET /api/dbc); repeatable
  -v, --verbose         more log detail (repeat for debug)
  -h, --help            show this text

Access:
  -t, --token TOKEN     a read-write token (send, periodic, receive); repeatable
      --read-only-token TOKEN
                        a read-only token (receive only); repeatable
  -T, --tokens-file FILE
                        one "TOKEN ROLE [CHANNEL,...]" per line, ROLE rw or ro;
                        reloaded on SIGHUP (clients whose token went are closed)
      --insecure        listen on a non-loopback --host without tokens
      --allow-origin ORIGIN
                        a web origin whose pages may connect besides the
                        server's own, e.g. https://dash.lab:8443; repeatable
      --trusted-proxy ADDR
                        the IP address of a reverse proxy in front of the
                        server: its X-Forwarded-For names the client (for
                        --max-auth-failures and the logs); repeatable

Limits (per client unless said):
      --max-clients N             clients at once, server-wide  (default: 256)
      --max-pending N             connections not yet admitted (no valid token
                                  or no bus_request yet), server-wide;
                                  more get HTTP 503             (default: 128)
      --max-connections N         connections that have not sent a whole
                                  request head (or finished their TLS
                                  handshake), server-wide; more are
                                  closed at once                (default: 512)
      --header-timeout SECONDS    time to send a whole request head (TLS
                                  handshake included); then the
                                  connection is closed          (default: 10)
      --max-auth-failures N       wrong tokens from one address in a
                                  minute, then HTTP 429 until that
                                  minute is over; 0: no limit   (default: 10)
      --max-message-size BYTES    larger messages close 1009    (default: 65536)
      --max-config-size BYTES     larger bus_request close 1009 (default: 16384)
      --max-send-rate N           frames/s; 0 for no limit      (default: 10000)
      --send-burst N              frames at once above the rate (default: 1000)
      --allow-id RANGE            ids clients may send, hex: 123 or 100-1FF;
                                  repeatable                    (default: all)
      --max-periodic-tasks N      periodic tasks                (default: 64)
      --min-period SECONDS        shortest period               (default: 0.001)
      --max-buffered-bytes BYTES  queued for a slow reader      (default: 1048576)
      --max-pending-sends N       frames waiting for the bus    (default: 4096)
      --max-pending-input N       messages before bus_response  (default: 1024)
      --request-timeout MS        time to send the bus_request  (default: 10000)

${MQTT_USAGE}

Security model:
  what is protected          how
  -------------------------  ----------------------------------------------------
  reaching the server        127.0.0.1 unless --host; another address needs
                             tokens or --insecure (logged as a warning)
  using the bus              tokens: Bearer header, subprotocol entry or the
                             config's token; wrong or missing: HTTP 401 or
                             close 4401 before any bus is opened
  sending frames             role rw; ro tokens get "read-only client" errors
  other channels             a token's channel list: HTTP 403 or close 4403
  guessing tokens            --max-auth-failures wrong tokens a minute from one
                             address, then HTTP 429 (IPv6: per /64)
  token-less connections     wait apart from the clients (--max-pending), so
                             they cannot fill --max-clients
  the channel list           /api/channels needs a token when tokens are set
  the DBC files (--dbc)      /api/dbc needs a token when tokens are set
  browsers on other sites    Origin must be the server's or --allow-origin: 403
  framing the page           only the server's own pages and --allow-origin
                             ones may show it in a frame (clickjacking)
  DNS rebinding              on loopback, Host must be a loopback name: 403
  the interface and bitrate  set by the server; a client naming another
                             interface or channel is closed with 4400
  eavesdropping              --cert/--key for wss:// and https://
  the bus and other clients  the limits above; each refusal hits one client
  the logs                   tokens are never logged; client text is escaped,
                             cut short, and its error events rate-limited

Examples:
  deno run -A jsr:@canremote/server --demo
  deno run -A jsr:@canremote/server -i socketcan -c can0 -b 500000 \\
      -H 0.0.0.0 -T /etc/canremote/tokens -C cert.pem -K key.pem
  deno run -A jsr:@canremote/server -i virtual -c 0 -c 1 -p 54701
  deno run -A jsr:@canremote/server -i remote -c ws://gateway:54701/ -H 0.0.0.0 -T tokens
  deno run -A jsr:@canremote/server -i socketcan -c can0 --dbc vehicle.dbc

Python clients connect with:
  can.Bus("ws://127.0.0.1:${DEFAULT_PORT}/", interface="remote")
  can.Bus("wss://canbox.lab:${DEFAULT_PORT}/", interface="remote", token="...")`;

const OPTIONS = {
  interface: { type: "string", short: "i" },
  channel: { type: "string", short: "c", multiple: true },
  bitrate: { type: "string", short: "b" },
  host: { type: "string", short: "H" },
  port: { type: "string", short: "p" },
  cert: { type: "string", short: "C" },
  key: { type: "string", short: "K" },
  demo: { type: "boolean" },
  dbc: { type: "string", multiple: true },
  fd: { type: "boolean" },
  "data-bitrate": { type: "string" },
  "restart-ms": { type: "string" },
  "listen-only": { type: "boolean" },
  verbose: { type: "boolean", short: "v", multiple: true },
  context: { type: "string" },
  help: { type: "boolean", short: "h" },
  token: { type: "string", short: "t", multiple: true },
  "read-only-token": { type: "string", multiple: true },
  "tokens-file": { type: "string", short: "T" },
  insecure: { type: "boolean" },
  "allow-origin": { type: "string", multiple: true },
  "trusted-proxy": { type: "string", multiple: true },
  "max-clients": { type: "string" },
  "max-pending": { type: "string" },
  "max-connections": { type: "string" },
  "header-timeout": { type: "string" },
  "max-auth-failures": { type: "string" },
  "max-message-size": { type: "string" },
  "max-config-size": { type: "string" },
  "max-send-rate": { type: "string" },
  "send-burst": { type: "string" },
  "allow-id": { type: "string", multiple: true },
  "max-periodic-tasks": { type: "string" },
  "min-period": { type: "string" },
  "max-buffered-bytes": { type: "string" },
  "max-pending-sends": { type: "string" },
  "max-pending-input": { type: "string" },
  "request-timeout": { type: "string" },
  ...MQTT_OPTIONS,
} as const;

function positiveInt(name: string, value: string | undefined, max = Number.MAX_SAFE_INTEGER) {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? "a whole number" : `an integer 0-${max}`;
    throw new RangeError(`--${name} must be ${range}, got "${value}"`);
  }
  return n;
}

function atLeastOne(name: string, value: string | undefined) {
  const n = positiveInt(name, value);
  if (n === 0) throw new RangeError(`--${name} must be at least 1, got "${value}"`);
  return n;
}

function seconds(name: string, value: string | undefined) {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d*\.?\d+(e-?\d+)?$/i.test(value) || !(n > 0)) {
    throw new RangeError(`--${name} must be a positive number of seconds, got "${value}"`);
  }
  return n;
}

function milliseconds(seconds: number | undefined) {
  return seconds === undefined ? undefined : seconds * 1000;
}

type Parsed = ReturnType<typeof parse>;

// The link settings of --fd, --data-bitrate, --restart-ms, --listen-only.
function linkOptions(parsed: Parsed, iface: string) {
  const dataBitrate = parsed["data-bitrate"] === undefined
    ? undefined
    : configBitrate(parsed["data-bitrate"], "--data-bitrate");
  if (dataBitrate !== undefined && !parsed.fd) {
    throw new RangeError(`--data-bitrate ${dataBitrate} needs --fd`);
  }
  if (
    (parsed.fd || parsed["listen-only"] || parsed["restart-ms"]) && iface !== "socketcan"
  ) {
    throw new RangeError("--fd, --data-bitrate, --restart-ms and --listen-only need -i socketcan");
  }
  return {
    fd: parsed.fd,
    dataBitrate,
    restartMs: positiveInt("restart-ms", parsed["restart-ms"]),
    listenOnly: parsed["listen-only"],
  };
}
function parse(args: string[]) {
  return parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: false }).values;
}

// The serve() options of the access and limit flags.
function securityOptions(parsed: Parsed) {
  const tokens: TokenEntry[] = [
    ...(parsed.token ?? []).map((token, i) => ({
      token,
      role: "rw" as const,
      label: `--token ${i + 1}`,
    })),
    ...(parsed["read-only-token"] ?? []).map((token, i) => ({
      token,
      role: "ro" as const,
      label: `--read-only-token ${i + 1}`,
    })),
  ];
  const sendRate = positiveInt("max-send-rate", parsed["max-send-rate"]);
  const authFailures = positiveInt("max-auth-failures", parsed["max-auth-failures"]);
  return {
    tokens: tokens.length ? tokens : undefined,
    tokensFile: parsed["tokens-file"],
    insecure: parsed.insecure ?? false,
    allowOrigins: parsed["allow-origin"],
    trustedProxies: parsed["trusted-proxy"],
    maxClients: atLeastOne("max-clients", parsed["max-clients"]),
    maxPending: atLeastOne("max-pending", parsed["max-pending"]),
    maxConnections: atLeastOne("max-connections", parsed["max-connections"]),
    headerTimeout: milliseconds(seconds("header-timeout", parsed["header-timeout"])),
    maxAuthFailures: authFailures === 0 ? Infinity : authFailures,
    maxMessageSize: atLeastOne("max-message-size", parsed["max-message-size"]),
    maxConfigSize: atLeastOne("max-config-size", parsed["max-config-size"]),
    maxSendRate: sendRate === 0 ? Infinity : sendRate,
    sendBurst: atLeastOne("send-burst", parsed["send-burst"]),
    allowedIds: parsed["allow-id"]?.map(parseIdRange),
    maxPeriodicTasks: positiveInt("max-periodic-tasks", parsed["max-periodic-tasks"]),
    minPeriod: seconds("min-period", parsed["min-period"]),
    maxBufferedBytes: atLeastOne("max-buffered-bytes", parsed["max-buffered-bytes"]),
    maxPendingSends: atLeastOne("max-pending-sends", parsed["max-pending-sends"]),
    maxPendingInput: positiveInt("max-pending-input", parsed["max-pending-input"]),
    requestTimeout: atLeastOne("request-timeout", parsed["request-timeout"]),
  };
}

/** Runs the server until SIGINT/SIGTERM. @returns The exit code. */
export async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parse(args);
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
  if (parsed.interface !== undefined && !isSharable(parsed.interface)) {
    console.error(`Unknown interface "${parsed.interface}": use ${SHARABLE.join(", ")}`);
    return 2;
  }
  const { promise: stopped, resolve: stop } = Promise.withResolvers<string>();
  let handlers: (readonly ["SIGINT" | "SIGTERM", () => void])[] = [];
  let server;
  let iface: typeof SHARABLE[number];
  let hub: MqttBackend | undefined;
  let gateway: MqttGateway | undefined;
  try {
    const bus = serverBus({
      interface: parsed.interface,
      channels: parsed.channel,
      bitrate: parsed.bitrate === undefined
        ? undefined
        : configBitrate(parsed.bitrate, "--bitrate"),
      context: parsed.context,
    });
    if (!isSharable(bus.interface)) {
      throw new RangeError(
        `The server cannot share interface "${bus.interface}": use ${SHARABLE.join(", ")}`,
      );
    }
    iface = bus.interface;
    for (const origin of bus.origins) log.info("{origin}", { origin });
    if (bus.unused.length) {
      log.info("Not used by the server (each client sets its own): {keys}", {
        keys: bus.unused.join(", "),
      });
    }
    const channels = bus.channels;
    const readFile = (path: string | undefined) =>
      path === undefined ? undefined : Deno.readTextFileSync(path);
    if ((parsed.cert === undefined) !== (parsed.key === undefined)) {
      throw new TypeError("--cert and --key go together");
    }
    const mqtt = mqttFlagOptions(parsed);
    const security = securityOptions(parsed);
    if (iface === "mqtt") {
      hub = await MqttBackend.create({
        ...mqtt,
        channels: parsed.channel ?? [],
        discover: parsed["mqtt-discover"],
      });
    }
    server = await serve({
      interface: iface === "mqtt" ? undefined : iface,
      backend: hub,
      channels,
      bitrate: bus.bitrate,
      upstreamConfig: bus.options,
      hostname: parsed.host ?? "127.0.0.1",
      port: positiveInt("port", parsed.port, 65535) ?? DEFAULT_PORT,
      cert: readFile(parsed.cert),
      key: readFile(parsed.key),
      dbcFiles: [
        ...(parsed.demo && iface === "virtual" ? [DEMO_DBC] : []),
        ...await readDbcFiles(parsed.dbc ?? []),
      ],
      ...security,
      socketcan: linkOptions(parsed, iface),
    });
    // Listened for before the gateway's start (a broker connect): a signal
    // then ends the server once it is up, cleanly, where it used to kill it
    // halfway (exit 143).
    handlers = (["SIGINT", "SIGTERM"] as const).map((signal) => {
      const handler = () => stop(signal);
      Deno.addSignalListener(signal, handler);
      return [signal, handler] as const;
    });
    if (parsed.mqtt !== undefined) {
      gateway = await MqttGateway.start({
        ...mqtt,
        broker: parsed.mqtt,
        gateway: parsed.gateway ?? Deno.hostname(),
        backend: server.backend,
        tx: parsed["mqtt-tx"] ?? false,
        limits: { ...security, bitrate: bus.bitrate },
      });
      log.info("Gateway {gateway}: publishing to {broker}{tx}", {
        gateway: gateway.gateway,
        broker: parsed.mqtt.replace(/\/\/[^@/]*@/, "//"),
        tx: parsed["mqtt-tx"] ? ", obeying the tx topics" : "",
      });
    }
  } catch (error) {
    log.error("Cannot start: {message}", { message: (error as Error).message });
    await server?.close();
    await hub?.close();
    for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
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
  // The channel names as the bus_response, the page and the tools' logs give them.
  if (server.backend instanceof RelayBackend) {
    log.info("Relaying {upstream} as channel {channel}", {
      upstream: server.backend.upstream.channelInfo,
      channel: channels[0],
    });
  } else {
    log.info("Sharing {iface} channel{s} {channels}", {
      iface,
      s: channels.length === 1 ? "" : "s",
      channels: channels.join(", "),
    });
  }
  for (const [i, channel] of channels.entries()) {
    const path = i === 0 ? "" : encodeURIComponent(channel);
    log.info("Channel {channel}: {url}", { channel, url: server.url + path });
  }
  log.info("Web page: {url}", { url: server.httpUrl });
  const signal = await stopped;
  log.info("{signal}: closing every client", { signal });
  for (const stop of stopDemo) stop();
  await gateway?.close();
  await server.close();
  await server.flushed();
  await hub?.close();
  return 0;
}
