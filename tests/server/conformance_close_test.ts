// The close handshake and ping recorded from python-can-remote 0.2.4's server
// (../shared/conformance/events.json close_handshake_with_server and
// ping_to_server), replayed against our server over a raw TCP connection:
// every byte the server writes after its bus_response is compared with the
// recorded frames, up to the TCP close. Where we knowingly differ, the
// expectation says so and names the PROTOCOL.md passage that documents it.
import { assert, assertEquals } from "../_helpers/assert.ts";
import { encodeFrame, rawUpgrade } from "../_helpers/raw_ws.ts";
import { serve } from "../../server.ts";
import { BINARY_PROTOCOL, JSON_PROTOCOL } from "../../core/protocol.ts";

interface RecordedFrame {
  opcode: number;
  masked: boolean;
  header_hex: string;
  hex?: string;
  text?: string;
}

interface CloseCase {
  client_sent: string;
  client_payload_hex: string;
  server_frames: RecordedFrame[];
  then: string;
}

const events: {
  close_handshake_with_server: CloseCase[];
  ping_to_server: { client_sent: string; server_frames: RecordedFrame[] };
} = JSON.parse(
  await Deno.readTextFile(new URL("../../../shared/conformance/events.json", import.meta.url)),
);

/** Our server's answer: the recorded bytes, or documented other bytes. */
type Answer = { recorded: true } | { hex: string; why: string };

// One entry per recorded close, keyed by its `client_sent`; a new recording
// without an entry here fails the test instead of being skipped.
const CLOSE_ANSWERS: Record<string, Answer> = {
  // Deno's WebSocket answers an empty close payload with an empty one (the
  // reference answered 1000); PROTOCOL.md, "Opening sequence": "python-can-remote's
  // client sends a close frame with an empty payload, which is answered with an
  // empty one". Deno decides this before any canremote code runs.
  "empty close payload (what RemoteBus.shutdown sends)": {
    hex: "8800",
    why: "PROTOCOL.md Opening sequence: an empty close payload is answered with an empty one",
  },
  "close 1000 with reason 'bye'": { recorded: true },
  "close 4000 with reason 'app'": { recorded: true },
  "close 1001 no reason": { recorded: true },
};

const hexBytes = (hex: string) => Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
const toHex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
/** The exact bytes of a recorded unmasked frame: its header, then its payload. */
const wireHex = (frame: RecordedFrame) =>
  frame.header_hex +
  (frame.hex ?? toHex(new TextEncoder().encode(frame.text ?? "")));

/** Reads the raw bytes a server writes, with every wait bounded. */
class ByteReader {
  #conn: Deno.TcpConn;
  #buffer: Uint8Array;
  #eof = false;

  constructor(conn: Deno.TcpConn, initial: Uint8Array) {
    this.#conn = conn;
    this.#buffer = initial;
  }

  /** The bytes of the next whole frame (header included), or `null` at the TCP close. */
  async frame(ms = 2000): Promise<Uint8Array | null> {
    const deadline = Date.now() + ms;
    while (true) {
      const length = frameLength(this.#buffer);
      if (length !== null && this.#buffer.length >= length) {
        const frame = this.#buffer.slice(0, length);
        this.#buffer = this.#buffer.slice(length);
        return frame;
      }
      if (this.#eof) {
        assertEquals(toHex(this.#buffer), "", "a partial frame before the TCP close");
        return null;
      }
      await this.#fill(deadline);
    }
  }

  /** Everything up to the TCP close. */
  async rest(ms = 2000): Promise<Uint8Array> {
    const deadline = Date.now() + ms;
    while (!this.#eof) await this.#fill(deadline);
    const rest = this.#buffer;
    this.#buffer = new Uint8Array(0);
    return rest;
  }

  async #fill(deadline: number): Promise<void> {
    const chunk = new Uint8Array(65536);
    const read = this.#conn.read(chunk);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), Math.max(0, deadline - Date.now()));
    });
    const n = await Promise.race([read, timeout]);
    clearTimeout(timer);
    if (n === "timeout") {
      // Leave no read pending: close the connection, then let the read settle.
      this.#conn.close();
      await read.catch(() => {});
      this.#eof = true;
      throw new Error(`No more bytes from the server in time; got ${toHex(this.#buffer)}`);
    }
    if (n === null) this.#eof = true;
    else {
      const next = new Uint8Array(this.#buffer.length + n);
      next.set(this.#buffer);
      next.set(chunk.subarray(0, n), this.#buffer.length);
      this.#buffer = next;
    }
  }
}

/** Header plus payload length of the frame at the start of `b`, once its header is complete. */
function frameLength(b: Uint8Array): number | null {
  if (b.length < 2) return null;
  const mask = b[1] & 0x80 ? 4 : 0;
  const length = b[1] & 0x7f;
  if (length < 126) return 2 + mask + length;
  if (length === 126) return b.length < 4 ? null : 4 + mask + ((b[2] << 8) | b[3]);
  if (b.length < 10) return null;
  return 10 + mask + Number(new DataView(b.buffer, b.byteOffset + 2, 8).getBigUint64(0));
}

/** An upgraded raw connection past its bus_request and bus_response. */
async function established(port: number, protocol: string) {
  const up = await rawUpgrade(port, "/", { "Sec-WebSocket-Protocol": protocol });
  assertEquals(up.status, 101);
  assertEquals(up.headers.get("sec-websocket-protocol"), protocol);
  const reader = new ByteReader(up.conn, up.rest);
  await up.conn.write(
    encodeFrame(1, JSON.stringify({ type: "bus_request", payload: { config: {} } })),
  );
  const response = await reader.frame();
  assert(response !== null, "a bus_response before the TCP close");
  const text = new TextDecoder().decode(response.subarray(2));
  assertEquals(response[0], 0x81, `a text bus_response, got ${toHex(response)}`);
  assertEquals(JSON.parse(text).type, "bus_response", text);
  return { conn: up.conn, reader };
}

Deno.test("events.json close_handshake_with_server: each close gets the recorded answer, then the TCP close", async (t) => {
  await using server = await serve({ port: 0 });
  const cases = events.close_handshake_with_server;
  assertEquals(
    cases.map((c) => c.client_sent).sort(),
    Object.keys(CLOSE_ANSWERS).sort(),
    "one answer per recorded close",
  );
  for (const recorded of cases) {
    const answer = CLOSE_ANSWERS[recorded.client_sent];
    for (const protocol of [BINARY_PROTOCOL, JSON_PROTOCOL]) {
      await t.step(`${recorded.client_sent} (${protocol})`, async () => {
        assertEquals(recorded.then, "eof", "the recorded server ends the TCP connection");
        for (const frame of recorded.server_frames) assertEquals(frame.masked, false);
        const { conn, reader } = await established(server.addr.port, protocol);
        try {
          await conn.write(encodeFrame(8, hexBytes(recorded.client_payload_hex)));
          const expected = "recorded" in answer
            ? recorded.server_frames.map(wireHex).join("")
            : answer.hex;
          // Byte for byte: the close frame, nothing else, then the TCP close.
          const why = "recorded" in answer ? "as recorded" : answer.why;
          assertEquals(toHex(await reader.rest()), expected, why);
        } finally {
          conn.close();
        }
      });
    }
  }
  await waitUntil(() => server.bridge.sessions.size === 0, "every session is released");
});

Deno.test("events.json ping_to_server: a ping is answered with the recorded pong", async () => {
  await using server = await serve({ port: 0 });
  const recorded = events.ping_to_server;
  const payload = /'([^']*)'/.exec(recorded.client_sent)?.[1];
  assert(payload !== undefined, `no quoted payload in ${JSON.stringify(recorded.client_sent)}`);
  const { conn, reader } = await established(server.addr.port, BINARY_PROTOCOL);
  try {
    await conn.write(encodeFrame(9, payload));
    for (const frame of recorded.server_frames) {
      const got = await reader.frame();
      assert(got !== null, "a pong before the TCP close");
      assertEquals(toHex(got), wireHex(frame), `the recorded ${frame.opcode} frame`);
    }
    // The connection stays usable: a close ends it as recorded.
    const close = events.close_handshake_with_server.find((c) =>
      "recorded" in (CLOSE_ANSWERS[c.client_sent] ?? {})
    )!;
    await conn.write(encodeFrame(8, hexBytes(close.client_payload_hex)));
    assertEquals(toHex(await reader.rest()), close.server_frames.map(wireHex).join(""));
  } finally {
    conn.close();
  }
});

async function waitUntil(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  assert(condition(), `timed out waiting until ${what}`);
}
