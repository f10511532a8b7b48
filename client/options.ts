// Private: the options of RemoteBus.connect(), public types that client.ts
// re-exports. _remote_config.ts checks them and fills in the defaults
// documented here.
import type { BusOptions } from "../core/bus.ts";

/**
 * How a {@linkcode RemoteBus} retries after losing its connection: waits of
 * `initialDelay`, twice that, four times that, ... up to `maxDelay`.
 *
 * @example
 * ```ts
 * import type { ReconnectOptions } from "../client.ts";
 * const patient: ReconnectOptions = { initialDelay: 500, maxDelay: 10_000 };
 * if (patient.maxRetries !== undefined) throw new Error("retries forever by default");
 * ```
 */
export interface ReconnectOptions {
  /**
   * Milliseconds before the first attempt; each further attempt waits twice as long.
   * @default {250}
   */
  initialDelay?: number;
  /**
   * Longest wait between two attempts, in milliseconds.
   * @default {5000}
   */
  maxDelay?: number;
  /**
   * Attempts after one disconnection before giving up and closing the bus.
   * @default {Infinity}
   */
  maxRetries?: number;
}

/**
 * Options of {@linkcode RemoteBus.connect}. The {@linkcode BusOptions} go to
 * the server in the `bus_request` config under python-can's names
 * (`receiveOwnMessages` as `receive_own_messages`, `canFilters` as
 * `can_filters` of `{can_id, can_mask, extended}`, `dataBitrate` as
 * `data_bitrate`, `preserveTimestamps` as `preserve_timestamps`; `channel`,
 * `bitrate` and `fd` unchanged), in the order they are written.
 *
 * @example
 * ```ts
 * import type { RemoteBusOptions } from "../client.ts";
 * // Both send {"bitrate": 500000, "receive_own_messages": true} as the config.
 * const camel: RemoteBusOptions = { bitrate: 500000, receiveOwnMessages: true };
 * const raw: RemoteBusOptions = { config: { bitrate: 500000, receive_own_messages: true } };
 * if (camel.protocol ?? raw.protocol) throw new Error("both offer binary, then JSON");
 * ```
 */
export interface RemoteBusOptions extends BusOptions {
  /**
   * Raw `bus_request` config with python-can's snake_case keys, sent as is
   * except that, as python-can's config loading does, a numeric string
   * `bitrate` or `data_bitrate` becomes a number and a string `fd` a boolean.
   * The camelCase options are added after it and win over it.
   * @default {{}}
   */
  config?: Record<string, unknown>;
  /** Aborts connecting; `connect()` rejects with the signal's reason. Closing a connected bus is `close()`'s job. */
  signal?: AbortSignal;
  /**
   * Milliseconds to wait for the server's `bus_response` (python-can-remote's client waits 5 s);
   * `connect()` then rejects with a `TimeoutError` `DOMException`. Reconnection attempts use it too.
   * @default {5000}
   */
  timeout?: number;
  /**
   * Subprotocols to offer: `"binary"` offers `can.binary+json.v1` then
   * `can.json.v1` and takes whichever the server selects; `"json"` offers only `can.json.v1`.
   * @default {"binary"}
   */
  protocol?: "binary" | "json";
  /**
   * Reconnect with exponential back-off when the connection drops, restoring
   * the periodic tasks. `true` uses the default {@linkcode ReconnectOptions}.
   * @default {false}
   */
  reconnect?: boolean | ReconnectOptions;
  /**
   * Ask the server for `message_batch` events (`"message_batches": true` in
   * the config): a canremote server then sends the frames that pile up while
   * this client's socket is busy in one message, which keeps a saturated bus
   * cheap to follow. python-can-remote's server ignores the key.
   * @default {true}
   */
  messageBatches?: boolean;
  /**
   * Ask the server for `bus_state` events (`"bus_state": true` in the
   * config): a canremote server then reports the channel's health (controller
   * state, bit rate, error counters, statistics) at once and on every change;
   * {@linkcode RemoteBus.busState} holds the latest and a `"busstate"` event
   * announces each. python-can-remote's server ignores the key.
   * @default {false}
   */
  busState?: boolean;
  /**
   * Bytes the WebSocket may hold unsent before `send()` waits for it to drain.
   * @default {1048576}
   */
  maxBufferedAmount?: number;
  /**
   * Received frames kept for a reader that falls behind; beyond it the oldest are dropped.
   * @default {65536}
   */
  queueLimit?: number;
  /**
   * Access token for a canremote server that requires one. A `token` key in
   * `config` (python-can's keyword argument) is taken the same way. It
   * travels as `tokenTransport` says; it is never part of the URL.
   * @default {undefined}
   */
  token?: string;
  /**
   * How the token travels: `"header"` as `Authorization: Bearer TOKEN` (Deno
   * only: browsers cannot set WebSocket headers), `"subprotocol"` as a
   * `canremote.token.<base64url>` entry in `Sec-WebSocket-Protocol`
   * ({@linkcode tokenProtocol}), `"config"` as a `token` key in the
   * `bus_request` config (what python-can-remote's client sends). With the
   * first two a wrong token is refused before the connection opens.
   * @default {"header"} in Deno, `"subprotocol"` elsewhere
   */
  tokenTransport?: TokenTransport;
  /**
   * Deno only: the `Deno.HttpClient` to connect with, e.g.
   * `Deno.createHttpClient({ caCerts: [caPem] })` to trust a private CA for a
   * `wss://` server with a self-signed certificate. Certificates are always
   * verified; the caller closes the client. (Setting the `DENO_CERT`
   * environment variable to the CA file does the same for the whole process.)
   * @default {undefined}
   */
  httpClient?: object;
}

/**
 * How a {@linkcode RemoteBus} sends its access token (see
 * {@linkcode RemoteBusOptions.tokenTransport}).
 *
 * @example
 * ```ts
 * import type { TokenTransport } from "../client.ts";
 * const inBrowsers = (t: TokenTransport) => t !== "header";
 * if (!inBrowsers("subprotocol") || inBrowsers("header")) throw new Error();
 * ```
 */
export type TokenTransport = "header" | "subprotocol" | "config";
