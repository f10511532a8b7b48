// Between node:http and the fetch-style handler (bridge.ts): an
// IncomingMessage becomes a Request, a Response goes out on a
// ServerResponse or, for a refused upgrade, straight onto the socket.
import type { IncomingMessage, ServerResponse } from "node:http";
import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";

/**
 * The Request of a node:http request head (its body is not read: the
 * server answers GET and HEAD only).
 *
 * @param message The request.
 * @param scheme `http` or `https`.
 * @param fallbackHost The listening address, for a request without `Host`.
 * @returns The request.
 * @throws {TypeError} When its URL cannot be parsed.
 * @example
 * ```ts
 * import { toRequest } from "./node_request.ts";
 * import { IncomingMessage } from "node:http";
 * import { Socket } from "node:net";
 * const message = new IncomingMessage(new Socket());
 * message.method = "GET";
 * message.url = "/api/channels";
 * message.rawHeaders = ["Host", "127.0.0.1:54701", "Accept", "a", "accept", "b"];
 * const request = toRequest(message, "http", "127.0.0.1");
 * if (request.url !== "http://127.0.0.1:54701/api/channels") throw new Error();
 * if (request.headers.get("accept") !== "a, b") throw new Error();
 * ```
 */
export function toRequest(message: IncomingMessage, scheme: string, fallbackHost: string): Request {
  const headers = new Headers();
  const raw = message.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    try {
      headers.append(raw[i], raw[i + 1]);
    } catch {
      // A header Headers refuses (bytes outside Latin-1) is not one we read.
    }
  }
  const host = headers.get("host") || fallbackHost;
  return new Request(`${scheme}://${host}${message.url ?? "/"}`, {
    method: message.method,
    headers,
  });
}

/** The peer of a node socket as Deno.serve's handler info names it. */
export function handlerInfo(socket: { remoteAddress?: string; remotePort?: number }) {
  return {
    remoteAddr: {
      transport: "tcp" as const,
      hostname: socket.remoteAddress ?? "",
      port: socket.remotePort ?? 0,
    },
  } as unknown as Deno.ServeHandlerInfo;
}

/** Writes a Response on a node:http response. */
export async function writeResponse(response: Response, out: ServerResponse): Promise<void> {
  const body = response.body ? await response.bytes() : undefined;
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => headers[name] = value);
  // A length, not chunks: every body here is whole in memory (as Deno.serve sent it).
  if (body) headers["content-length"] = String(body.length);
  out.writeHead(response.status, headers);
  out.end(body);
}

/** Writes a Response as the answer to an upgrade request and closes the socket. */
export async function writeRawResponse(response: Response, socket: Duplex): Promise<void> {
  const body = response.body ? await response.bytes() : new Uint8Array();
  let head = `HTTP/1.1 ${response.status} ${STATUS_CODES[response.status] ?? ""}\r\n`;
  response.headers.forEach((value, name) => {
    if (name !== "content-length" && name !== "connection") head += `${name}: ${value}\r\n`;
  });
  head += `content-length: ${body.length}\r\nconnection: close\r\n\r\n`;
  socket.end(new Uint8Array([...new TextEncoder().encode(head), ...body]));
}
