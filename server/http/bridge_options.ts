// The options of a CanBridge, with their documented defaults, and the
// checks and defaults applied to them before the bridge uses them.
import type { Backend } from "../backends/backend.ts";
import { DEFAULT_LIMITS, type Limits } from "../limits.ts";
import type { TokenTable } from "../access/auth.ts";
import type { DbcFile } from "./dbc_list.ts";
import { isIp, normalizeIp } from "../access/client_address.ts";

/**
 * Options of `CanBridge`.
 *
 * @example A bridge of two virtual channels behind a reverse proxy on this machine
 * ```ts
 * import type { BridgeOptions } from "./bridge_options.ts";
 * import { VirtualBackend } from "../backends/backend.ts";
 * const options: BridgeOptions = {
 *   backend: new VirtualBackend(["0", "1"]),
 *   maxClients: 16,
 *   trustedProxies: ["127.0.0.1"],
 * };
 * if (options.maxClients !== 16) throw new Error();
 * ```
 */
export interface BridgeOptions extends Partial<Limits> {
  /** Where client buses come from. */
  backend: Backend;
  /**
   * Most clients admitted at once (authenticated, or on a server without
   * tokens past their `bus_request`); more get HTTP 503 before upgrading, or
   * close 1013 when the server filled up while they were pending.
   * @default {256}
   */
  maxClients?: number;
  /**
   * Most connections waiting to be admitted at once: upgraded without a valid
   * token in the upgrade request (on a server with tokens) or without a
   * `bus_request` yet (on a server without). More get HTTP 503.
   * @default {128}
   */
  maxPending?: number;
  /**
   * Wrong tokens one remote address may present within `authFailureWindow`
   * before every further upgrade and `/api/channels` request from it gets
   * HTTP 429 until the window ends. `Infinity` turns the limit off.
   * @default {10}
   */
  maxAuthFailures?: number;
  /**
   * The window of `maxAuthFailures`, in milliseconds.
   * @default {60000}
   */
  authFailureWindow?: number;
  /**
   * Access tokens. When given (even empty), every client needs one of them;
   * when left out, nobody needs one.
   * @default {undefined}
   */
  tokens?: TokenTable;
  /**
   * Origins whose pages may connect besides the server's own, e.g.
   * `"https://dash.lab:8443"`; `"*"` allows every origin.
   * @default {[]}
   */
  allowOrigins?: readonly string[];
  /**
   * The address the server listens on. On a loopback address without tokens,
   * only requests whose `Host` is a loopback name (or the host of an allowed
   * origin) are upgraded, which stops DNS rebinding (a page on another site
   * whose name resolves to 127.0.0.1).
   * @default {undefined} (no `Host` check)
   */
  hostname?: string;
  /**
   * IP addresses of reverse proxies in front of the server. A request from
   * one of them is taken to come from the client its `X-Forwarded-For` names
   * (the right-most entry that is not a trusted proxy), for the failed-attempt
   * limit and the logs. The header is ignored from anyone else.
   * @default {[]}
   */
  trustedProxies?: readonly string[];
  /**
   * DBC files the web page loads from `GET /api/dbc` to decode signals
   * (behind a token when the server has tokens).
   * @default {[]}
   */
  dbcFiles?: readonly DbcFile[];
}

/**
 * The limits of a bridge: the options given, {@linkcode DEFAULT_LIMITS} for the rest.
 *
 * @param limits Limits from the options; `undefined` ones take the default.
 * @returns Every limit.
 * @example
 * ```ts
 * import { limitsWithDefaults } from "./bridge_options.ts";
 * const limits = limitsWithDefaults({ maxSendRate: 100, maxMessageSize: undefined });
 * if (limits.maxSendRate !== 100 || limits.maxMessageSize !== 65536) throw new Error();
 * ```
 */
export function limitsWithDefaults(limits: Partial<Limits>): Limits {
  return { ...DEFAULT_LIMITS, ...dropUndefined(limits) };
}

/**
 * Checks and normalizes the `trustedProxies` option.
 *
 * @param addresses The proxies' IP addresses.
 * @returns The addresses, normalized with {@linkcode normalizeIp}.
 * @throws {TypeError} When an entry is not a string.
 * @throws {RangeError} When an entry is not an IP address.
 * @example
 * ```ts
 * import { trustedProxySet } from "./bridge_options.ts";
 * if (!trustedProxySet(["[::FFFF:10.0.0.1]"]).has("10.0.0.1")) throw new Error();
 * let refused = false;
 * try { trustedProxySet(["proxy.lab"]); } catch (e) { refused = e instanceof RangeError; }
 * if (!refused) throw new Error();
 * ```
 */
export function trustedProxySet(addresses: readonly string[] | undefined): ReadonlySet<string> {
  return new Set((addresses ?? []).map(checkProxy));
}

function checkProxy(address: string): string {
  if (typeof address !== "string") {
    throw new TypeError(`A trusted proxy must be an IP address string, got ${typeof address}`);
  }
  const ip = normalizeIp(address);
  if (!isIp(ip)) {
    throw new RangeError(`A trusted proxy must be an IP address, got ${JSON.stringify(address)}`);
  }
  return ip;
}

function dropUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
