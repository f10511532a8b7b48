// The answer to a TLS client that negotiated HTTP/2 (ALPN "h2"): every
// request is refused with the stream error HTTP_1_1_REQUIRED, which RFC 9113
// (section 7) defines for exactly this, so the client asks again over
// HTTP/1.1. The server speaks HTTP/1.1 only (node:http and npm `ws`), but
// Deno 2.9's WebSocket client, after any failed wss:// attempt (a 401, a
// 403), tries once more offering only "h2" and reports just that attempt: a
// fatal TLS alert there would hide the first refusal's reason, while a stream
// error lets RemoteBus see that the upgrade was refused and ask again with
// its token where the server answers with a close code (client/dial.ts).
import type { Duplex } from "node:stream";

/** The HTTP/2 connection preface a client sends first (RFC 9113 section 3.4). */
const PREFACE_LENGTH = 24;
/** Frame types and the error code used here (RFC 9113 sections 6 and 7). */
const HEADERS = 0x1;
const RST_STREAM = 0x3;
const SETTINGS = 0x4;
const GOAWAY = 0x7;
const ACK = 0x1;
const SETTINGS_ENABLE_CONNECT_PROTOCOL = 0x8; // RFC 8441: WebSockets over HTTP/2
const HTTP_1_1_REQUIRED = 0xd;
/** Bytes a refused connection may send before it is dropped. */
const MAX_BYTES = 64 * 1024;

function frame(type: number, flags: number, stream: number, payload = new Uint8Array()) {
  const bytes = new Uint8Array(9 + payload.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, payload.length << 8 | type);
  bytes[4] = flags;
  view.setUint32(5, stream & 0x7fffffff);
  bytes.set(payload, 9);
  return bytes;
}

function word(...values: [bits: 16 | 32, value: number][]) {
  const bytes = new Uint8Array(values.reduce((n, [bits]) => n + bits / 8, 0));
  const view = new DataView(bytes.buffer);
  let at = 0;
  for (const [bits, value] of values) {
    if (bits === 16) view.setUint16(at, value);
    else view.setUint32(at, value);
    at += bits / 8;
  }
  return bytes;
}

/**
 * Speaks just enough HTTP/2 on `socket` to refuse each request with
 * HTTP_1_1_REQUIRED; the connection ends when the client sends GOAWAY or
 * more than 64 KiB, and otherwise when its owner's deadline closes it.
 *
 * @param socket A TLS socket whose ALPN protocol is "h2".
 * @param onRequest Called once per refused request (for the log).
 * @example
 * ```ts
 * import { PassThrough } from "node:stream";
 * import { refuseHttp2 } from "./http2_refusal.ts";
 * const socket = new PassThrough();
 * const written: Uint8Array[] = [];
 * socket.write = (chunk: Uint8Array) => written.push(chunk) > 0;
 * refuseHttp2(socket, () => {});
 * if (written[0][3] !== 0x4) throw new Error("the server's SETTINGS come first");
 * ```
 */
export function refuseHttp2(socket: Duplex, onRequest: () => void): void {
  // The server's SETTINGS allow extended CONNECT: a client that asks for a
  // WebSocket then gets the stream error, not an error of its own making.
  socket.write(frame(SETTINGS, 0, 0, word([16, SETTINGS_ENABLE_CONNECT_PROTOCOL], [32, 1])));
  let pending = new Uint8Array();
  let seen = 0;
  let prefaced = false;
  socket.on("error", () => {});
  socket.on("data", (chunk: Uint8Array) => {
    seen += chunk.length;
    if (seen > MAX_BYTES) return void socket.destroy();
    const joined = new Uint8Array(pending.length + chunk.length);
    joined.set(pending);
    joined.set(chunk, pending.length);
    pending = joined;
    if (!prefaced) {
      if (pending.length < PREFACE_LENGTH) return;
      pending = pending.subarray(PREFACE_LENGTH);
      prefaced = true;
    }
    while (pending.length >= 9) {
      const view = new DataView(pending.buffer, pending.byteOffset, pending.length);
      const length = view.getUint32(0) >>> 8;
      if (pending.length < 9 + length) break;
      const type = pending[3];
      const flags = pending[4];
      const stream = view.getUint32(5) & 0x7fffffff;
      pending = pending.subarray(9 + length);
      if (type === SETTINGS && !(flags & ACK)) socket.write(frame(SETTINGS, ACK, 0));
      else if (type === HEADERS && stream) {
        onRequest();
        socket.write(frame(RST_STREAM, 0, stream, word([32, HTTP_1_1_REQUIRED])));
      } else if (type === GOAWAY) {
        socket.end(frame(GOAWAY, 0, 0, word([32, 0], [32, 0])));
        return;
      }
    }
  });
}
