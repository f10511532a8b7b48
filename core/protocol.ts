/**
 * Protocol tables of the WebSocket wire format (see PROTOCOL.md): subprotocol
 * names, event types, close codes and the limits of a close reason.
 *
 * @module
 */

/** JSON for every event (python-can-remote's `can.json.v1`). */
export const JSON_PROTOCOL = "can.json.v1";
/** CAN messages as binary frames, other events as JSON text (`can.binary+json.v1`). */
export const BINARY_PROTOCOL = "can.binary+json.v1";
/** Subprotocols in order of preference. */
export const SUBPROTOCOLS: readonly string[] = Object.freeze([BINARY_PROTOCOL, JSON_PROTOCOL]);

/**
 * Prefix of the `Sec-WebSocket-Protocol` entry that carries an access token
 * for clients that cannot set an `Authorization` header (browsers).
 *
 * @example
 * ```ts
 * import { TOKEN_PROTOCOL_PREFIX } from "./protocol.ts";
 * if (TOKEN_PROTOCOL_PREFIX !== "canremote.token.") throw new Error();
 * ```
 */
export const TOKEN_PROTOCOL_PREFIX = "canremote.token.";

/** Default TCP port of python-can-remote and canremote. */
export const DEFAULT_PORT = 54701;

/**
 * Event types. `dropped`, `set_filters`, `message_batch` and `bus_state` are canremote's additions;
 * python-can-remote ignores unknown types.
 */
export type EventType =
  | "bus_request"
  | "bus_response"
  | "message"
  | "error"
  | "periodic_start"
  | "periodic_stop"
  | "dropped"
  | "set_filters"
  | "message_batch"
  | "bus_state";

/** Every event type, for validation. */
export const EVENT_TYPES: readonly EventType[] = Object.freeze([
  "bus_request",
  "bus_response",
  "message",
  "error",
  "periodic_start",
  "periodic_stop",
  "dropped",
  "set_filters",
  "message_batch",
  "bus_state",
]);

/** Type byte of a binary CAN message (offset 0). */
export const BINARY_MESSAGE_TYPE = 1;
/**
 * Type byte of a binary message batch (canremote's addition; codec_batch.ts).
 * Not 2: the reference's recorded probes use 2 as "an unknown type".
 */
export const BINARY_BATCH_TYPE = 0x80;

/**
 * WebSocket close codes the server uses. 1000-1015 are RFC 6455 section 7.4.1;
 * 4000-4999 are private-use codes of canremote.
 *
 * @example Telling a refused token from a server restart
 * ```ts
 * import { CloseCode } from "./protocol.ts";
 * import { RemoteError } from "./errors.ts";
 * const error = new RemoteError("Missing or wrong access token", { code: 4401 });
 * const advice = error.code === CloseCode.UNAUTHORIZED ? "check the token" : "try again";
 * if (advice !== "check the token") throw new Error(advice);
 * ```
 */
export const CloseCode: {
  /** Normal closure. */
  readonly NORMAL: 1000;
  /** The server shuts down. */
  readonly GOING_AWAY: 1001;
  /** The first frame was not a `bus_request`, or the framing was wrong. */
  readonly PROTOCOL_ERROR: 1002;
  /** Text that is not UTF-8 or not JSON. */
  readonly INVALID_PAYLOAD: 1007;
  /** Refused by policy (origin, role). */
  readonly POLICY_VIOLATION: 1008;
  /** A WebSocket message larger than the server's limit. */
  readonly MESSAGE_TOO_BIG: 1009;
  /** The server failed unexpectedly. */
  readonly INTERNAL_ERROR: 1011;
  /** The server is at its client limit. */
  readonly TRY_AGAIN_LATER: 1013;
  /** The `bus_request` config was refused (bad key value, other interface or channel). */
  readonly BAD_CONFIG: 4400;
  /** Missing or wrong access token. */
  readonly UNAUTHORIZED: 4401;
  /** The token does not allow this channel. */
  readonly FORBIDDEN: 4403;
  /** No `bus_request` arrived in time. */
  readonly REQUEST_TIMEOUT: 4408;
  /** The bus failed or went away (e.g. the interface was removed). */
  readonly BUS_ERROR: 4500;
} = Object.freeze({
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  INVALID_PAYLOAD: 1007,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
  TRY_AGAIN_LATER: 1013,
  BAD_CONFIG: 4400,
  UNAUTHORIZED: 4401,
  FORBIDDEN: 4403,
  REQUEST_TIMEOUT: 4408,
  BUS_ERROR: 4500,
});

/** Longest close reason in UTF-8 bytes (RFC 6455 section 5.5: 125-byte control payload minus the code). */
export const MAX_CLOSE_REASON_BYTES = 123;

/**
 * Shortens a close reason to at most {@linkcode MAX_CLOSE_REASON_BYTES} UTF-8
 * bytes without splitting a character, marking a cut with an ellipsis.
 *
 * @param reason Any text.
 * @returns The text, fitting in a close frame.
 * @example
 * ```ts
 * import { truncateCloseReason } from "./protocol.ts";
 * const reason = truncateCloseReason("x".repeat(500));
 * if (new TextEncoder().encode(reason).length > 123) throw new Error();
 * ```
 */
export function truncateCloseReason(reason: string): string {
  const encoder = new TextEncoder();
  if (encoder.encode(reason).length <= MAX_CLOSE_REASON_BYTES) return reason;
  let out = "";
  let bytes = 3; // the ellipsis
  for (const char of reason) {
    const size = encoder.encode(char).length;
    if (bytes + size > MAX_CLOSE_REASON_BYTES) break;
    out += char;
    bytes += size;
  }
  return out + "\u2026";
}
