// WebSocket upgrade decisions, made before upgrading so a refused client
// gets a plain HTTP status (the ws package's rule; the reference upgrades
// anything and answers a protocol that was never offered).
import { BINARY_PROTOCOL, JSON_PROTOCOL } from "../protocol.ts";

/**
 * Picks the subprotocol for an offered `Sec-WebSocket-Protocol` header:
 * binary whenever offered, else JSON; no header at all means JSON.
 *
 * @param header The header value, or `null` when absent.
 * @returns `{ protocol, echo }` (`echo`: whether to name it in the response), or `null`
 *   when the header names nothing we support.
 */
export function negotiateProtocol(
  header: string | null,
): { protocol: string; echo: boolean } | null {
  if (header === null || header.trim() === "") return { protocol: JSON_PROTOCOL, echo: false };
  const offered = header.split(",").map((item) => item.trim());
  if (offered.includes(BINARY_PROTOCOL)) return { protocol: BINARY_PROTOCOL, echo: true };
  if (offered.includes(JSON_PROTOCOL)) return { protocol: JSON_PROTOCOL, echo: true };
  return null;
}

/** True for a GET that asks to become a WebSocket (only `Upgrade: websocket` decides, as in the reference). */
export function isWebSocketUpgrade(request: Request): boolean {
  return request.method === "GET" &&
    request.headers.get("upgrade")?.toLowerCase() === "websocket";
}

/**
 * Maps a request path to a channel: `/` is the first channel, `/NAME` the channel NAME.
 *
 * @returns The channel, or `undefined` when the path names none of `channels`.
 */
export function channelForPath(pathname: string, channels: readonly string[]): string | undefined {
  if (pathname === "/" || pathname === "") return channels[0];
  let name: string;
  try {
    name = decodeURIComponent(pathname.slice(1).replace(/\/$/, ""));
  } catch {
    return undefined;
  }
  return channels.includes(name) ? name : undefined;
}
