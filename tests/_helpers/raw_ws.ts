// A raw WebSocket peer for tests: writes the exact bytes a recorded client
// wrote (python-can-remote's "a,b" protocol list, unmasked or fragmented
// frames, invalid UTF-8) and reads back every frame. Test tooling only.

/** One frame as it came over TCP. */
export interface RawFrame {
  fin: boolean;
  opcode: number;
  /** Whether the mask bit was set (a client's frame); `payload` is unmasked either way. */
  masked: boolean;
  /** The header bytes up to the mask key (or the payload), without the key. */
  header: Uint8Array;
  payload: Uint8Array;
}

export interface Upgraded {
  status: number;
  head: string;
  headers: Headers;
  /** Bytes that followed the response head in the same read. */
  rest: Uint8Array<ArrayBuffer>;
  conn: Deno.TcpConn;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Sends an HTTP upgrade with the given extra header lines and reads the response head. */
export async function rawUpgrade(
  port: number,
  path = "/",
  headers: Record<string, string | undefined> = {},
): Promise<Upgraded> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const base: Record<string, string | undefined> = {
    Host: `127.0.0.1:${port}`,
    Upgrade: "websocket",
    Connection: "Upgrade",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version": "13",
    ...headers,
  };
  const lines = Object.entries(base).filter(([, v]) => v !== undefined).map(([k, v]) =>
    `${k}: ${v}`
  );
  await conn.write(encoder.encode(`GET ${path} HTTP/1.1\r\n${lines.join("\r\n")}\r\n\r\n`));
  let buffer: Uint8Array<ArrayBuffer> = new Uint8Array(0);
  const chunk = new Uint8Array(65536);
  while (true) {
    const end = indexOfHeadEnd(buffer);
    if (end >= 0) {
      const head = decoder.decode(buffer.subarray(0, end));
      const [statusLine, ...headerLines] = head.split("\r\n");
      const parsed = new Headers();
      for (const line of headerLines) {
        const i = line.indexOf(":");
        parsed.append(line.slice(0, i).trim(), line.slice(i + 1).trim());
      }
      return {
        status: Number(statusLine.split(" ")[1]),
        head,
        headers: parsed,
        rest: buffer.slice(end + 4),
        conn,
      };
    }
    const n = await conn.read(chunk);
    if (n === null) {
      throw new Error(`Connection closed during the upgrade: ${decoder.decode(buffer)}`);
    }
    buffer = concat(buffer, chunk.subarray(0, n));
  }
}

function indexOfHeadEnd(b: Uint8Array): number {
  for (let i = 0; i + 3 < b.length; i++) {
    if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i;
  }
  return -1;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Encodes one client frame (masked unless `masked` is false). */
export function encodeFrame(
  opcode: number,
  payload: Uint8Array | string,
  { fin = true, masked = true } = {},
): Uint8Array {
  const data = typeof payload === "string" ? encoder.encode(payload) : payload;
  const header: number[] = [(fin ? 0x80 : 0) | opcode];
  const maskBit = masked ? 0x80 : 0;
  if (data.length < 126) header.push(maskBit | data.length);
  else if (data.length < 65536) header.push(maskBit | 126, data.length >> 8, data.length & 0xff);
  else {
    header.push(maskBit | 127, 0, 0, 0, 0);
    header.push((data.length >>> 24) & 0xff, (data.length >> 16) & 0xff);
    header.push((data.length >> 8) & 0xff, data.length & 0xff);
  }
  const key = masked ? [0x12, 0x34, 0x56, 0x78] : [];
  const body = data.map((byte, i) => masked ? byte ^ key[i % 4] : byte);
  return concat(new Uint8Array([...header, ...key]), body);
}

/** Reads server frames (unmasked) from a connection. */
export class FrameReader {
  #conn: Deno.Conn;
  #buffer: Uint8Array<ArrayBuffer>;
  #closed = false;

  constructor(conn: Deno.Conn, initial: Uint8Array<ArrayBuffer> = new Uint8Array(0)) {
    this.#conn = conn;
    this.#buffer = initial;
  }

  /** The next frame, or `null` when the TCP connection ends. Rejects on `signal`. */
  async next(signal: AbortSignal = AbortSignal.timeout(3000)): Promise<RawFrame | null> {
    while (true) {
      const frame = this.#parse();
      if (frame) return frame;
      if (this.#closed) return null;
      const chunk = new Uint8Array(65536);
      const read = this.#conn.read(chunk);
      const aborted = new Promise<never>((_, reject) => {
        if (signal.aborted) reject(signal.reason);
        signal.addEventListener("abort", () => reject(signal.reason), { once: true });
      });
      let n: number | null;
      try {
        n = await Promise.race([read, aborted]);
      } catch (error) {
        // Leave no read pending: close the connection, then let the read settle.
        try {
          this.#conn.close();
        } catch { /* already closed */ }
        await read.catch(() => {});
        this.#closed = true;
        throw error;
      }
      if (n === null) this.#closed = true;
      else this.#buffer = concat(this.#buffer, chunk.subarray(0, n));
    }
  }

  #parse(): RawFrame | null {
    const parsed = parseFrame(this.#buffer);
    if (parsed === null) return null;
    // RFC 6455 section 5.1: a server never masks; parseFrame would unmask it silently.
    if (parsed.frame.masked) throw new Error("A server frame with the mask bit set");
    this.#buffer = this.#buffer.slice(parsed.size);
    return parsed.frame;
  }
}

/**
 * The first whole frame at the start of `b`, masked (its payload unmasked
 * with the key, RFC 6455 section 5.3) or not, and how many bytes it took;
 * `null` while `b` holds only part of one.
 *
 * @example
 * ```ts
 * import { encodeFrame, parseFrame } from "./raw_ws.ts";
 * const parsed = parseFrame(encodeFrame(1, "hi"));
 * if (parsed?.frame.masked !== true) throw new Error("expected a masked frame");
 * if (new TextDecoder().decode(parsed.frame.payload) !== "hi") throw new Error("not unmasked");
 * ```
 */
export function parseFrame(b: Uint8Array): { frame: RawFrame; size: number } | null {
  if (b.length < 2) return null;
  const masked = (b[1] & 0x80) !== 0;
  let length = b[1] & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (b.length < 4) return null;
    length = (b[2] << 8) | b[3];
    offset = 4;
  } else if (length === 127) {
    if (b.length < 10) return null;
    length = Number(new DataView(b.buffer, b.byteOffset + 2, 8).getBigUint64(0));
    offset = 10;
  }
  const keyAt = offset;
  if (masked) offset += 4;
  if (b.length < offset + length) return null;
  const key = b.slice(keyAt, offset);
  const payload = b.slice(offset, offset + length);
  if (masked) payload.forEach((byte, i) => payload[i] = byte ^ key[i % 4]);
  return {
    frame: {
      fin: (b[0] & 0x80) !== 0,
      opcode: b[0] & 0x0f,
      masked,
      header: b.slice(0, keyAt),
      payload,
    },
    size: offset + length,
  };
}

/** Text of a frame's payload. */
export const textOf = (frame: RawFrame) => decoder.decode(frame.payload);

/** Code and reason of a close frame. */
export function closeOf(frame: RawFrame): { code: number | null; reason: string } {
  if (frame.payload.length < 2) return { code: null, reason: "" };
  return {
    code: (frame.payload[0] << 8) | frame.payload[1],
    reason: decoder.decode(frame.payload.subarray(2)),
  };
}
