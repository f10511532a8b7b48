// How a client's connection ended, for the log: the close code and what it
// means, or that there was no close frame at all. python-can-remote's client
// closes with an empty close payload, which Deno reports as code 1005.
import { CloseCode } from "../../core/protocol.ts";

// RFC 6455 section 7.4.1, and canremote's own codes (core/protocol.ts).
const MEANINGS: Readonly<Record<number, string>> = Object.freeze({
  [CloseCode.NORMAL]: "normal closure",
  [CloseCode.GOING_AWAY]: "going away",
  [CloseCode.PROTOCOL_ERROR]: "protocol error",
  1003: "unsupported data",
  [CloseCode.INVALID_PAYLOAD]: "invalid payload",
  [CloseCode.POLICY_VIOLATION]: "policy violation",
  [CloseCode.MESSAGE_TOO_BIG]: "message too big",
  [CloseCode.INTERNAL_ERROR]: "internal error",
  [CloseCode.TRY_AGAIN_LATER]: "try again later",
  [CloseCode.BAD_CONFIG]: "bad config",
  [CloseCode.UNAUTHORIZED]: "unauthorized",
  [CloseCode.FORBIDDEN]: "forbidden",
  [CloseCode.REQUEST_TIMEOUT]: "no bus_request in time",
  [CloseCode.BUS_ERROR]: "bus error",
});

/**
 * Describes how a WebSocket connection ended.
 *
 * @param code The close event's code: 0 or 1006 when the connection ended
 *   without a close frame, 1005 for a close frame without a code.
 * @returns E.g. `"1000, normal closure"`, `"close frame without a code"`, `"no close frame"`.
 * @example
 * ```ts
 * import { closeText } from "./close_text.ts";
 * if (closeText(0) !== "no close frame") throw new Error();
 * if (closeText(1001) !== "1001, going away") throw new Error();
 * ```
 */
export function closeText(code: number): string {
  if (code === 0 || code === 1006) return "no close frame";
  if (code === 1005) return "close frame without a code";
  const meaning = MEANINGS[code];
  return meaning === undefined ? `code ${code}` : `${code}, ${meaning}`;
}
