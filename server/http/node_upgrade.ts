// The 101 answer of a WebSocket upgrade on a node:http socket (RFC 6455
// section 4.2.2), checked as Deno.upgradeWebSocket checked it before, so
// the same requests upgrade: Upgrade and Connection headers and a key; the
// version is not checked (PROTOCOL.md).
import { createHash } from "node:crypto";
import type { Duplex } from "node:stream";
import { WsSocket, type WsSocketOptions } from "./ws_socket.ts";
import type { Upgrader } from "./bridge.ts";

// RFC 6455 section 1.3.
const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/**
 * The Sec-WebSocket-Accept value for a key.
 *
 * @example RFC 6455 section 1.3's example
 * ```ts
 * import { acceptKey } from "./node_upgrade.ts";
 * if (acceptKey("dGhlIHNhbXBsZSBub25jZQ==") !== "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") throw new Error();
 * ```
 */
export function acceptKey(key: string): string {
  return createHash("sha1").update(key + GUID).digest("base64");
}

/**
 * An {@linkcode Upgrader} for one node:http upgrade: it writes the 101 on
 * `socket` and wraps it in a {@linkcode WsSocket}.
 *
 * @param socket The upgrading connection.
 * @param head Bytes already read past the request head.
 * @param options The largest message the socket reassembles, the most messages per turn.
 * @returns The upgrader, which throws a TypeError (answered 400) for a
 *   request that cannot be upgraded.
 */
export function nodeUpgrader(
  socket: Duplex,
  head: Uint8Array,
  options: WsSocketOptions = {},
): Upgrader {
  return (request, protocol) => {
    const headers = request.headers;
    if (!/(^|,)\s*upgrade\s*(,|$)/i.test(headers.get("connection") ?? "")) {
      throw new TypeError("Invalid Header: 'connection' header must contain 'Upgrade'");
    }
    const key = headers.get("sec-websocket-key");
    if (!key) throw new TypeError("Invalid Header: 'sec-websocket-key' header must be set");
    let answer = "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n" +
      `connection: Upgrade\r\nsec-websocket-accept: ${acceptKey(key)}\r\n`;
    if (protocol !== undefined) answer += `sec-websocket-protocol: ${protocol}\r\n`;
    socket.write(answer + "\r\n");
    const ws = new WsSocket(socket, head, options);
    // A stand-in: the 101 has been written; the listener ignores this.
    return { socket: ws as unknown as WebSocket, response: new Response(null, { status: 200 }) };
  };
}
