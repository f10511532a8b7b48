/**
 * Raw-to-physical scaling of a DBC signal, decimal-exact where a double allows.
 *
 * `raw × 0.1 + 0` in binary floating point gives 0.30000000000000004 for 3;
 * the factor and offset are decimals in the file, so scaling is done as one
 * integer sum over a power of ten: (3 × 1 + 0) / 10 = 0.3, correctly rounded.
 * That keeps decoded values equal to what decimal-based tools (canmatrix)
 * print.
 *
 * @module
 */

import type { DbcSignal } from "./types.ts";

interface Decimal {
  mantissa: bigint;
  exponent: number;
}

function parseDecimal(text: string): Decimal | undefined {
  const match = /^(-?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!match) return undefined;
  const fraction = match[3] ?? "";
  const digits = (match[2] + fraction).replace(/^0+(?=\d)/, "") || "0";
  const exponent = fraction.length - Number(match[4] ?? 0);
  const mantissa = BigInt(match[1] + digits);
  return exponent < 0
    ? { mantissa: mantissa * 10n ** BigInt(-exponent), exponent: 0 }
    : { mantissa, exponent };
}

/** How one signal turns raw into physical values and back. */
export interface Scaler {
  /** Physical value of a raw value. */
  toPhysical(raw: number | bigint): number;
  /** Raw value (not yet range-checked or rounded) of a physical value. */
  toRaw(value: number): number;
}

const cache = new WeakMap<DbcSignal, Scaler>();

/**
 * The scaler for a signal, built once per signal.
 *
 * @param signal A parsed signal.
 * @returns Its scaler.
 * @example
 * ```ts
 * import { scalerOf } from "./scale.ts";
 * import { parseDbc } from "./parse.ts";
 * const db = parseDbc('BO_ 1 M: 1 X\n SG_ S : 0|8@1+ (0.1,0) [0|0] "" X\n');
 * if (scalerOf(db.messages[0].signals[0]).toPhysical(3) !== 0.3) throw new Error();
 * ```
 */
export function scalerOf(signal: DbcSignal): Scaler {
  let scaler = cache.get(signal);
  if (!scaler) {
    scaler = build(signal);
    cache.set(signal, scaler);
  }
  return scaler;
}

function build(signal: DbcSignal): Scaler {
  const { factor, offset } = signal;
  const toRaw = (value: number) => (value - offset) / factor;
  const plain: Scaler = {
    toPhysical: (raw) => Number(raw) * factor + offset,
    toRaw,
  };
  if (signal.valueType !== "integer" || signal.length > 52) return plain;
  if (factor === 1 && offset === 0) return { toPhysical: (raw) => Number(raw), toRaw };
  const f = parseDecimal(signal.factorText);
  const o = parseDecimal(signal.offsetText);
  if (!f || !o) return plain;
  const exponent = Math.max(f.exponent, o.exponent);
  if (exponent > 22) return plain; // 10^23 is not a double
  const fm = f.mantissa * 10n ** BigInt(exponent - f.exponent);
  const om = o.mantissa * 10n ** BigInt(exponent - o.exponent);
  const abs = (x: bigint) => (x < 0n ? -x : x);
  // Exact while |raw × fm| + |om| stays within 2^53.
  if ((abs(fm) << BigInt(signal.length)) + abs(om) > 2n ** 53n) return plain;
  const fmN = Number(fm);
  const omN = Number(om);
  const scale = 10 ** exponent;
  return { toPhysical: (raw) => (Number(raw) * fmN + omN) / scale, toRaw };
}
