// Failed access attempts per remote address. A wrong token costs the
// guesser one attempt; after `maxFailures` of them within one window the
// address is refused outright (HTTP 429) until that window ends. The table
// is bounded (the oldest address goes first) and entries expire with their
// window, so a flood of addresses cannot grow the server's memory.

import { normalizeIp } from "./client_address.ts";

/** Failed attempts one address may make in a window before it gets HTTP 429. */
export const DEFAULT_MAX_AUTH_FAILURES = 10;
/** The window of {@linkcode DEFAULT_MAX_AUTH_FAILURES}, in milliseconds. */
export const DEFAULT_AUTH_FAILURE_WINDOW = 60_000;
/** Addresses tracked at once; beyond it the one whose window started first is forgotten. */
export const MAX_TRACKED_ADDRESSES = 10_000;

/** Options of {@linkcode AuthFailures}. */
export interface AuthFailuresOptions {
  /**
   * Failures an address may make within `window` before it is refused;
   * `Infinity` turns the limit off.
   * @default {10}
   */
  maxFailures?: number;
  /**
   * Milliseconds from an address's first failure until its count starts over.
   * @default {60000}
   */
  window?: number;
  /**
   * Addresses tracked at once.
   * @default {10000}
   */
  maxAddresses?: number;
  /**
   * Milliseconds clock; it must not go backwards.
   * @default {() => performance.now()}
   */
  now?: () => number;
}

/**
 * Counts failed access attempts per address in fixed windows: the first
 * failure of an address opens its window, and once it has made
 * `maxFailures` the address stays refused until the window ends. Nothing but
 * the window's end clears a count, a successful attempt included (else one
 * valid read-only token would allow endless guessing of the others).
 *
 * @example
 * ```ts
 * import { AuthFailures } from "./auth_failures.ts";
 * let now = 0;
 * const failures = new AuthFailures({ maxFailures: 2, window: 60_000, now: () => now });
 * failures.record("192.0.2.7");
 * if (failures.blockedFor("192.0.2.7") !== 0) throw new Error("one failure is allowed");
 * failures.record("192.0.2.7");
 * if (failures.blockedFor("192.0.2.7") !== 60_000) throw new Error("blocked for the window");
 * if (failures.blockedFor("192.0.2.8") !== 0) throw new Error("other addresses are not");
 * now = 60_000;
 * if (failures.blockedFor("192.0.2.7") !== 0 || failures.size !== 0) throw new Error("expired");
 * ```
 */
export class AuthFailures {
  /** Failures allowed in a window. */
  readonly maxFailures: number;
  /** The window, in milliseconds. */
  readonly window: number;
  /** Addresses tracked at once. */
  readonly maxAddresses: number;
  // Insertion order is the order the windows started in (an entry is only
  // ever added when its address has none), so expiry and eviction both take
  // from the front.
  #entries = new Map<string, { start: number; count: number }>();
  #now: () => number;

  /**
   * @param options Limit, window, table size and clock.
   * @throws {RangeError} When `maxFailures`, `window` or `maxAddresses` is not a positive
   *   integer (`maxFailures` may be `Infinity`).
   */
  constructor(options: AuthFailuresOptions = {}) {
    const {
      maxFailures = DEFAULT_MAX_AUTH_FAILURES,
      window = DEFAULT_AUTH_FAILURE_WINDOW,
      maxAddresses = MAX_TRACKED_ADDRESSES,
      now = () => performance.now(),
    } = options;
    if (maxFailures !== Infinity && !(Number.isInteger(maxFailures) && maxFailures >= 1)) {
      throw new RangeError(
        `maxFailures must be a positive integer or Infinity, got ${maxFailures}`,
      );
    }
    if (!(window > 0 && Number.isFinite(window))) {
      throw new RangeError(`window must be a positive number of milliseconds, got ${window}`);
    }
    if (!(Number.isInteger(maxAddresses) && maxAddresses >= 1)) {
      throw new RangeError(`maxAddresses must be a positive integer, got ${maxAddresses}`);
    }
    this.maxFailures = maxFailures;
    this.window = window;
    this.maxAddresses = maxAddresses;
    this.#now = now;
  }

  /** Addresses with failures in their current window. */
  get size(): number {
    this.#expire(this.#now());
    return this.#entries.size;
  }

  /**
   * How long an address must wait before it may try again.
   *
   * @param address The address's key ({@linkcode addressKey}).
   * @returns Milliseconds until its window ends when it is refused, else 0.
   */
  blockedFor(address: string): number {
    const now = this.#now();
    this.#expire(now);
    const entry = this.#entries.get(address);
    if (!entry || entry.count < this.maxFailures) return 0;
    return entry.start + this.window - now;
  }

  /**
   * Counts one failed attempt of an address.
   *
   * @param address The address's key ({@linkcode addressKey}).
   * @returns The address's failures in its current window.
   */
  record(address: string): number {
    if (this.maxFailures === Infinity) return 0;
    const now = this.#now();
    this.#expire(now);
    let entry = this.#entries.get(address);
    if (!entry) {
      entry = { start: now, count: 0 };
      this.#entries.set(address, entry);
      if (this.#entries.size > this.maxAddresses) {
        this.#entries.delete(this.#entries.keys().next().value!);
      }
    }
    return ++entry.count;
  }

  #expire(now: number): void {
    for (const [address, entry] of this.#entries) {
      if (entry.start + this.window > now) return;
      this.#entries.delete(address);
    }
  }
}

/**
 * The key failures of a remote address are counted under: an IPv4 address
 * as it is, an IPv6 address by its /64 prefix (one host usually holds a whole
 * /64, so counting single IPv6 addresses would not slow it down), an
 * IPv4-mapped IPv6 address as the IPv4 address.
 *
 * @param hostname The remote address, IPv6 with or without brackets and zone.
 * @returns The key.
 * @example
 * ```ts
 * import { addressKey } from "./auth_failures.ts";
 * if (addressKey("192.0.2.7") !== "192.0.2.7") throw new Error();
 * if (addressKey("2001:db8::1") !== addressKey("2001:db8:0:0:ffff::2")) throw new Error();
 * if (addressKey("2001:db8::1") !== "2001:db8:0:0::/64") throw new Error(addressKey("2001:db8::1"));
 * if (addressKey("::ffff:192.0.2.7") !== "192.0.2.7") throw new Error();
 * ```
 */
export function addressKey(hostname: string): string {
  // Brackets, zone, case and IPv4-mapped addresses as client_address.ts reads them.
  const host = normalizeIp(hostname);
  if (!host.includes(":")) return host;
  const [head, tail] = host.split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = tail === undefined ? left : [
    ...left,
    ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"),
    ...right,
  ];
  return groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, "")).join(":") + "::/64";
}
