// Replays a recorded HTTP request (../shared/conformance/handshake.json) byte
// for byte over raw TCP and reads back the response head and body, leaving the
// connection open so that a 101's WebSocket frames can follow. Test tooling only.
import { assert } from "./assert.ts";

/** A response read off a raw TCP connection; the caller closes `conn`. */
export interface ReplayedResponse {
  status: number;
  headers: Headers;
  /** The body: `Content-Length` bytes, none for a 101. */
  body: string;
  /** Bytes after the head (and body) in what was read so far: after a 101, frames. */
  rest: Uint8Array<ArrayBuffer>;
  conn: Deno.TcpConn;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Writes a recorded request (its Host set to our port) and reads the response head and body.
 *
 * @throws {AssertionError} when no complete response came within 2 s, or the server closed first.
 */
export async function replay(port: number, request: string): Promise<ReplayedResponse> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(encoder.encode(request.replace(/Host: [^\r]+/, `Host: 127.0.0.1:${port}`)));
  let buffer: Uint8Array<ArrayBuffer> = new Uint8Array(0);
  const chunk = new Uint8Array(16384);
  const deadline = Date.now() + 2000;
  while (true) {
    const text = decoder.decode(buffer);
    const end = text.indexOf("\r\n\r\n");
    if (end >= 0) {
      const [statusLine, ...lines] = text.slice(0, end).split("\r\n");
      const headers = new Headers(lines.map((line) => {
        const i = line.indexOf(":");
        return [line.slice(0, i).trim(), line.slice(i + 1).trim()] as [string, string];
      }));
      const status = Number(statusLine.split(" ")[1]);
      // A 101 has no body (RFC 9110 section 15.2): what follows its head is the new protocol.
      const length = status === 101 ? 0 : Number(headers.get("content-length") ?? 0);
      const head = encoder.encode(text.slice(0, end + 4)).length;
      if (buffer.length >= head + length) {
        return {
          status,
          headers,
          body: decoder.decode(buffer.subarray(head, head + length)),
          rest: buffer.slice(head + length),
          conn,
        };
      }
    }
    assert(Date.now() < deadline, `no complete response within 2 s: ${JSON.stringify(text)}`);
    const n = await conn.read(chunk);
    assert(n !== null, `the server closed the connection after ${JSON.stringify(text)}`);
    const next = new Uint8Array(buffer.length + n);
    next.set(buffer);
    next.set(chunk.subarray(0, n), buffer.length);
    buffer = next;
  }
}
