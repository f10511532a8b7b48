// Private: how a RemoteBus gets a connection, the first time and again
// after losing it. One dial is a handshake (_remote_handshake.ts), tried a
// second time with the token as a subprotocol entry when Deno could not see
// why an upgrade was refused; reconnecting dials with exponential back-off.
import type { ReconnectOptions } from "./options.ts";
import type { RemoteSettings } from "./config.ts";
import { isOpaqueRefusal, isPermanent } from "./close.ts";
import { type Connection, handshake } from "./handshake.ts";
import { openSocket } from "./token.ts";
import { sleep } from "../core/_sleep.ts";

/** The settings every connection attempt reads; `config` as it is at the time. */
export type DialSettings = Pick<
  RemoteSettings,
  "offered" | "config" | "token" | "tokenTransport" | "timeout" | "httpClient"
>;

/**
 * Connects once: opens the WebSocket, sends the `bus_request` and waits for
 * the `bus_response`, then hands the socket to `connection`. Deno's client
 * cannot see the HTTP status of an upgrade refused over wss:// (HTTP/2);
 * with a header token it then tries once more with the token as a
 * subprotocol entry, which a canremote server answers with a close code
 * (4401, 4403) that says why.
 *
 * @param url The server.
 * @param settings Subprotocols, config, token, timeout and HTTP client.
 * @param connection Where the socket's events go once it is open.
 * @param signal Aborts the attempt; the promise rejects with its reason.
 * @returns A promise that resolves once `connection.opened()` was called.
 * @throws What {@linkcode handshake} throws.
 * @example Nobody listens on port 1
 * ```ts
 * import { dial } from "./dial.ts";
 * import { RemoteError } from "../core/errors.ts";
 * const settings = {
 *   offered: ["can.json.v1"],
 *   config: {},
 *   token: undefined,
 *   tokenTransport: "subprotocol" as const,
 *   timeout: 2000,
 *   httpClient: undefined,
 * };
 * const connection = { opened() {}, event() {}, undecodable() {}, lost() {} };
 * const error = await dial("ws://127.0.0.1:1/", settings, connection).catch((e) => e);
 * if (!(error instanceof RemoteError) || error.code !== 1006) throw error;
 * ```
 */
export async function dial(
  url: string,
  settings: DialSettings,
  connection: Connection,
  signal?: AbortSignal,
): Promise<void> {
  const attempt = (transport: DialSettings["tokenTransport"]) =>
    handshake({
      url,
      offered: settings.offered,
      config: settings.config,
      timeout: settings.timeout,
      signal,
      open: () =>
        openSocket(url, {
          offered: settings.offered,
          token: settings.token,
          transport,
          httpClient: settings.httpClient,
        }),
    }, connection);
  try {
    await attempt(settings.tokenTransport);
  } catch (error) {
    const retry = settings.token !== undefined && settings.tokenTransport === "header" &&
      isOpaqueRefusal(error);
    if (!retry) throw error;
    await attempt("subprotocol");
  }
}

/**
 * Dials again after a lost connection: waits `initialDelay`, twice that,
 * four times that, ... up to `maxDelay` before each of at most `maxRetries`
 * attempts, and gives up early on a refusal that another attempt cannot fix.
 *
 * @param retry The back-off.
 * @param signal Ends the waiting and the attempt in progress (the bus closed).
 * @param connect One attempt: {@linkcode dial} with the bus's settings.
 * @param error Why the connection was lost.
 * @returns A promise that resolves once connected again, or when `signal` aborts.
 * @throws The last attempt's failure when giving up (`error` when no attempt was made).
 * @example Two attempts, both refused
 * ```ts
 * import { redial } from "./dial.ts";
 * import { RemoteError } from "../core/errors.ts";
 * let attempts = 0;
 * const connect = () => {
 *   attempts++;
 *   return Promise.reject(new RemoteError("gone", { code: 1006 }));
 * };
 * const retry = { initialDelay: 1, maxDelay: 2, maxRetries: 2 };
 * const lost = new RemoteError("lost", { code: 1001 });
 * const error = await redial(retry, new AbortController().signal, connect, lost).catch((e) => e);
 * if (attempts !== 2 || error.message !== "gone") throw new Error(`${attempts} ${error}`);
 * ```
 */
export async function redial(
  retry: Required<ReconnectOptions>,
  signal: AbortSignal,
  connect: (signal: AbortSignal) => Promise<void>,
  error: unknown,
): Promise<void> {
  const { initialDelay, maxDelay, maxRetries } = retry;
  for (let attempt = 0; attempt < maxRetries; attempt++) {
    await sleep(Math.min(initialDelay * 2 ** attempt, maxDelay), signal);
    if (signal.aborted) return;
    try {
      return await connect(signal);
    } catch (failure) {
      if (signal.aborted) return;
      error = failure;
      if (isPermanent(failure)) break;
    }
  }
  throw error;
}
