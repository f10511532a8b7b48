/**
 * Config values as python-can and Python's `configparser` write them. A
 * `~/.canrc` is text, and python-can 4.1 passes its values on as strings
 * (`receive_own_messages = False` arrives as `"False"`); python would then
 * treat `"False"` as true. canremote reads the words `configparser`'s
 * `getboolean()` knows instead, and numeric strings as numbers, the same way
 * on the server (a `bus_request` config) and in `createBus()`.
 *
 * @module
 */

// configparser.RawConfigParser.BOOLEAN_STATES, compared case-insensitively.
const TRUE_WORDS: ReadonlySet<string> = new Set(["1", "yes", "true", "on"]);
const FALSE_WORDS: ReadonlySet<string> = new Set(["0", "no", "false", "off"]);

/**
 * Reads a boolean as python-can's configuration writes it: `true`/`false`,
 * or a string `True`/`False`, `yes`/`no`, `on`/`off`, `1`/`0` in any case;
 * the numbers 1 and 0 too.
 *
 * @param value The value as it came (from JSON or a config file).
 * @param key The key, for the error message.
 * @param where Appended to the error message, e.g. ` (from ~/.canrc:3 [default])`.
 * @returns The boolean.
 * @throws {TypeError} `<key> must be true or false (or yes/no, on/off, 1/0), got "maybe"`.
 * @example
 * ```ts
 * import { configBoolean } from "./config_values.ts";
 * if (configBoolean("False", "receive_own_messages") !== false) throw new Error();
 * if (configBoolean("ON", "fd") !== true) throw new Error();
 * ```
 */
export function configBoolean(value: unknown, key: string, where = ""): boolean {
  if (typeof value === "boolean") return value;
  if (value === 1 || value === 0) return value === 1;
  const word = typeof value === "string" ? value.trim().toLowerCase() : undefined;
  if (word !== undefined && TRUE_WORDS.has(word)) return true;
  if (word !== undefined && FALSE_WORDS.has(word)) return false;
  throw new TypeError(
    `${key} must be true or false (or yes/no, on/off, 1/0), got ${showValue(value)}${where}`,
  );
}

/**
 * Reads a number as python-can's configuration writes it: a number, or a
 * string holding one (`"500000"`, `" 0.5 "`, `"1_000"` as Python's `int()` reads it).
 *
 * @param value The value as it came.
 * @param key The key, for the error message.
 * @param where Appended to the error message.
 * @returns The finite number.
 * @throws {TypeError} `<key> must be a number, got "fast"`.
 * @example
 * ```ts
 * import { configNumber } from "./config_values.ts";
 * if (configNumber("250000", "bitrate") !== 250000) throw new Error();
 * ```
 */
export function configNumber(value: unknown, key: string, where = ""): number {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "string") {
    const text = value.trim();
    if (/^[+-]?(\d+(_\d+)*)?(\.\d+)?(e[+-]?\d+)?$/i.test(text) && /\d/.test(text)) {
      return Number(text.replaceAll("_", ""));
    }
  }
  throw new TypeError(`${key} must be a number, got ${showValue(value)}${where}`);
}

/**
 * A value quoted for an error message: `null` (an empty config value) is "an empty value".
 *
 * @param value Any value.
 * @returns Its JSON text, or a word for what JSON cannot show.
 * @example
 * ```ts
 * import { showValue } from "./config_values.ts";
 * if (showValue(undefined) !== "nothing") throw new Error();
 * if (showValue("x") !== '"x"') throw new Error();
 * ```
 */
export function showValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "an empty value";
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

// Above any CAN FD data phase rate in use (ISO 11898-1 controllers reach 8-12 Mbit/s).
const MAX_BITRATE = 100_000_000;

/**
 * Reads a bit rate: a whole number of bit/s given as a number or as text,
 * where text may end in `k` or `M` (`"500k"`, `"1M"`, `"2.5M"`).
 *
 * @param value The value as it came (a flag's text, a config file value, JSON).
 * @param key How to name it in the error message (`"--bitrate"`, `"bitrate"`).
 * @param where Appended to the error message.
 * @param units Accept `k` and `M` (python-can's own config files do not).
 * @returns The bit rate in bit/s, 1 to 100000000.
 * @throws {RangeError} `<key> must be a bit rate in bit/s, such as 500000 or 500k, got "fast"`.
 * @example
 * ```ts
 * import { configBitrate } from "./config_values.ts";
 * if (configBitrate("500k", "--bitrate") !== 500000) throw new Error();
 * if (configBitrate(250000, "bitrate") !== 250000) throw new Error();
 * ```
 */
export function configBitrate(
  value: unknown,
  key: string,
  where = "",
  units = true,
): number {
  let n = NaN;
  if (typeof value === "number") n = value;
  else if (typeof value === "string") {
    const match = /^\s*(\d+(?:_\d+)*(?:\.\d+)?)\s*([kKM]?)\s*$/.exec(value);
    if (match && (units || (match[2] === "" && !match[1].includes(".")))) {
      const scale = match[2] === "M" ? 1e6 : match[2] ? 1e3 : 1;
      n = Math.round(Number(match[1].replaceAll("_", "")) * scale * 1000) / 1000;
    }
  }
  if (!Number.isInteger(n) || n < 1 || n > MAX_BITRATE) {
    throw new RangeError(
      `${key} must be a bit rate in bit/s, such as 500000${units ? " or 500k" : ""}, got ${
        showValue(value)
      }${where}`,
    );
  }
  return n;
}
