/**
 * Bus configuration the way python-can 4.1 finds it (`can/util.py`:
 * `load_config`, `load_file_config`, `load_environment_config`), so a
 * `~/.canrc` written for python-can works here unchanged.
 *
 * Sources, first one wins for each key:
 *
 * 1. the options given in code or on the command line;
 * 2. {@linkcode rc}, python-can's `can.rc`;
 * 3. `CAN_INTERFACE_<context>`, `CAN_CHANNEL_<context>`, `CAN_BITRATE_<context>`, `CAN_CONFIG_<context>`;
 * 4. `CAN_INTERFACE`, `CAN_CHANNEL`, `CAN_BITRATE`, `CAN_CONFIG` (a JSON object);
 * 5. the section named after the context in the config files;
 * 6. their `[default]` section.
 *
 * The config files are {@linkcode CONFIG_FILES}, read in that order into one
 * INI document, so a later file adds to or replaces the values of an earlier
 * one. The INI dialect is Python's `configparser`: `key = value` or
 * `key: value`, `#` and `;` comment lines, indented continuation lines, a
 * `[DEFAULT]` section inherited by every section, `%(key)s` references and
 * `%%` for a percent sign. Keys keep their case.
 *
 * ```ini
 * [default]
 * interface = remote
 * channel = ws://myhostname:54701/
 * bitrate = 500000
 *
 * [bench]
 * interface = socketcan
 * channel = vcan0
 * receive_own_messages = True
 * ```
 *
 * Files and variables the process may not read (no `--allow-read` for the
 * file, no `--allow-env` for the variable) count as absent: loading never
 * asks for a permission.
 *
 * @module
 */

import { configBitrate } from "./config_values.ts";

/** Config files python-can 4.1 reads on Linux, in reading order (a later file wins). */
export const CONFIG_FILES: readonly string[] = Object.freeze([
  "~/can.conf",
  "/etc/can.conf",
  "~/.can",
  "~/.canrc",
]);

/** The interfaces canremote can open. */
export const VALID_INTERFACES: readonly InterfaceName[] = Object.freeze([
  "remote",
  "virtual",
  "socketcan",
  "mqtt",
]);

/** An interface canremote can open: a canremote or python-can-remote server, the in-process virtual bus, Linux SocketCAN, or a fleet gateway's channel through an MQTT broker. */
export type InterfaceName = "remote" | "virtual" | "socketcan" | "mqtt";

/**
 * Configuration set in code for every bus that follows, python-can's `can.rc`:
 * it ranks below the options given to {@linkcode loadConfig} and above the
 * environment and the files.
 *
 * @example
 * ```ts
 * import { loadConfig, rc } from "./canrc.ts";
 * rc.interface = "virtual";
 * rc.channel = "test";
 * const config = loadConfig({ path: [], env: {} });
 * delete rc.interface;
 * delete rc.channel;
 * if (config.interface !== "virtual" || config.channel !== "test") throw new Error();
 * ```
 */
export const rc: Record<string, unknown> = {};

/**
 * A resolved configuration: python-can's `BusConfig`, snake_case keys as in
 * the files. `bitrate` and `data_bitrate` are numbers, `fd` a boolean;
 * every other key keeps the value its source gave (a string from a file).
 */
export interface BusConfig {
  /** The interface to open. */
  interface: InterfaceName;
  /** The channel, or `null` when no source names one. */
  channel: string | number | null;
  /** Nominal bit rate in bit/s. */
  bitrate?: number;
  /** CAN FD data phase bit rate in bit/s. */
  data_bitrate?: number;
  /** Open the bus for CAN FD. */
  fd?: boolean;
  /** Any other backend option, as the source gave it. */
  [key: string]: unknown;
}

/** Environment variables by name; a missing or empty value counts as unset. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** Options of {@linkcode loadConfig}. */
export interface LoadConfigOptions {
  /**
   * Config file(s) to read instead of {@linkcode CONFIG_FILES}; missing files are skipped.
   * @default {CONFIG_FILES}
   */
  path?: string | readonly string[];
  /** The options given in code, python-can's `config` argument: the highest-ranking source. */
  config?: Readonly<Record<string, unknown>>;
  /** Names the file section and the `_<context>` variables that rank above `[default]` and the plain variables. */
  context?: string;
  /**
   * Environment to read `CAN_*` and `HOME` from instead of the process's.
   * @default {Deno.env}
   */
  env?: Environment;
}

/** Options of {@linkcode loadFileConfig}. */
export interface LoadFileConfigOptions {
  /**
   * Config file(s) to read instead of {@linkcode CONFIG_FILES}.
   * @default {CONFIG_FILES}
   */
  path?: string | readonly string[];
  /**
   * Section to return.
   * @default {"default"}
   */
  section?: string;
  /**
   * Environment to take `HOME` from (for `~`).
   * @default {Deno.env}
   */
  env?: Environment;
}

// Where each value came from, for error messages.
const ORIGINS = new WeakMap<object, Map<string, string>>();

interface IniEntry {
  lines: string[];
  source: string;
  line: number;
}

const MAX_INTERPOLATION_DEPTH = 10;

type SectionEntries = { values: Record<string, string>; origins: Map<string, string> };
// Values plus where each came from; set by IniConfig's static block.
let sectionEntries: (ini: IniConfig, name: string) => SectionEntries | undefined;

/**
 * An INI document read the way Python's `configparser.ConfigParser` reads
 * it (case-preserving keys, as python-can sets `optionxform`). Reading
 * several texts merges them: a later value replaces an earlier one.
 *
 * @example
 * ```ts
 * import { IniConfig } from "./canrc.ts";
 * const ini = new IniConfig();
 * ini.read("[DEFAULT]\nhost = pi\n[default]\ninterface = remote\nchannel = ws://%(host)s:54701/\n", "can.conf");
 * const section = ini.items("default");
 * if (section?.channel !== "ws://pi:54701/") throw new Error(section?.channel);
 * ```
 */
export class IniConfig {
  #defaults = new Map<string, IniEntry>();
  #sections = new Map<string, Map<string, IniEntry>>();

  /**
   * Reads one file's text into the document.
   *
   * @param text The file's content.
   * @param source The file's name, used in error messages.
   * @throws {SyntaxError} `<source>:<line>: <problem>` for a line before any
   *   section header, a line that is neither `key = value`, a `[section]`
   *   nor a comment, a key without a name, or a section or key given twice in one file.
   */
  read(text: string, source = "<string>"): void {
    const added = new Set<string>();
    let section: Map<string, IniEntry> | undefined;
    let sectionName = "";
    let option: string | undefined;
    let indent = 0;
    const lines = text.replace(/^\uFEFF/, "").split(/\r\n|\n|\r/);
    if (lines.at(-1) === "") lines.pop();
    const fail = (number: number, problem: string): never => {
      throw new SyntaxError(`${source}:${number}: ${problem}`);
    };
    for (const [index, line] of lines.entries()) {
      const number = index + 1;
      const stripped = line.trim();
      const comment = stripped.startsWith("#") || stripped.startsWith(";");
      if (comment || stripped === "") {
        // An empty line may be part of a multi-line value; a comment line is not.
        if (!comment && section && option !== undefined) section.get(option)!.lines.push("");
        continue;
      }
      const lineIndent = line.search(/\S/);
      if (section && option !== undefined && lineIndent > indent) {
        section.get(option)!.lines.push(stripped);
        continue;
      }
      indent = lineIndent;
      const header = /^\[(.+)\]/.exec(stripped);
      if (header) {
        sectionName = header[1];
        if (sectionName === "DEFAULT") {
          section = this.#defaults;
        } else {
          if (added.has(`[${sectionName}`)) fail(number, `section [${sectionName}] appears twice`);
          added.add(`[${sectionName}`);
          section = this.#sections.get(sectionName);
          if (!section) this.#sections.set(sectionName, section = new Map());
        }
        option = undefined;
        continue;
      }
      if (!section) {
        fail(
          number,
          `${JSON.stringify(stripped)} comes before any [section] header; start with [default]`,
        );
      }
      const pair = /^(.*?)\s*([=:])\s*(.*)$/.exec(stripped);
      if (!pair) {
        fail(
          number,
          `${JSON.stringify(stripped)} is not "key = value", a [section] header or a comment`,
        );
      }
      const [, key, , value] = pair!;
      if (key === "") fail(number, `${JSON.stringify(stripped)} has no key before "${pair![2]}"`);
      const id = `${sectionName}\u0000${key}`;
      if (added.has(id)) fail(number, `key "${key}" appears twice in [${sectionName}]`);
      added.add(id);
      option = key;
      section!.set(key, { lines: [value], source, line: number });
    }
  }

  /** The sections read so far, without `[DEFAULT]`. */
  sections(): string[] {
    return [...this.#sections.keys()];
  }

  /**
   * Checks whether a section was read (`[DEFAULT]` does not count, as in `configparser`).
   * @param name Section name (case-sensitive).
   * @returns `true` when the section exists.
   */
  hasSection(name: string): boolean {
    return this.#sections.has(name);
  }

  /**
   * The values of a section, `[DEFAULT]` values included, references resolved.
   *
   * @param name Section name (case-sensitive).
   * @returns The values, or `undefined` when the section does not exist.
   * @throws {SyntaxError} `<source>:<line>: ...` for a bad `%` reference in a value.
   */
  items(name: string): Record<string, string> | undefined {
    return this.#entries(name)?.values;
  }

  static {
    sectionEntries = (ini, name) => ini.#entries(name);
  }

  #entries(name: string): SectionEntries | undefined {
    const section = this.#sections.get(name);
    if (!section) return undefined;
    const merged = new Map([...this.#defaults, ...section]);
    const raw = new Map<string, string>();
    for (const [key, entry] of merged) raw.set(key, entry.lines.join("\n").trimEnd());
    const values: Record<string, string> = {};
    const origins = new Map<string, string>();
    for (const [key, entry] of merged) {
      const where = `${entry.source}:${entry.line}`;
      values[key] = interpolate(raw.get(key)!, raw, name, `${where}: in [${name}] ${key}`, 1);
      origins.set(key, `${where} [${name}]`);
    }
    return { values, origins };
  }
}

// configparser.BasicInterpolation: %% is %, %(key)s is another key's value.
function interpolate(
  value: string,
  raw: Map<string, string>,
  section: string,
  where: string,
  depth: number,
): string {
  if (depth > MAX_INTERPOLATION_DEPTH) {
    throw new SyntaxError(`${where}: %(...)s references nest more than 10 deep (a loop?)`);
  }
  let out = "";
  let rest = value;
  while (rest) {
    const p = rest.indexOf("%");
    if (p < 0) return out + rest;
    out += rest.slice(0, p);
    rest = rest.slice(p);
    if (rest[1] === "%") {
      out += "%";
      rest = rest.slice(2);
    } else if (rest[1] === "(") {
      const ref = /^%\(([^)]+)\)s/.exec(rest);
      if (!ref) {
        throw new SyntaxError(
          `${where}: bad reference ${
            JSON.stringify(rest)
          }; write %(key)s, or %% for a percent sign`,
        );
      }
      rest = rest.slice(ref[0].length);
      const target = raw.get(ref[1]);
      if (target === undefined) {
        throw new SyntaxError(
          `${where}: %(${ref[1]})s names a key that is not in [${section}] or [DEFAULT]`,
        );
      }
      out += target.includes("%") ? interpolate(target, raw, section, where, depth + 1) : target;
    } else {
      throw new SyntaxError(
        `${where}: "%" must be followed by "%" or "(", found ${JSON.stringify(rest)}`,
      );
    }
  }
  return out;
}

function canRead(path: string): boolean {
  try {
    return Deno.permissions.querySync({ name: "read", path }).state === "granted";
  } catch {
    return false;
  }
}

function processEnv(name: string): string | undefined {
  try {
    if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") {
      return undefined;
    }
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

function getEnv(env: Environment | undefined, name: string): string | undefined {
  const value = env ? env[name] : processEnv(name);
  return value === "" ? undefined : value;
}

// os.path.expanduser: "~" and "~/..." use HOME; without HOME the file is skipped.
function expandUser(path: string, env: Environment | undefined): string | undefined {
  if (path !== "~" && !path.startsWith("~/")) return path;
  const home = getEnv(env, "HOME");
  return home === undefined ? undefined : home.replace(/\/+$/, "") + path.slice(1);
}

function readIni(
  path: string | readonly string[] | undefined,
  env: Environment | undefined,
): IniConfig {
  const ini = new IniConfig();
  const explicit = path !== undefined;
  const paths = path === undefined ? CONFIG_FILES : typeof path === "string" ? [path] : path;
  for (const given of paths) {
    const file = expandUser(given, env);
    if (file === undefined || (!explicit && !canRead(file))) continue;
    let text: string;
    try {
      text = Deno.readTextFileSync(file);
    } catch (error) {
      // configparser.read() skips files it cannot open (any OSError).
      if (
        error instanceof Deno.errors.NotFound || error instanceof Deno.errors.PermissionDenied ||
        error instanceof Deno.errors.IsADirectory
      ) continue;
      throw error;
    }
    ini.read(text, file);
  }
  return ini;
}

/**
 * Reads one section of the config files, python-can's `load_file_config`.
 *
 * @param options Files, section and environment.
 * @returns The section's values as strings (`[DEFAULT]` values included); empty when it is missing.
 * @throws {SyntaxError} `<file>:<line>: <problem>` for a malformed file.
 * @example
 * ```ts
 * import { loadFileConfig } from "./canrc.ts";
 * const path = await Deno.makeTempFile({ suffix: ".conf" });
 * await Deno.writeTextFile(path, "[default]\ninterface = remote\nchannel = ws://pi:54701/\n");
 * const config = loadFileConfig({ path });
 * await Deno.remove(path);
 * if (config.channel !== "ws://pi:54701/") throw new Error();
 * ```
 */
export function loadFileConfig(options: LoadFileConfigOptions = {}): Record<string, string> {
  return readIni(options.path, options.env).items(options.section ?? "default") ?? {};
}

function environmentEntries(
  context: string | undefined,
  env: Environment | undefined,
): { values: Record<string, unknown>; origins: Map<string, string> } {
  const suffix = context ? `_${context}` : "";
  const origins = new Map<string, string>();
  const configName = `CAN_CONFIG${suffix}`;
  const json = getEnv(env, configName);
  let values: Record<string, unknown> = {};
  if (json !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch (error) {
      throw new SyntaxError(
        `${configName} is not valid JSON (${(error as Error).message}): ${JSON.stringify(json)}`,
      );
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      throw new TypeError(`${configName} must be a JSON object, got ${json}`);
    }
    values = { ...parsed };
    for (const key of Object.keys(values)) origins.set(key, configName);
  }
  const names = [["interface", "CAN_INTERFACE"], ["channel", "CAN_CHANNEL"], [
    "bitrate",
    "CAN_BITRATE",
  ]];
  for (const [key, name] of names) {
    const value = getEnv(env, name + suffix);
    if (value !== undefined) {
      values[key] = value;
      origins.set(key, name + suffix);
    }
  }
  return { values, origins };
}

/**
 * Reads the `CAN_*` variables, python-can's `load_environment_config`:
 * `CAN_CONFIG` (a JSON object), then `CAN_INTERFACE`, `CAN_CHANNEL` and
 * `CAN_BITRATE` over it; with a context, the names end in `_<context>`.
 * Unset and empty variables are skipped.
 *
 * @param context Suffix of the variable names.
 * @param env Variables to read instead of the process's.
 * @returns The values found.
 * @throws {SyntaxError} When `CAN_CONFIG` is not JSON; {@linkcode TypeError} when it is not an object.
 * @example
 * ```ts
 * import { loadEnvironmentConfig } from "./canrc.ts";
 * const config = loadEnvironmentConfig("bench", {
 *   CAN_CONFIG_bench: '{"receive_own_messages": true}',
 *   CAN_INTERFACE_bench: "virtual",
 * });
 * if (config.interface !== "virtual" || config.receive_own_messages !== true) throw new Error();
 * ```
 */
export function loadEnvironmentConfig(
  context?: string,
  env?: Environment,
): Record<string, unknown> {
  return environmentEntries(context, env).values;
}

/**
 * Resolves a bus configuration from every source, python-can's `load_config`
 * (see the module documentation for the order). A legacy `bustype` key
 * stands in for a missing `interface` in the same source. Then, as
 * python-can's `_create_bus_config`: `channel` is `null` when no source has
 * it, `bitrate` and `data_bitrate` become integers, `fd` a boolean (false
 * only for `"0"`, `"False"`, `"false"` and `false`), `port` an integer 1-65534.
 *
 * @param options The given options, context, files and environment.
 * @returns The configuration.
 * @throws {RangeError} When no source names an interface, the interface is
 *   not one of {@linkcode VALID_INTERFACES}, or a number is not a valid
 *   integer; the message names the value's source.
 * @throws {SyntaxError} For a malformed config file (`<file>:<line>: <problem>`) or `CAN_CONFIG`.
 * @example
 * ```ts
 * import { loadConfig } from "./canrc.ts";
 * const config = loadConfig({
 *   config: { interface: "remote" },
 *   env: { CAN_CHANNEL: "ws://pi:54701/", CAN_BITRATE: "500000" },
 *   path: [],
 * });
 * if (config.channel !== "ws://pi:54701/" || config.bitrate !== 500000) throw new Error();
 * ```
 */
export function loadConfig(options: LoadConfigOptions = {}): BusConfig {
  const { context, env } = options;
  type Entries = { values: Record<string, unknown>; origins: Map<string, string> };
  const given: Entries = { values: {}, origins: new Map() };
  for (const [key, value] of Object.entries(options.config ?? {})) {
    if (value === undefined) continue;
    given.values[key] = value;
    given.origins.set(key, "the given options");
  }
  const fromRc: Entries = {
    values: { ...rc },
    origins: new Map(Object.keys(rc).map((key) => [key, "rc"])),
  };
  let ini: IniConfig | undefined;
  const file = (section: string | undefined): Entries => {
    if (!section) return { values: {}, origins: new Map() };
    ini ??= readIni(options.path, env);
    return sectionEntries(ini, section) ?? { values: {}, origins: new Map() };
  };
  const sources: (() => Entries)[] = [
    () => given,
    () => fromRc,
    () => environmentEntries(context, env),
    () => environmentEntries(undefined, env),
    () => file(context),
    () => file("default"),
  ];
  const config: Record<string, unknown> = {};
  const origins = new Map<string, string>();
  for (const source of sources) {
    const { values, origins: from } = source();
    const cfg = { ...values };
    if ("bustype" in cfg) {
      if (!cfg.interface) {
        cfg.interface = cfg.bustype;
        from.set("interface", from.get("bustype") ?? "");
      }
      delete cfg.bustype;
    }
    for (const [key, value] of Object.entries(cfg)) {
      if (key in config) continue;
      config[key] = value;
      origins.set(key, from.get(key) ?? "");
    }
  }
  const result = createBusConfig(config, origins);
  ORIGINS.set(result, origins);
  return result;
}

function from(origins: Map<string, string>, key: string): string {
  const origin = origins.get(key);
  return origin ? ` (from ${origin})` : "";
}

function integer(value: unknown, key: string, origins: Map<string, string>): number {
  // Python's int(): an int, or a string of digits with an optional sign and underscores.
  const n = typeof value === "number"
    ? Math.trunc(value)
    : typeof value === "string" && /^\s*[+-]?\d+(_\d+)*\s*$/.test(value)
    ? Number(value.replaceAll("_", ""))
    : NaN;
  if (!Number.isSafeInteger(n)) {
    throw new RangeError(
      `${key} must be an integer, got ${JSON.stringify(value)}${from(origins, key)}`,
    );
  }
  return n;
}

function createBusConfig(config: Record<string, unknown>, origins: Map<string, string>): BusConfig {
  config.interface ??= null;
  config.channel ??= null;
  const name = config.interface;
  if (name === null || name === "") {
    throw new RangeError(
      "No CAN interface configured: pass an interface (-i/--interface on the command line), " +
        "set CAN_INTERFACE, or put interface = remote in the [default] section of ~/.canrc",
    );
  }
  if (!(VALID_INTERFACES as readonly unknown[]).includes(name)) {
    throw new RangeError(
      `Unknown interface ${JSON.stringify(name)}${from(origins, "interface")}: use ${
        VALID_INTERFACES.join(", ")
      }`,
    );
  }
  if ("port" in config) {
    const port = integer(config.port, "port", origins);
    if (!(port > 0 && port < 65535)) {
      throw new RangeError(`port must be 1-65534, got ${port}${from(origins, "port")}`);
    }
    config.port = port;
  }
  for (const key of ["bitrate", "data_bitrate"]) {
    // python-can's int(): no k or M here, as a file read by python-can too must not have them.
    if (key in config) config[key] = configBitrate(config[key], key, from(origins, key), false);
  }
  if ("fd" in config) config.fd = !["0", "False", "false", false].includes(config.fd as string);
  return config as BusConfig;
}

/**
 * Tells where a value of a {@linkcode loadConfig} result came from, for error messages.
 *
 * @param config A result of {@linkcode loadConfig}.
 * @param key The key.
 * @returns `"<file>:<line> [<section>]"`, a variable name such as `"CAN_BITRATE"`,
 *   `"rc"` or `"the given options"`; `undefined` for a key no source set.
 * @example
 * ```ts
 * import { configOrigin, loadConfig } from "./canrc.ts";
 * const config = loadConfig({ config: { interface: "virtual" }, env: { CAN_BITRATE: "250000" }, path: [] });
 * if (configOrigin(config, "bitrate") !== "CAN_BITRATE") throw new Error();
 * ```
 */
export function configOrigin(config: BusConfig, key: string): string | undefined {
  return ORIGINS.get(config)?.get(key) || undefined;
}
