// WebSocket upgrade decisions, made before upgrading so a refused client
// gets a plain HTTP status (the ws package's rule; the reference upgrades
// anything and answers a protocol that was never offered).
import { BINARY_PROTOCOL, JSON_PROTOCOL } from "../../core/protocol.ts";
import { TOKEN_PROTOCOL_PREFIX } from "../../core/protocol.ts";

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
  // A token entry is never selected (it would echo the secret back).
  const offered = header.split(",").map((item) => item.trim()).filter((item) =>
    !item.startsWith(TOKEN_PROTOCOL_PREFIX)
  );
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

/** The token a request presents before upgrading, or why it cannot be read. */
export interface PresentedToken {
  /** The token, when one was presented. */
  token?: string;
  /** How it travelled. */
  via?: "header" | "subprotocol";
  /** Why the request's token cannot be read (then `token` is absent). */
  error?: string;
}

/**
 * Reads the access token an upgrade request carries: `Authorization: Bearer
 * TOKEN` (Deno and other non-browser clients) or one
 * `canremote.token.<base64url of the token>` entry in `Sec-WebSocket-Protocol`
 * (browsers cannot set headers).
 *
 * @param request The upgrade request.
 * @returns `{ token, via }`, `{ error }` for a malformed one, or `{}` when there is none.
 * @example
 * ```ts
 * import { presentedToken } from "./handshake.ts";
 * const request = new Request("http://localhost/", {
 *   headers: { authorization: "Bearer k8Jd-2mQ_x9" },
 * });
 * if (presentedToken(request).token !== "k8Jd-2mQ_x9") throw new Error();
 * ```
 */
export function presentedToken(request: Request): PresentedToken {
  const header = request.headers.get("authorization");
  const entries = (request.headers.get("sec-websocket-protocol") ?? "").split(",")
    .map((item) => item.trim()).filter((item) => item.startsWith(TOKEN_PROTOCOL_PREFIX));
  if (header !== null && entries.length) {
    return { error: "Give the access token once: in the Authorization header or the subprotocol" };
  }
  if (header !== null) {
    const match = /^Bearer +(\S+) *$/i.exec(header);
    if (!match) return { error: 'The Authorization header must be "Bearer TOKEN"' };
    return { token: match[1], via: "header" };
  }
  if (entries.length > 1) return { error: "More than one token subprotocol offered" };
  if (entries.length === 1) {
    const token = decodeBase64Url(entries[0].slice(TOKEN_PROTOCOL_PREFIX.length));
    if (token === undefined) {
      return { error: `A token subprotocol is ${TOKEN_PROTOCOL_PREFIX}<base64url of the token>` };
    }
    return { token, via: "subprotocol" };
  }
  return {};
}

function decodeBase64Url(text: string): string | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(text)) return undefined;
  try {
    const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    return new TextDecoder("utf-8", { fatal: true }).decode(
      Uint8Array.from(binary, (c) => c.charCodeAt(0)),
    );
  } catch {
    return undefined;
  }
}

/**
 * Cross-site WebSocket hijacking guard: a browser sends `Origin` with every
 * WebSocket request, and a page from another site must not reach the bus
 * with the user's network position. Requests without `Origin` (python-can,
 * Deno) pass; so do the server's own origin (scheme and `Host`, as the served
 * page has it) and the origins allowed.
 *
 * @param request The upgrade request (its URL carries the scheme and `Host`).
 * @param allowed Allowed origins, e.g. `["https://dash.lab:8443"]`; `"*"` allows all.
 * @returns `undefined` when allowed, else the refusal text.
 * @example
 * ```ts
 * import { originRefusal } from "./handshake.ts";
 * const from = (origin: string) =>
 *   new Request("http://127.0.0.1:54701/", { headers: { origin } });
 * if (originRefusal(from("http://127.0.0.1:54701"), []) !== undefined) throw new Error();
 * if (originRefusal(from("https://evil.example"), []) === undefined) throw new Error();
 * ```
 */
export function originRefusal(request: Request, allowed: readonly string[]): string | undefined {
  const origin = request.headers.get("origin");
  if (origin === null) return undefined;
  if (allowed.includes("*") || allowed.includes(origin)) return undefined;
  const own = new URL(request.url).origin;
  let normalized = origin;
  try {
    normalized = new URL(origin).origin;
  } catch {
    // "null" (sandboxed frames, file:) and garbage: compared as given
  }
  if (normalized === own || allowed.includes(normalized)) return undefined;
  return `Origin ${
    JSON.stringify(origin)
  } may not connect: pages from other sites need the server's --allow-origin`;
}

/**
 * Whether a host name or address is the loopback interface: `localhost` (and
 * `*.localhost`), 127.0.0.0/8 and `::1`.
 *
 * @param hostname A host name or address, IPv6 with or without brackets.
 * @returns `true` for loopback.
 * @example
 * ```ts
 * import { isLoopback } from "./handshake.ts";
 * if (!isLoopback("127.0.0.1") || !isLoopback("[::1]") || isLoopback("0.0.0.0")) throw new Error();
 * ```
 */
export function isLoopback(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[(.*)\]$/, "$1").replace(/\.$/, "");
  return host === "localhost" || host.endsWith(".localhost") || host === "::1" ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === "::ffff:127.0.0.1";
}
