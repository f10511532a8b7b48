// Private: one connection attempt of a RemoteBus. It opens the WebSocket,
// checks the selected subprotocol, sends the bus_request and waits for the
// bus_response, a refusal, the timeout or the caller's abort. The socket's
// handlers stay the same afterwards, so no event can slip between the
// handshake and normal operation: they hand everything to the bus.
import { decodeEvent, encodeEvent } from "../core/codec.ts";
import { RemoteError } from "../core/errors.ts";
import { type CanEvent, UnknownEventTypeError } from "../core/events.ts";
import { JSON_PROTOCOL } from "../core/protocol.ts";
import { closeError, closeSocket } from "./close.ts";
import { after } from "../core/_sleep.ts";

/** What one attempt needs. */
export interface HandshakeOptions {
  /** The server, for messages. */
  url: string;
  /** The subprotocols offered; the server must select one of them. */
  offered: readonly string[];
  /** The `bus_request` config, read when the socket opens. */
  config: Record<string, unknown>;
  /** Milliseconds to wait for the `bus_response`. */
  timeout: number;
  /** Aborts the attempt; it rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Opens the WebSocket (with the token, if any). */
  open(): WebSocket;
}

/** Where the socket's events go once the `bus_response` arrived. */
export interface Connection {
  /**
   * The `bus_response` arrived: the socket is the bus's from now on.
   * `requested` is a shallow copy of the config the `bus_request` carried,
   * which the live config may have moved on from meanwhile.
   */
  opened(
    ws: WebSocket,
    protocol: string,
    channelInfo: string,
    requested: Record<string, unknown>,
  ): void;
  /** An event from the server. */
  event(event: CanEvent): void;
  /** Something the server sent that does not decode. */
  undecodable(error: RemoteError): void;
  /** The connection closed. */
  lost(ws: WebSocket, error: RemoteError): void;
}

/**
 * Makes one connection attempt: resolves once the `bus_response` arrived and
 * `connection.opened()` was called. On failure it closes the socket (waiting
 * up to a second for it to go) before rejecting, so nothing outlives the call.
 *
 * @param options URL, subprotocols, config, timeout, signal and how to open the socket.
 * @param connection Where the socket's events go after the handshake.
 * @returns A promise for the handshake.
 * @throws {SyntaxError} For a URL WebSocket refuses.
 * @throws {RemoteError} For an `error` event, an unoffered subprotocol, an
 *   undecodable answer, or a close before the `bus_response` (with its code).
 * @throws {DOMException} A `TimeoutError` when no `bus_response` came in time.
 * @example Nobody listens on port 1
 * ```ts
 * import { handshake } from "./handshake.ts";
 * import { RemoteError } from "../core/errors.ts";
 * const url = "ws://127.0.0.1:1/";
 * const error = await handshake(
 *   { url, offered: ["can.json.v1"], config: {}, timeout: 2000, open: () => new WebSocket(url) },
 *   { opened() {}, event() {}, undecodable() {}, lost() {} },
 * ).catch((e) => e);
 * if (!(error instanceof RemoteError) || error.code !== 1006) throw error;
 * ```
 */
export function handshake(options: HandshakeOptions, connection: Connection): Promise<void> {
  const { url, offered, config, timeout, signal } = options;
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    let ws: WebSocket;
    try {
      ws = options.open();
    } catch (error) {
      // WebSocket throws a DOMException named SyntaxError; callers get the built-in class.
      const name = (error as DOMException)?.name;
      return reject(
        name === "SyntaxError"
          ? new SyntaxError(
            `Cannot open a WebSocket to ${JSON.stringify(url)}: ${(error as Error).message}`,
            { cause: error },
          )
          : error,
      );
    }
    ws.binaryType = "arraybuffer";
    let failure = "";
    ws.onerror = (event) => failure = (event as ErrorEvent).message ?? "";
    let ready = false;
    let failed = false;
    let protocol = JSON_PROTOCOL;
    let requested: Record<string, unknown> = {};
    const cancelTimer = after(
      timeout,
      () =>
        fail(
          new DOMException(`No bus_response from ${url} within ${timeout} ms`, "TimeoutError"),
        ),
    );
    const onAbort = () => fail(signal!.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    const settle = () => {
      cancelTimer();
      signal?.removeEventListener("abort", onAbort);
    };
    const fail = (error: unknown) => {
      if (ready || failed) return;
      failed = true;
      settle();
      ws.onopen = ws.onmessage = null;
      if (ws.readyState === WebSocket.CLOSED) return reject(error);
      // Reject once the socket is gone (bounded), so nothing outlives the call.
      closeSocket(ws).then(() => reject(error));
    };
    ws.onopen = () => {
      // A 101 without Sec-WebSocket-Protocol means can.json.v1, as in python-can-remote's server.
      protocol = ws.protocol || JSON_PROTOCOL;
      if (!offered.includes(protocol)) {
        return fail(
          new RemoteError(
            `The server selected the subprotocol ${
              JSON.stringify(protocol)
            }, which was not offered (${offered.join(", ")})`,
          ),
        );
      }
      requested = { ...config };
      ws.send(encodeEvent({ type: "bus_request", config: requested }, protocol));
    };
    ws.onmessage = (message) => {
      let event: CanEvent;
      try {
        event = decodeEvent(message.data);
      } catch (error) {
        if (error instanceof UnknownEventTypeError) return; // as python-can-remote: ignored
        const text = `Undecodable event from ${url}: ${(error as Error).message}`;
        if (ready) connection.undecodable(new RemoteError(text, { cause: error }));
        else fail(new RemoteError(text, { cause: error }));
        return;
      }
      if (ready) return connection.event(event);
      if (event.type === "bus_response") {
        ready = true;
        settle();
        connection.opened(ws, protocol, event.channelInfo, requested);
        resolve();
      } else if (event.type === "error") {
        fail(new RemoteError(event.message));
      }
    };
    ws.onclose = (event) => {
      const error = closeError(event, url, ready ? "" : failure);
      if (ready) connection.lost(ws, error);
      else fail(error);
    };
  });
}
