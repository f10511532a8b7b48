// Private: how a RemoteBus's access token travels when the WebSocket opens,
// as an `Authorization` header (Deno) or a `Sec-WebSocket-Protocol` entry.
// A token in the bus_request config is the config's business (_remote_config.ts).
import type { TokenTransport } from "./options.ts";
import { TOKEN_PROTOCOL_PREFIX } from "../core/protocol.ts";

/**
 * The `Sec-WebSocket-Protocol` entry that carries a token:
 * `canremote.token.` followed by the token's UTF-8 bytes in base64url without
 * padding (RFC 4648 section 5), which keeps it a valid subprotocol name. Offer
 * it after the real subprotocols; the server never selects or echoes it.
 *
 * @param token The access token.
 * @returns The subprotocol entry.
 * @example A browser connecting with a token
 * ```ts
 * import { tokenProtocol } from "../client.ts";
 * const entry = tokenProtocol("k8Jd-2mQ_x9");
 * if (entry !== "canremote.token.azhKZC0ybVFfeDk") throw new Error(entry);
 * // new WebSocket(url, ["can.binary+json.v1", "can.json.v1", entry]);
 * ```
 */
export function tokenProtocol(token: string): string {
  const bytes = new TextEncoder().encode(token);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  const base64 = btoa(binary);
  return TOKEN_PROTOCOL_PREFIX +
    base64.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** What {@linkcode openSocket} needs to open one connection. */
export interface SocketOptions {
  /** The subprotocols to offer, in order. */
  offered: readonly string[];
  /** The access token, if any. */
  token: string | undefined;
  /** How the token travels; `"config"` adds nothing to the upgrade. */
  transport: TokenTransport;
  /** A `Deno.HttpClient`, if any. */
  httpClient: object | undefined;
}

/**
 * Opens a WebSocket with the token as a header or a subprotocol entry, and
 * with the HTTP client if there is one.
 *
 * @param url The server.
 * @param options Subprotocols, token, transport and HTTP client.
 * @returns The connecting WebSocket.
 * @throws {DOMException} A `SyntaxError` for a URL WebSocket refuses.
 * @example
 * ```ts
 * import { openSocket } from "./token.ts";
 * const ws = openSocket("ws://127.0.0.1:1/", {
 *   offered: ["can.json.v1"],
 *   token: "secret",
 *   transport: "subprotocol",
 *   httpClient: undefined,
 * });
 * await new Promise((resolve) => ws.onclose = resolve); // nobody listens on port 1
 * ```
 */
export function openSocket(url: string, options: SocketOptions): WebSocket {
  const { token, transport, httpClient } = options;
  const protocols = [...options.offered];
  if (token !== undefined && transport === "subprotocol") protocols.push(tokenProtocol(token));
  const header = token !== undefined && transport === "header";
  if (!header && httpClient === undefined) return new WebSocket(url, protocols);
  // Deno's WebSocket takes options in place of the protocol list (a non-standard extension).
  const init: Record<string, unknown> = { protocols };
  if (header) init.headers = { authorization: `Bearer ${token}` };
  if (httpClient !== undefined) init.client = httpClient;
  return new WebSocket(url, init as unknown as string[]);
}
