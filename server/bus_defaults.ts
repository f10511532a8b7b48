// What the server shares when the command line does not say: python-can's
// configuration, resolved exactly as the tools and createBus() resolve it
// (options, rc, CAN_*_<context>, CAN_*, the config files' [context] then
// [default]), so a gateway is configured once, in the file every other
// python-can program on it reads.
import { type BusConfig, configOrigin, type Environment, loadConfig } from "../config/canrc.ts";

/** The flags that name the shared bus; each wins over the configuration. */
export interface BusFlags {
  /** `-i`: `virtual`, `socketcan` or `remote`. */
  interface?: string;
  /** `-c`, repeatable. */
  channels?: string[];
  /** `-b`, already read as bit/s. */
  bitrate?: number;
  /** `--context`: the config section and `CAN_*_<context>` variables. */
  context?: string;
}

/** Where the configuration is read from; the process's own by default. */
export interface BusSources {
  /** Environment for `CAN_*` and `HOME`. @default {Deno.env} */
  env?: Environment;
  /** Config files instead of python-can's list. */
  path?: string | readonly string[];
}

/** The bus the server shares. */
export interface ServerBus {
  /** The interface. */
  interface: string;
  /** The channels: names, or for `remote` the upstream server's URL. */
  channels: string[];
  /** Bit rate to set (socketcan) or ask for (remote). */
  bitrate?: number;
  /** The configuration's other keys (python-can names), for a remote upstream's bus_request. */
  options: Record<string, unknown>;
  /** One line per value the configuration gave: `interface socketcan from /etc/can.conf [default]`. */
  origins: string[];
  /** Keys the server does not use (client options such as `receive_own_messages`). */
  unused: string[];
}

// Keys a remote upstream takes from the server's configuration; the rest
// (receive_own_messages, can_filters) are each client's own choice.
const UPSTREAM_KEYS = new Set(["bitrate", "data_bitrate", "fd", "token"]);
// Never quoted in a log line.
const SECRET_KEYS = new Set(["token"]);

/**
 * Resolves the shared bus from the flags and python-can's configuration.
 * Without any configured interface it is the virtual bus, channel `0` (the
 * server's default before it read configuration).
 *
 * @param flags The command line's choices; they win.
 * @param sources The environment and files to read.
 * @returns The interface, channels, bit rate, and where each value came from.
 * @throws {RangeError} / {SyntaxError} / {TypeError} What `loadConfig()` throws for a bad file or value,
 *   naming where the value came from.
 * @example
 * ```ts
 * import { serverBus } from "./bus_defaults.ts";
 * const bus = serverBus({}, { env: { CAN_INTERFACE: "socketcan", CAN_CHANNEL: "vcan7" }, path: [] });
 * if (bus.interface !== "socketcan" || bus.channels[0] !== "vcan7") throw new Error();
 * if (bus.origins[0] !== "interface socketcan from CAN_INTERFACE") throw new Error(bus.origins[0]);
 * ```
 */
export function serverBus(flags: BusFlags, sources: BusSources = {}): ServerBus {
  let config: BusConfig;
  try {
    config = loadConfig({
      config: {
        interface: flags.interface,
        channel: flags.channels?.[0],
        bitrate: flags.bitrate,
      },
      context: flags.context,
      env: sources.env,
      path: sources.path,
    });
  } catch (error) {
    if (error instanceof RangeError && error.message.startsWith("No CAN interface configured")) {
      return {
        interface: "virtual",
        channels: flags.channels ?? ["0"],
        bitrate: flags.bitrate,
        options: {},
        origins: [],
        unused: [],
      };
    }
    throw error;
  }
  const { interface: name, channel, bitrate, ...rest } = config;
  const options: Record<string, unknown> = {};
  const unused: string[] = [];
  for (const [key, value] of Object.entries(rest)) {
    if (name === "remote" && UPSTREAM_KEYS.has(key)) options[key] = value;
    else unused.push(key);
  }
  const origins: string[] = [];
  for (const key of Object.keys(config)) {
    if (unused.includes(key)) continue;
    const origin = configOrigin(config, key);
    if (!origin || origin === "the given options") continue;
    const value = SECRET_KEYS.has(key) ? "(set)" : String(config[key]);
    origins.push(`${key} ${value} from ${origin}`);
  }
  if (name === "remote" && channel === null && !flags.channels) {
    throw new RangeError(
      `interface remote${from(config)} needs the upstream server's URL as its channel: ` +
        "-c ws://HOST:54701/, or channel = ws://HOST:54701/ in the configuration",
    );
  }
  const defaultChannel = name === "socketcan" ? "can0" : "0";
  return {
    interface: name,
    channels: flags.channels ?? [channel === null ? defaultChannel : String(channel)],
    bitrate,
    options,
    origins,
    unused,
  };
}

function from(config: BusConfig): string {
  const origin = configOrigin(config, "interface");
  return origin && origin !== "the given options" ? ` (from ${origin})` : "";
}
