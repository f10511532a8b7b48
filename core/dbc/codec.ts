/**
 * Decoding a payload into a message's signals and encoding signals into a payload.
 *
 * @module
 */

import { bytesNeeded, readBits, writeBits } from "./bits.ts";
import { scalerOf } from "./scale.ts";
import type { DbcMessage, DbcSignal, DecodedSignal, SignalValues } from "./types.ts";

/** Options for {@linkcode encodeSignals}. */
export interface EncodeOptions {
  /**
   * Take the values as raw values (what the bits hold: integers, or the IEEE
   * value of a float signal) instead of physical ones; ranges from the file
   * are then not checked, only that each value fits its bits.
   * @default {false}
   */
  raw?: boolean;
}

function toSigned(raw: number | bigint, length: number): number | bigint {
  if (typeof raw === "bigint") return BigInt.asIntN(length, raw);
  const half = 2 ** (length - 1);
  return raw >= half ? raw - 2 * half : raw;
}

/**
 * Reads one signal's raw value from a payload.
 *
 * @param signal The signal.
 * @param data Payload holding at least the signal's bytes.
 * @returns The raw value: an integer (a bigint past 52 bits) or, for IEEE signals, the float.
 * @example
 * ```ts
 * import { parseDbc } from "./parse.ts";
 * import { readRaw } from "./codec.ts";
 * const db = parseDbc('BO_ 1 M: 1 X\n SG_ S : 0|8@1- (1,0) [0|0] "" X\n');
 * if (readRaw(db.messages[0].signals[0], Uint8Array.of(0xff)) !== -1) throw new Error();
 * ```
 */
export function readRaw(signal: DbcSignal, data: Uint8Array): number | bigint {
  const bits = readBits(data, signal);
  if (signal.valueType === "float32") {
    const view = new DataView(new ArrayBuffer(4));
    view.setUint32(0, Number(bits));
    return view.getFloat32(0);
  }
  if (signal.valueType === "float64") {
    const view = new DataView(new ArrayBuffer(8));
    view.setBigUint64(0, BigInt(bits));
    return view.getFloat64(0);
  }
  return signal.signed ? toSigned(bits, signal.length) : bits;
}

/**
 * The signals a payload selects: every plain signal, and each multiplexed one
 * whose multiplexor is itself present and holds one of its values.
 *
 * @param message The message.
 * @param data Payload; signals that do not fit in it are left out.
 * @returns The present signals with their raw values, in file order.
 * @example
 * ```ts
 * import { parseDbc } from "./parse.ts";
 * import { presentSignals } from "./codec.ts";
 * const db = parseDbc(`BO_ 1 M: 2 X
 *  SG_ Mux M : 0|8@1+ (1,0) [0|0] "" X
 *  SG_ A m1 : 8|8@1+ (1,0) [0|0] "" X
 *  SG_ B m2 : 8|8@1+ (1,0) [0|0] "" X
 * `);
 * const names = presentSignals(db.messages[0], Uint8Array.of(2, 0)).map(([s]) => s.name);
 * if (names.join() !== "Mux,B") throw new Error(names.join());
 * ```
 */
export function presentSignals(
  message: DbcMessage,
  data: Uint8Array,
): [DbcSignal, number | bigint][] {
  const present: [DbcSignal, number | bigint][] = [];
  const byName = signalsByName(message);
  if (!byName) {
    // No multiplexing (most messages): every signal that fits.
    for (const signal of message.signals) {
      if (bytesNeeded(signal) <= data.length) present.push([signal, readRaw(signal, data)]);
    }
    return present;
  }
  const raws = new Map<string, number | bigint | null>();
  const resolve = (signal: DbcSignal): number | bigint | null => {
    const known = raws.get(signal.name);
    if (known !== undefined) return known;
    let raw: number | bigint | null = null;
    if (bytesNeeded(signal) <= data.length) {
      const mux = signal.multiplexing;
      if (!mux) raw = readRaw(signal, data);
      else {
        const muxRaw = resolve(byName.get(mux.multiplexor)!);
        if (muxRaw !== null && selects(mux.ranges, muxRaw)) raw = readRaw(signal, data);
      }
    }
    raws.set(signal.name, raw);
    return raw;
  };
  for (const signal of message.signals) {
    const raw = resolve(signal);
    if (raw !== null) present.push([signal, raw]);
  }
  return present;
}

const muxIndex = new WeakMap<DbcMessage, Map<string, DbcSignal> | null>();

// A multiplexed message's signals by name, built once; null for a message without multiplexing.
function signalsByName(message: DbcMessage): Map<string, DbcSignal> | null {
  let index = muxIndex.get(message);
  if (index === undefined) {
    index = message.signals.some((s) => s.multiplexing)
      ? new Map(message.signals.map((s) => [s.name, s]))
      : null;
    muxIndex.set(message, index);
  }
  return index;
}

/**
 * One signal's physical value in a payload, for a plot that follows a few
 * signals of many frames without decoding the rest.
 *
 * @param message The signal's message.
 * @param signal The signal.
 * @param data Payload.
 * @returns The physical value, or `undefined` when the signal is not in this
 *   payload (too short, or its multiplexor selects another signal).
 * @example
 * ```ts
 * import { parseDbc } from "./parse.ts";
 * import { signalValue } from "./codec.ts";
 * const db = parseDbc('BO_ 1 M: 2 X\n SG_ S : 8|8@1+ (0.5,0) [0|0] "" X\n');
 * const [message] = db.messages;
 * if (signalValue(message, message.signals[0], Uint8Array.of(0, 9)) !== 4.5) throw new Error();
 * if (signalValue(message, message.signals[0], Uint8Array.of(0)) !== undefined) throw new Error();
 * ```
 */
export function signalValue(
  message: DbcMessage,
  signal: DbcSignal,
  data: Uint8Array,
): number | undefined {
  if (bytesNeeded(signal) > data.length) return undefined;
  if (signal.multiplexing) {
    const present = presentSignals(message, data).find(([s]) => s === signal);
    return present ? physical(signal, present[1]) : undefined;
  }
  return physical(signal, readRaw(signal, data));
}

function physical(signal: DbcSignal, raw: number | bigint): number {
  return signal.valueType === "integer"
    ? scalerOf(signal).toPhysical(raw)
    : Number(raw) * signal.factor + signal.offset;
}

function selects(ranges: readonly (readonly [number, number])[], raw: number | bigint): boolean {
  const value = Number(raw);
  return ranges.some(([low, high]) => value >= low && value <= high);
}

/**
 * Decodes a payload into the message's present signals.
 *
 * @param message The message.
 * @param data Payload.
 * @returns Physical value, raw value, unit and label of each present signal, by name.
 * @example
 * ```ts
 * import { parseDbc } from "./parse.ts";
 * import { decodeSignals } from "./codec.ts";
 * const db = parseDbc(`BO_ 1 M: 1 X
 *  SG_ Gear : 0|8@1+ (1,0) [0|0] "" X
 * VAL_ 1 Gear 0 "P" 1 "R" ;`);
 * if (decodeSignals(db.messages[0], Uint8Array.of(1)).Gear.label !== "R") throw new Error();
 * ```
 */
export function decodeSignals(
  message: DbcMessage,
  data: Uint8Array,
): Record<string, DecodedSignal> {
  const signals: Record<string, DecodedSignal> = {};
  for (const [signal, raw] of presentSignals(message, data)) {
    const decoded: DecodedSignal = {
      value: physical(signal, raw),
      raw,
      unit: signal.unit,
    };
    if (signal.labels.size > 0) {
      const label = signal.labels.get(Number(raw));
      if (label !== undefined) decoded.label = label;
    }
    signals[signal.name] = decoded;
  }
  return signals;
}

function rawLimits(signal: DbcSignal): [bigint, bigint] {
  const n = BigInt(signal.length);
  return signal.signed ? [-(1n << (n - 1n)), (1n << (n - 1n)) - 1n] : [0n, (1n << n) - 1n];
}

function physicalRange(signal: DbcSignal): [number, number] {
  if (signal.minimum !== signal.maximum || signal.valueType !== "integer") {
    if (signal.minimum !== signal.maximum) return [signal.minimum, signal.maximum];
    const max = signal.valueType === "float32" ? 3.4028234663852886e38 : Number.MAX_VALUE;
    return [-max, max];
  }
  const [low, high] = rawLimits(signal).map((r) => scalerOf(signal).toPhysical(r));
  return low <= high ? [low, high] : [high, low];
}

function rangeError(
  message: DbcMessage,
  signal: DbcSignal,
  got: unknown,
  [low, high]: [number, number],
  note = "",
): RangeError {
  const unit = signal.unit ? ` ${signal.unit}` : "";
  return new RangeError(
    `Signal "${signal.name}" of "${message.name}" must be within ${low}-${high}${unit}${note}, got ${
      String(got)
    }`,
  );
}

function rawFor(
  message: DbcMessage,
  signal: DbcSignal,
  value: number | bigint | string,
  raw: boolean,
): number | bigint {
  if (typeof value === "string") {
    for (const [key, label] of signal.labels) if (label === value) return key;
    const known = [...signal.labels.values()].map((l) => JSON.stringify(l)).join(", ");
    throw new RangeError(
      `Signal "${signal.name}" of "${message.name}" has no value ${JSON.stringify(value)}${
        known ? `; it knows ${known}` : ""
      }`,
    );
  }
  if (typeof value !== "number" && typeof value !== "bigint") {
    throw new TypeError(
      `Signal "${signal.name}" needs a number or a label, got ${typeof value}`,
    );
  }
  if (signal.valueType !== "integer") {
    const v = Number(value);
    if (raw) return v;
    const [low, high] = physicalRange(signal);
    if (!(v >= low && v <= high)) throw rangeError(message, signal, value, [low, high]);
    return (v - signal.offset) / signal.factor;
  }
  let result: bigint;
  if (raw) {
    if (typeof value === "number" && !Number.isInteger(value)) {
      throw new RangeError(`Raw value of signal "${signal.name}" must be an integer, got ${value}`);
    }
    result = BigInt(value);
  } else if (typeof value === "bigint") {
    const factor = BigInt(Number.isInteger(signal.factor) ? signal.factor : 0);
    const offset = Number.isInteger(signal.offset) ? BigInt(signal.offset) : undefined;
    if (factor === 0n || offset === undefined || (value - offset) % factor !== 0n) {
      throw new RangeError(
        `Signal "${signal.name}" of "${message.name}" takes a bigint only as an exact multiple of an integer factor`,
      );
    }
    result = (value - offset) / factor;
  } else {
    const [low, high] = physicalRange(signal);
    const note = signal.minimum === signal.maximum ? ` (${signal.length} bits)` : "";
    const slack = 1e-9 * Math.max(Math.abs(low), Math.abs(high), Math.abs(signal.factor));
    if (!(value >= low - slack && value <= high + slack)) {
      throw rangeError(message, signal, value, [low, high], note);
    }
    const r = Math.round(scalerOf(signal).toRaw(value));
    result = BigInt(r);
  }
  const [rawLow, rawHigh] = rawLimits(signal);
  if (result < rawLow || result > rawHigh) {
    if (raw) {
      throw new RangeError(
        `Raw value of signal "${signal.name}" of "${message.name}" must be within ${rawLow}-${rawHigh} (${signal.length} bits), got ${value}`,
      );
    }
    const [low, high] = rawLimits(signal).map((r) => scalerOf(signal).toPhysical(r));
    throw rangeError(
      message,
      signal,
      value,
      [Math.min(low, high), Math.max(low, high)],
      ` (${signal.length} bits)`,
    );
  }
  return signal.length > 52 ? result : Number(result);
}

function bitsOf(signal: DbcSignal, raw: number | bigint): number | bigint {
  if (signal.valueType === "float32") {
    const view = new DataView(new ArrayBuffer(4));
    view.setFloat32(0, Number(raw));
    return view.getUint32(0);
  }
  if (signal.valueType === "float64") {
    const view = new DataView(new ArrayBuffer(8));
    view.setFloat64(0, Number(raw));
    return view.getBigUint64(0);
  }
  return typeof raw === "bigint"
    ? BigInt.asUintN(signal.length, raw)
    : raw < 0
    ? raw + 2 ** signal.length
    : raw;
}

/**
 * Encodes signal values into a payload of the message's length.
 *
 * Signals left out take their `GenSigStartValue` (raw), or 0. A multiplexed
 * signal is written only when the multiplexor values select it.
 *
 * @param message The message.
 * @param values Physical values (numbers, or labels from the value table) by signal name.
 * @param options Raw instead of physical values.
 * @returns The payload.
 * @throws {RangeError} When a value is outside its signal's range or bits, a
 *   label or signal name is unknown, or a given signal is not selected by its multiplexor.
 * @throws {TypeError} When a value is neither a number, a bigint nor a string.
 * @example
 * ```ts
 * import { parseDbc } from "./parse.ts";
 * import { encodeSignals } from "./codec.ts";
 * const db = parseDbc('BO_ 1 M: 2 X\n SG_ S : 0|16@1+ (0.5,0) [0|100] "km/h" X\n');
 * const data = encodeSignals(db.messages[0], { S: 50 });
 * if (data[0] !== 100) throw new Error();
 * ```
 */
export function encodeSignals(
  message: DbcMessage,
  values: SignalValues,
  options: EncodeOptions = {},
): Uint8Array {
  if (values === null || typeof values !== "object") {
    throw new TypeError(
      `Signal values must be an object, got ${values === null ? "null" : typeof values}`,
    );
  }
  const byName = new Map(message.signals.map((s) => [s.name, s]));
  for (const name of Object.keys(values)) {
    if (!byName.has(name)) {
      throw new RangeError(`Message "${message.name}" has no signal "${name}"`);
    }
  }
  const raws = new Map<string, number | bigint>();
  const rawOf = (signal: DbcSignal): number | bigint => {
    let raw = raws.get(signal.name);
    if (raw === undefined) {
      const given = values[signal.name];
      raw = given === undefined
        ? signal.initialRaw
        : rawFor(message, signal, given, options.raw ?? false);
      raws.set(signal.name, raw);
    }
    return raw;
  };
  const selected = (signal: DbcSignal): boolean => {
    const mux = signal.multiplexing;
    if (!mux) return true;
    const parent = byName.get(mux.multiplexor)!;
    return selected(parent) && selects(mux.ranges, rawOf(parent));
  };
  const data = new Uint8Array(message.length);
  for (const signal of message.signals) {
    if (!selected(signal)) {
      if (values[signal.name] !== undefined) {
        const mux = signal.multiplexing!;
        throw new RangeError(
          `Signal "${signal.name}" of "${message.name}" needs ${mux.multiplexor} in ${
            mux.ranges.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(", ")
          }`,
        );
      }
      continue;
    }
    if (bytesNeeded(signal) > data.length) {
      // The file lets it run past the message; decode never shows it either.
      if (values[signal.name] === undefined) continue;
      throw new RangeError(
        `Signal "${signal.name}" runs past the ${message.length} bytes of "${message.name}"`,
      );
    }
    const raw = rawOf(signal);
    writeBits(data, signal, bitsOf(signal, raw));
  }
  return data;
}
