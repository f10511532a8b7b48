// How python-can-remote 0.2.4's client reacted to each recorded server answer
// (../shared/conformance/handshake.json client_acceptance), replayed against
// our RemoteBus: a raw TCP fake server (Deno.listen) writes the reference
// server's 101 head byte for byte (its Date, Server and header order), plus
// whatever the recording says it sent, and records every frame our client
// writes. Also events.json client_close_frame: the close frame a client sends.
// Where our client reacts differently, the expectation says why and where
// that is documented.
import { assert, assertEquals, assertRejects } from "../_helpers/assert.ts";
import { encodeFrame, parseFrame, type RawFrame } from "../_helpers/raw_ws.ts";
import { RemoteBus } from "../../client.ts";
import { RemoteError } from "../../core/errors.ts";
import { BINARY_PROTOCOL, JSON_PROTOCOL } from "../../core/protocol.ts";

interface ServerSent {
  select_protocol: string | null;
  respond?: boolean;
  extra_101?: string;
  bus_response?: string | null;
}

interface Acceptance {
  name: string;
  server_sent: ServerSent;
  result: "connected" | "exception";
  channel_info?: string;
  protocol_used?: string;
  exception_type?: string;
  exception_str?: string;
}

interface RecordedFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  payload_len: number;
  header_hex: string;
  hex: string;
}

const conformance = async (name: string) =>
  JSON.parse(
    await Deno.readTextFile(new URL(`../../../shared/conformance/${name}`, import.meta.url)),
  );
const handshake: {
  client_acceptance: Acceptance[];
  client_upgrade_request: { first_frame: { text: string } };
  server_101_responses: { name: string; response_raw: string }[];
} = await conformance("handshake.json");
const events: { client_close_frame: RecordedFrame } = await conformance("events.json");

/** What `RemoteBus.connect` does against the recorded server answer. */
type Outcome =
  /** Connects with this protocol and `channelInfo` `"<channelInfo> on <url>"`. */
  | { connected: { protocol: string; channelInfo: string }; why?: string }
  /** Rejects with a RemoteError with this message (or text in it) and close code. */
  | { remoteError: { message: string | RegExp; code: number | undefined }; why: string }
  /** Rejects with a DOMException of this name. */
  | { domException: string; why: string };

/** The recorded result, where our client does the same. */
function asRecorded(recorded: Acceptance): Outcome {
  if (recorded.result === "connected") {
    return {
      connected: {
        protocol: recorded.protocol_used!,
        channelInfo: recorded.channel_info!.replace(/ on ws:\/\/.*$/, ""),
      },
    };
  }
  const closed = /^Status: (\d+), reason: (.*)$/.exec(recorded.exception_str!);
  if (recorded.exception_type === "can_remote.websocket.WebsocketClosed" && closed) {
    return {
      remoteError: { message: closed[2], code: Number(closed[1]) },
      why: "the reference's WebsocketClosed is our RemoteError with the close code",
    };
  }
  assertEquals(recorded.exception_type, "can_remote.protocol.RemoteError", recorded.name);
  return {
    remoteError: { message: recorded.exception_str!, code: undefined },
    why: "the reference's RemoteError with the same text",
  };
}

/** Milliseconds our client waits for a bus_response where the reference waited 5 s. */
const SHORT_TIMEOUT = 300;

// One entry per recorded case; a new recording without one fails the test.
const EXPECTED: Record<string, (recorded: Acceptance) => Outcome> = {
  selects_binary: asRecorded,
  selects_json: asRecorded,
  // The reference raised AssertionError("Unsupported protocol"). Ours reads a
  // 101 without Sec-WebSocket-Protocol as can.json.v1, the protocol
  // python-can-remote's server uses then (_remote_handshake.ts, and
  // PROTOCOL.md "Subprotocols": canremote's own server answers no header with
  // a 101 that names none and speaks can.json.v1).
  no_protocol_header: () => ({
    connected: { protocol: JSON_PROTOCOL, channelInfo: "fake" },
    why: "a 101 without a subprotocol means can.json.v1",
  }),
  // The reference raised AssertionError("Unsupported protocol"); ours rejects
  // with a RemoteError without a code (client.ts, RemoteBus.connect @throws).
  selects_unoffered_protocol: () => ({
    remoteError: { message: /subprotocol "chat\.v2", which was not offered/, code: undefined },
    why: "client.ts RemoteBus.connect: an unoffered subprotocol is a RemoteError without a code",
  }),
  // The reference's HTTP reader buffered the frame away and it timed out after
  // 5 s (PROTOCOL.md "Opening sequence" documents that loss). Deno's WebSocket
  // keeps bytes that follow the 101 head, so ours takes that bus_response, even
  // though it came before our bus_request (PROTOCOL.md "Subprotocols").
  bus_response_in_same_tcp_write_as_101: () => ({
    connected: { protocol: BINARY_PROTOCOL, channelInfo: "early" },
    why: "Deno's WebSocket keeps the bytes after the 101 head; the frame is not lost",
  }),
  // The reference raised RemoteError("No response from server") after 5 s;
  // ours rejects with a TimeoutError DOMException after `timeout` ms (client.ts,
  // RemoteBus.connect @throws, and RemoteBusOptions.timeout, default 5000).
  no_bus_response: () => ({
    domException: "TimeoutError",
    why: "client.ts RemoteBus.connect: no bus_response within timeout is a TimeoutError",
  }),
  error_event_instead_of_bus_response: asRecorded,
  close_1011_instead_of_bus_response: asRecorded,
  // A non-string channel_info decodes to its JSON text (PROTOCOL.md "bus_response").
  bus_response_channel_info_number: asRecorded,
  // The reference raised KeyError('payload'); ours refuses the undecodable
  // event with a RemoteError without a code (client.ts RemoteBus.connect @throws).
  bus_response_without_payload: () => ({
    remoteError: {
      message:
        /^Undecodable event from ws:\/\/\S+: A "bus_response" event must have a "payload" key$/,
      code: undefined,
    },
    why: "an undecodable answer is a RemoteError",
  }),
};

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const hexBytes = (hex: string) => Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
const toHex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/** The reference server's 101 head (handshake.json), with this key's accept and `protocol`. */
async function reference101(key: string, protocol: string | null): Promise<string> {
  const recorded = handshake.server_101_responses.find((r) => r.name === "json_only")!;
  const digest = await crypto.subtle.digest(
    "SHA-1",
    encoder.encode(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"), // RFC 6455 section 1.3
  );
  const accept = btoa(String.fromCharCode(...new Uint8Array(digest)));
  const head = recorded.response_raw.replace(/(Sec-WebSocket-Accept: )[^\r]+/, `$1${accept}`);
  const answer = protocol === null
    ? head.replace(/Sec-WebSocket-Protocol: [^\r]+\r\n/, "")
    : head.replace(/(Sec-WebSocket-Protocol: )[^\r]+/, `$1${protocol}`);
  assertEquals(
    /\r\nSec-WebSocket-Protocol: ([^\r]+)/.exec(answer)?.[1] ?? null,
    protocol,
    answer,
  );
  assert(answer.includes(`\r\nSec-WebSocket-Accept: ${accept}\r\n`), answer);
  return answer;
}

/** An unmasked server frame. */
const serverFrame = (opcode: number, payload: Uint8Array) =>
  encodeFrame(opcode, payload, { masked: false });

/** A one-connection raw WebSocket server that answers as `sent` describes. */
class RawFakeServer implements AsyncDisposable {
  readonly received: RawFrame[] = [];
  #listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  #conn: Deno.TcpConn | undefined;
  #done: Promise<void>;
  #stopped: Promise<void> | undefined;

  constructor(sent: ServerSent, channelInfo: string, closeAnswer?: [number, string]) {
    this.#done = this.#serve(sent, channelInfo, closeAnswer);
  }

  get url(): string {
    return `ws://127.0.0.1:${this.#listener.addr.port}/`;
  }

  async #serve(sent: ServerSent, channelInfo: string, closeAnswer?: [number, string]) {
    const conn = this.#conn = await this.#listener.accept();
    let buffer = new Uint8Array(0);
    const read = async () => {
      const chunk = new Uint8Array(65536);
      const n = await conn.read(chunk).catch(() => null);
      if (n === null) return false;
      const next = new Uint8Array(buffer.length + n);
      next.set(buffer);
      next.set(chunk.subarray(0, n), buffer.length);
      buffer = next;
      return true;
    };
    try {
      let end: number;
      while ((end = decoder.decode(buffer).indexOf("\r\n\r\n")) < 0) {
        if (!await read()) return;
      }
      const request = decoder.decode(buffer.subarray(0, end));
      buffer = buffer.slice(end + 4);
      const key = /^Sec-WebSocket-Key: *(\S+)/im.exec(request)![1];
      const head = encoder.encode(await reference101(key, sent.select_protocol));
      // One write, so the extra bytes share a TCP segment with the head.
      const extra = hexBytes(sent.extra_101 ?? "");
      const first = new Uint8Array(head.length + extra.length);
      first.set(head);
      first.set(extra, head.length);
      await conn.write(first);
      let closeSent = false;
      while (true) {
        const parsed = parseFrame(buffer);
        if (parsed === null) {
          if (!await read()) return;
          continue;
        }
        buffer = buffer.slice(parsed.size);
        const frame = parsed.frame;
        this.received.push(frame);
        if (frame.opcode === 8) {
          // Answer a close by echoing it (as the reference server does), then end TCP.
          if (!closeSent) await conn.write(serverFrame(8, frame.payload)).catch(() => {});
          return;
        }
        if (this.received.length > 1) continue;
        // The first frame is the bus_request: answer it as recorded.
        if ("bus_response" in sent) {
          if (sent.bus_response === null) {
            const [code, reason] = closeAnswer!;
            const reasonBytes = encoder.encode(reason);
            const payload = new Uint8Array([code >> 8, code & 0xff, ...reasonBytes]);
            await conn.write(serverFrame(8, payload));
            closeSent = true;
          } else {
            await conn.write(serverFrame(1, encoder.encode(sent.bus_response!)));
          }
        } else if (sent.respond !== false) {
          const response = JSON.stringify({
            type: "bus_response",
            payload: { channel_info: channelInfo },
          });
          await conn.write(serverFrame(1, encoder.encode(response)));
        }
      }
    } finally {
      conn.close();
    }
  }

  /** Stops listening and waits for the connection to end (bounded); safe to call twice. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.#stopped ??= this.#stop();
  }

  async #stop(): Promise<void> {
    this.#listener.close();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((resolve) => timer = setTimeout(() => resolve("late"), 3000));
    if (await Promise.race([this.#done.catch(() => {}), late]) === "late") {
      try {
        this.#conn?.close();
      } catch { /* already closed */ }
      await this.#done.catch(() => {});
    }
    clearTimeout(timer);
  }
}

/** The text of the first frame our client sent, if any was a text frame. */
const busRequestOf = (server: RawFakeServer) =>
  server.received[0]?.opcode === 1 ? decoder.decode(server.received[0].payload) : undefined;

Deno.test("handshake.json client_acceptance: our RemoteBus against each recorded server answer", async (t) => {
  const cases = handshake.client_acceptance;
  assertEquals(
    cases.map((c) => c.name).sort(),
    Object.keys(EXPECTED).sort(),
    "one expectation per recorded case",
  );
  for (const recorded of cases) {
    await t.step(recorded.name, async () => {
      const expected = EXPECTED[recorded.name](recorded);
      const closed = /^Status: (\d+), reason: (.*)$/.exec(recorded.exception_str ?? "");
      const channelInfo = "connected" in expected ? expected.connected.channelInfo : "fake";
      await using server = new RawFakeServer(
        recorded.server_sent,
        channelInfo,
        closed ? [Number(closed[1]), closed[2]] : undefined,
      );
      // Without canremote's message_batches key our bus_request is the reference client's.
      const connecting = RemoteBus.connect(server.url, {
        timeout: SHORT_TIMEOUT,
        messageBatches: false,
      });
      if ("connected" in expected) {
        const bus = await connecting;
        try {
          assertEquals(bus.protocol, expected.connected.protocol, expected.why);
          assertEquals(bus.channelInfo, `${expected.connected.channelInfo} on ${server.url}`);
        } finally {
          await bus.close();
        }
      } else if ("remoteError" in expected) {
        const error = await assertRejects(() => connecting, RemoteError) as RemoteError;
        const { message, code } = expected.remoteError;
        if (typeof message === "string") assertEquals(error.message, message, expected.why);
        else assert(message.test(error.message), `${error.message}: ${expected.why}`);
        assertEquals(error.code, code, expected.why);
      } else {
        const error = await assertRejects(() => connecting, DOMException);
        assertEquals(error.name, expected.domException, expected.why);
      }
      await server[Symbol.asyncDispose]();
      // What went out: python-can-remote's bus_request once the protocol was
      // accepted, and in every case a close at the end, nothing else.
      const refusedProtocol = recorded.name === "selects_unoffered_protocol";
      assertEquals(
        busRequestOf(server),
        refusedProtocol ? undefined : handshake.client_upgrade_request.first_frame.text,
      );
      assertEquals(server.received.map((f) => f.opcode), refusedProtocol ? [8] : [1, 8]);
    });
  }
});

// The reference's client closes with an empty close payload (`8880` then the
// mask key). Ours closes with code 1000 and no reason: client.ts RemoteBus.close()
// "closes the WebSocket with code 1000", PROTOCOL.md "Opening sequence" (`close (1000)`).
Deno.test("events.json client_close_frame: our client's close frame, masked, with code 1000", async () => {
  const recorded = events.client_close_frame;
  await using server = new RawFakeServer({ select_protocol: BINARY_PROTOCOL }, "fake");
  const bus = await RemoteBus.connect(server.url, { timeout: 2000 });
  await bus.close();
  await server[Symbol.asyncDispose]();
  const close = server.received.at(-1)!;
  assertEquals(server.received.length, 2, "the bus_request, then the close");
  // Same as recorded: a final masked close frame.
  assertEquals(close.opcode, recorded.opcode);
  assertEquals(close.masked, recorded.masked);
  assertEquals(toHex(close.header).slice(0, 2), recorded.header_hex.slice(0, 2));
  // Different: the payload is the code 1000 where the reference sent none.
  assertEquals(recorded.hex, "");
  assertEquals(toHex(close.header), "8882");
  assertEquals(toHex(close.payload), "03e8");
});
