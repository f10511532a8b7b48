// Private: why a RemoteBus's connection ended, as a RemoteError with the
// close code, which endings another connection attempt cannot fix, and
// closing a socket without waiting forever for the server's close frame.
import { RemoteError } from "../core/errors.ts";
import { CloseCode } from "../core/protocol.ts";

/** How long the client waits for the server's close frame, in milliseconds. */
const CLOSE_WAIT_MS = 1000;

// HTTP refusals of an upgrade, as the close codes a server would use after it.
const REFUSAL_CODES: Readonly<Record<number, [number, string]>> = Object.freeze({
  401: [CloseCode.UNAUTHORIZED, "a missing or wrong access token"],
  403: [CloseCode.FORBIDDEN, "the origin, host or token is not allowed here"],
  429: [CloseCode.TRY_AGAIN_LATER, "too many failed access attempts from here; wait a minute"],
  503: [CloseCode.TRY_AGAIN_LATER, "the server is busy or shutting down"],
});

// Refusals that another attempt cannot fix: reconnecting would only repeat them.
const PERMANENT_CLOSE_CODES: ReadonlySet<number> = new Set([
  CloseCode.POLICY_VIOLATION,
  CloseCode.BAD_CONFIG,
  CloseCode.UNAUTHORIZED,
  CloseCode.FORBIDDEN,
]);

// Upgrades refused with a status the client could not see (Deno over HTTP/2).
const OPAQUE_REFUSALS = new WeakSet<RemoteError>();

/**
 * The error for a connection that closed, with a standard close code: an
 * HTTP refusal of the upgrade becomes the close code a server would use
 * (401 → 4401, 403 → 4403, 429 and 503 → 1013), a connection lost without a close
 * frame 1006.
 *
 * @param event The WebSocket's close event.
 * @param url The server, for the message.
 * @param failure The message of the WebSocket's error event, if any.
 * @returns The error; its `code` is the close code.
 * @example
 * ```ts
 * import { closeError } from "./close.ts";
 * const lost = closeError(new CloseEvent("close"), "ws://host/");
 * if (lost.code !== 1006) throw new Error();
 * const refused = closeError(new CloseEvent("close"), "ws://host/", "Invalid status code: 401");
 * if (refused.code !== 4401) throw new Error(refused.message);
 * ```
 */
export function closeError(event: CloseEvent, url: string, failure = ""): RemoteError {
  // Deno names the HTTP status of a refused upgrade in its error event
  // ("Invalid status code: 401"); browsers say nothing and report 1006.
  const status = /status code:? *(\d{3})/i.exec(failure)?.[1];
  if (!event.code && status !== undefined) {
    const refusal = REFUSAL_CODES[Number(status)];
    if (refusal === undefined) {
      // A web server, a proxy's error page, or canremote's 404 for a channel it does not share.
      return new RemoteError(
        `${url} answered HTTP ${status} instead of a WebSocket: it is not a canremote server` +
          (status === "404" ? ", or it shares no channel at this path" : ""),
        { code: 1006 },
      );
    }
    const [code, meaning] = refusal;
    return new RemoteError(
      `The server at ${url} refused the connection with HTTP ${status} (${meaning})`,
      { code },
    );
  }
  // Over wss:// Deno negotiates HTTP/2 and reports a refused upgrade as a stream error.
  if (!event.code && /stream error received/i.test(failure)) {
    const error = new RemoteError(
      `The server at ${url} refused the connection (its HTTP status is not visible here: ${failure})`,
      { code: 1006 },
    );
    OPAQUE_REFUSALS.add(error);
    return error;
  }
  // Nothing listens there (Deno: "tcp connect error"; Node's ws: ECONNREFUSED).
  if (!event.code && /tcp connect error|connection refused|ECONNREFUSED/i.test(failure)) {
    return new RemoteError(
      `Cannot connect to ${url} (${failure.split(": ").at(-1)}): ` +
        `is a canremote server running at ${url}?`,
      { code: 1006 },
    );
  }
  // Deno reports a connection that failed or dropped without a close frame as
  // code 0; browsers report 1006 (RFC 6455 section 7.4.1). Use the standard code.
  const code = event.code || 1006;
  const message = event.reason ||
    (code === 1006
      ? `The connection to ${url} failed or dropped (close code 1006)${
        failure ? `: ${failure}` : ""
      }`
      : `The server closed the connection with code ${code}`);
  return new RemoteError(message, { code });
}

/**
 * Whether an error from {@linkcode closeError} is an upgrade refused with an
 * HTTP status the client could not see (Deno over HTTP/2).
 *
 * @param error Any error.
 * @returns `true` for such a refusal.
 * @example
 * ```ts
 * import { closeError, isOpaqueRefusal } from "./close.ts";
 * const error = closeError(new CloseEvent("close"), "wss://host/", "stream error received: refused");
 * if (!isOpaqueRefusal(error) || error.code !== 1006) throw new Error();
 * ```
 */
export function isOpaqueRefusal(error: unknown): boolean {
  return error instanceof RemoteError && OPAQUE_REFUSALS.has(error);
}

/**
 * Whether another connection attempt would only be refused again: a close
 * code for a bad request, config or token, an `error` event or an unoffered
 * subprotocol (a {@linkcode RemoteError} without a code).
 *
 * @param error Why the connection ended or an attempt failed.
 * @returns `true` when reconnecting is pointless.
 * @example
 * ```ts
 * import { isPermanent } from "./close.ts";
 * import { RemoteError } from "../core/errors.ts";
 * if (!isPermanent(new RemoteError("no", { code: 4401 }))) throw new Error();
 * if (isPermanent(new RemoteError("dropped", { code: 1006 }))) throw new Error();
 * ```
 */
export function isPermanent(error: unknown): boolean {
  return error instanceof RemoteError &&
    (error.code === undefined || PERMANENT_CLOSE_CODES.has(error.code));
}

/**
 * Closes a WebSocket with code 1000 and waits for it to be closed, at most
 * a second (the server may never send its close frame). The socket's
 * `onclose` handler is replaced.
 *
 * @param ws A socket that is not closed yet.
 * @returns A promise that resolves once the socket closed or the second is over.
 * @example
 * ```ts
 * import { closeSocket } from "./close.ts";
 * const ws = new WebSocket("ws://127.0.0.1:1/"); // nobody listens on port 1
 * await closeSocket(ws);
 * if (ws.readyState !== WebSocket.CLOSED) throw new Error();
 * ```
 */
export function closeSocket(ws: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(bound);
      ws.onclose = null;
      resolve();
    };
    const bound = setTimeout(done, CLOSE_WAIT_MS);
    ws.onclose = done;
    ws.close(CloseCode.NORMAL);
  });
}
