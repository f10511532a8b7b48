// A TLS client that negotiates HTTP/2 (ALPN "h2") with the wss:// server
// gets the server's SETTINGS (extended CONNECT allowed) and each request
// refused with RST_STREAM HTTP_1_1_REQUIRED (RFC 9113 section 7), the
// connection ends after its GOAWAY or past 64 KiB, and HTTP/1.1 clients are
// served meanwhile.
import { assert, assertEquals } from "../../_helpers/assert.ts";
import { requires } from "../../_helpers/requires.ts";
import { makePki } from "../../_helpers/pki.ts";
import { serve } from "../../../server.ts";
import { RemoteBus } from "../../../client.ts";

const needs = requires("openssl");
const pki = needs.ignore ? undefined : await makePki(
  await Deno.makeTempDir({ prefix: "canremote-h2-" }),
  { server: "DNS:localhost,IP:127.0.0.1" },
);

const PREFACE = new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

function frame(type: number, flags: number, stream: number, payload: number[] = []) {
  const bytes = new Uint8Array(9 + payload.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, payload.length << 8 | type);
  bytes[4] = flags;
  view.setUint32(5, stream);
  bytes.set(payload, 9);
  return bytes;
}

interface Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Uint8Array;
}

/** Reads HTTP/2 frames from `conn` until it ends or `last` says stop. */
async function readFrames(conn: Deno.TlsConn, last: (f: Frame) => boolean): Promise<Frame[]> {
  const frames: Frame[] = [];
  let pending = new Uint8Array();
  const buffer = new Uint8Array(16384);
  for (;;) {
    const n = await conn.read(buffer).catch(() => null);
    if (n === null) return frames;
    const joined = new Uint8Array(pending.length + n);
    joined.set(pending);
    joined.set(buffer.subarray(0, n), pending.length);
    pending = joined;
    while (pending.length >= 9) {
      const view = new DataView(pending.buffer, pending.byteOffset);
      const length = view.getUint32(0) >>> 8;
      if (pending.length < 9 + length) break;
      const f = {
        type: pending[3],
        flags: pending[4],
        stream: view.getUint32(5) & 0x7fffffff,
        payload: pending.slice(9, 9 + length),
      };
      frames.push(f);
      pending = pending.subarray(9 + length);
      if (last(f)) return frames;
    }
  }
}

/** A TLS connection to `port` offering HTTP/2 alone, as Deno's WebSocket client retries. */
function connectH2(port: number, ca: string): Promise<Deno.TlsConn> {
  return Deno.connectTls({ hostname: "localhost", port, caCerts: [ca], alpnProtocols: ["h2"] });
}

const word = (bytes: Uint8Array, at = 0) => new DataView(bytes.buffer).getUint32(at);

Deno.test({
  name:
    "refuseHttp2: an h2 client's requests get RST_STREAM HTTP_1_1_REQUIRED; wss:// clients are served",
  ...needs,
  fn: async () => {
    const { ca, leaves: { server: { cert, key } } } = pki!;
    await using server = await serve({ port: 0, cert, key });
    const conn = await connectH2(server.addr.port, ca);
    try {
      assertEquals((await conn.handshake()).alpnProtocol, "h2");
      // Preface, empty SETTINGS, and two requests (HEADERS with END_HEADERS;
      // the server does not read the header block).
      await conn.write(PREFACE);
      await conn.write(frame(0x4, 0, 0));
      await conn.write(frame(0x1, 0x4, 1, [0x82, 0x86, 0x84]));
      await conn.write(frame(0x1, 0x4, 3, [0x82, 0x86, 0x84]));
      const frames = await readFrames(conn, (f) => f.type === 0x3 && f.stream === 3);
      const settings = frames.find((f) => f.type === 0x4 && !(f.flags & 1));
      assert(settings, JSON.stringify(frames));
      // SETTINGS_ENABLE_CONNECT_PROTOCOL (0x8) = 1 (RFC 8441)
      assertEquals([...settings.payload], [0, 8, 0, 0, 0, 1]);
      assert(frames.some((f) => f.type === 0x4 && f.flags === 1), "SETTINGS acknowledged");
      const resets = frames.filter((f) => f.type === 0x3);
      assertEquals(resets.map((f) => [f.stream, word(f.payload)]), [[1, 0xd], [3, 0xd]]);
      // Meanwhile a WebSocket client over HTTP/1.1 gets in.
      using httpClient = Deno.createHttpClient({ caCerts: [ca] });
      await (await RemoteBus.connect(server.url, { httpClient })).close();
      // The client's GOAWAY ends the connection, with the server's GOAWAY.
      await conn.write(frame(0x7, 0, 0, [0, 0, 0, 0, 0, 0, 0, 0]));
      const rest = await readFrames(conn, () => false);
      assertEquals(rest.map((f) => f.type), [0x7]);
    } finally {
      conn.close();
    }
  },
});

Deno.test({
  name: "refuseHttp2: an h2 connection that sends more than 64 KiB is dropped",
  ...needs,
  fn: async () => {
    const { ca, leaves: { server: { cert, key } } } = pki!;
    await using server = await serve({ port: 0, cert, key });
    const conn = await connectH2(server.addr.port, ca);
    try {
      await conn.write(PREFACE);
      // PING frames (8 bytes each), which the server does not answer: 80 KiB.
      const pings = new Uint8Array(17 * 5000);
      for (let i = 0; i < 5000; i++) {
        pings.set(frame(0x6, 0, 0, [0, 0, 0, 0, 0, 0, 0, i & 0xff]), i * 17);
      }
      await conn.write(pings).catch(() => 0);
      const frames = await readFrames(conn, () => false);
      // It ended (the read returned null) after the server's SETTINGS.
      assertEquals(frames.map((f) => f.type), [0x4]);
    } finally {
      try {
        conn.close();
      } catch {
        // closed by the server
      }
    }
  },
});

if (pki) {
  globalThis.addEventListener("unload", () => Deno.removeSync(pki.dir, { recursive: true }));
}
