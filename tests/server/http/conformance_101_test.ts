// The upgrade answers recorded from python-can-remote 0.2.4's server for each
// offered Sec-WebSocket-Protocol (../shared/conformance/handshake.json
// server_101_responses), replayed byte for byte against our server. Where it
// upgrades, the WebSocket headers of the 101 must carry the recorded values
// and the connection must speak the selected protocol; where we knowingly
// differ, the expectation names the PROTOCOL.md passage that says so.
import { assert, assertEquals } from "../../_helpers/assert.ts";
import { encodeFrame, FrameReader, textOf } from "../../_helpers/raw_ws.ts";
import { replay } from "../../_helpers/http_replay.ts";
import { serve } from "../../../server.ts";
import { decodeEvent } from "../../../core/codec.ts";
import { BINARY_PROTOCOL, JSON_PROTOCOL } from "../../../core/protocol.ts";

interface Recorded101 {
  name: string;
  offered_header: string | null;
  request: string;
  status: number;
  response_headers: [string, string][];
  selected_protocol: string;
}

const handshake: { server_101_responses: Recorded101[] } = JSON.parse(
  await Deno.readTextFile(
    new URL("../../../../shared/conformance/handshake.json", import.meta.url),
  ),
);

/** Our answer: a 101 naming `header` (null: none) and speaking `uses`, or an HTTP refusal. */
type Answer =
  | { upgrade: { header: string | null; uses: string }; why?: string }
  | { status: number; body: string; why: string };

const asRecorded = (r: Recorded101): Answer => ({
  upgrade: { header: r.selected_protocol, uses: r.selected_protocol },
});

// One entry per recorded offer; a new recording without one fails the test.
const EXPECTED: Record<string, (recorded: Recorded101) => Answer> = {
  binary_and_json_comma_space: asRecorded,
  binary_and_json_comma: asRecorded,
  json_then_binary: asRecorded,
  json_only: asRecorded,
  binary_only: asRecorded,
  // The reference named can.json.v1, which was never offered (RFC 6455 section
  // 4.1 makes a client fail such a connection). PROTOCOL.md "Subprotocols",
  // row "no header": a 101 with no Sec-WebSocket-Protocol; the connection uses can.json.v1.
  none: () => ({
    upgrade: { header: null, uses: JSON_PROTOCOL },
    why: "PROTOCOL.md Subprotocols: no header gets a 101 naming none, speaking can.json.v1",
  }),
  // The reference named can.json.v1, which strict clients reject. PROTOCOL.md
  // "Subprotocols", row `chat.v2`: HTTP 400 before upgrading.
  unknown_only: () => ({
    status: 400,
    body: 'Unsupported WebSocket subprotocol "chat.v2": offer can.binary+json.v1 or can.json.v1',
    why: "PROTOCOL.md Subprotocols: an offer of nothing supported gets HTTP 400",
  }),
};

/** The value of a recorded response header. */
const recordedHeader = (r: Recorded101, name: string) =>
  r.response_headers.find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1] ?? null;

async function waitUntil(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  assert(condition(), `timed out waiting until ${what}`);
}

Deno.test("handshake.json server_101_responses: each recorded offer gets the recorded subprotocol or the documented answer", async (t) => {
  await using server = await serve({ port: 0 });
  const cases = handshake.server_101_responses;
  assertEquals(
    cases.map((c) => c.name).sort(),
    Object.keys(EXPECTED).sort(),
    "one expectation per recorded offer",
  );
  let id = 0x400;
  for (const recorded of cases) {
    await t.step(recorded.name, async () => {
      const answer = EXPECTED[recorded.name](recorded);
      assertEquals(recorded.status, 101, "the reference upgraded every offer");
      const response = await replay(server.addr.port, recorded.request);
      try {
        if ("status" in answer) {
          assertEquals(response.status, answer.status, answer.why);
          assert(response.body.includes(answer.body), `${response.body}: ${answer.why}`);
          assertEquals(response.headers.get("upgrade"), null);
          return;
        }
        const { header, uses } = answer.upgrade;
        assertEquals(response.status, 101, response.body);
        // The WebSocket headers carry the recorded values (HTTP tokens compare
        // without case: the reference wrote `Upgrade: WebSocket`).
        for (const name of ["Upgrade", "Connection"]) {
          assertEquals(
            response.headers.get(name)?.toLowerCase(),
            recordedHeader(recorded, name)?.toLowerCase(),
            name,
          );
        }
        assertEquals(
          response.headers.get("sec-websocket-accept"),
          recordedHeader(recorded, "Sec-WebSocket-Accept"),
        );
        assertEquals(response.headers.get("sec-websocket-protocol"), header, answer.why);
        assertEquals(response.headers.get("sec-websocket-extensions"), null, "no extension");
        // Nothing follows the 101 before the bus_request (the reference client would lose it).
        assertEquals(response.rest.length, 0, "bytes after the 101 head");
        // The connection speaks `uses`: our own frame comes back in its encoding.
        const reader = new FrameReader(response.conn, response.rest);
        const config = { receive_own_messages: true };
        await response.conn.write(
          encodeFrame(1, JSON.stringify({ type: "bus_request", payload: { config } })),
        );
        const first = await reader.next();
        assert(first?.opcode === 1, "a text bus_response");
        assertEquals(decodeEvent(textOf(first)).type, "bus_response");
        const message = { arbitration_id: ++id, is_extended_id: false, data: [1, 2] };
        await response.conn.write(
          encodeFrame(1, JSON.stringify({ type: "message", payload: message })),
        );
        const echo = await reader.next();
        assert(echo !== null, "our frame back");
        assertEquals(echo.opcode, uses === BINARY_PROTOCOL ? 2 : 1, `a ${uses} message`);
        const event = decodeEvent(echo.opcode === 1 ? textOf(echo) : echo.payload);
        assertEquals(event.type === "message" && event.frame.arbitrationId, id);
      } finally {
        response.conn.close();
      }
    });
  }
  await waitUntil(() => server.bridge.sessions.size === 0, "every session is released");
});
