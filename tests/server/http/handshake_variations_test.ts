// The upgrade variations recorded from python-can-remote 0.2.4
// (../shared/conformance/handshake.json), replayed byte for byte against our
// server. The reference upgraded every GET with `Upgrade: websocket`, whatever
// the path or the other headers, and dropped a request without a key without
// a word. Ours answers each with either a 101 that works (the bus_request gets
// a bus_response and frames flow both ways) or a complete HTTP 4xx whose body
// says what is wrong, and never creates a session for a refused request.
import { assert, assertEquals } from "../../_helpers/assert.ts";
import { TestClient } from "../../_helpers/ws_client.ts";
import { encodeFrame, FrameReader, textOf } from "../../_helpers/raw_ws.ts";
import { replay } from "../../_helpers/http_replay.ts";
import { serve } from "../../../server.ts";
import { decodeEvent } from "../../../core/codec.ts";

interface Variation {
  name: string;
  request: string;
  status: number;
  selected_protocol: string;
}

const recorded: {
  request_variations: Variation[];
  server_101_responses: { offered_header: string | null; request: string }[];
  http_without_upgrade: { path: string; response_head: string }[];
} = JSON.parse(
  await Deno.readTextFile(
    new URL("../../../../shared/conformance/handshake.json", import.meta.url),
  ),
);

/** What our server answers: a working 101, or a refusal before any upgrade. */
type Answer = { upgrade: true } | { status: number; body: string };

const ANSWERS: Record<string, Answer> = {
  // Each path names a channel (`/` the first, `/NAME` the channel NAME), so an
  // unknown one is refused before upgrading: the reference served every path
  // as its single channel, which would join a typo to channel 0 silently.
  other_path: { status: 404, body: 'No channel "some/other/path" here; channels: 0' },
  // Deno.upgradeWebSocket does not check Sec-WebSocket-Version. RFC 6455
  // section 4.2.2 would answer 426 with `Sec-WebSocket-Version: 13`; accepting
  // is what the reference did, and the frames that follow are version 13 anyway.
  no_sec_websocket_version: { upgrade: true },
  sec_websocket_version_8: { upgrade: true },
  // Deno.upgradeWebSocket enforces RFC 6455 section 4.2.1 item 4; the bridge
  // turns its TypeError into a 400 that quotes it (the reference upgraded).
  no_connection_header: {
    status: 400,
    body: "Bad WebSocket upgrade: Invalid Header: 'connection' header must contain 'Upgrade'",
  },
  // A browser page from another site (cross-site WebSocket hijacking): refused
  // unless --allow-origin names it. The reference upgraded it. python-can
  // clients send no Origin, and the served web page connects from its own.
  origin_header: {
    status: 403,
    body:
      'Origin "http://example.invalid" may not connect: pages from other sites need the server\'s --allow-origin',
  },
  // No extension is negotiated (the 101 names none), so frames stay
  // uncompressed, as with the reference.
  permessage_deflate_offered: { upgrade: true },
};

// The reference sent nothing and closed the TCP connection; RFC 6455 section
// 4.2.1 item 5 makes the key mandatory, and a 400 says so.
const WITHOUT_KEY: Answer = {
  status: 400,
  body: "Bad WebSocket upgrade: Invalid Header: 'sec-websocket-key' header must be set",
};

const ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  assert(condition(), `timed out waiting until ${what}`);
}

const message = (id: number) =>
  JSON.stringify({
    type: "message",
    payload: { arbitration_id: id, is_extended_id: false, data: [id & 0xff] },
  });

Deno.test("handshake variations: a 101 that works or a clean 4xx, never silence", async (t) => {
  await using server = await serve({ port: 0 });
  const port = server.addr.port;
  const bystander = await TestClient.connect(server.url);
  const byName = new Map(recorded.request_variations.map((v) => [v.name, v]));
  assertEquals([...byName.keys()].sort(), Object.keys(ANSWERS).sort(), "one answer per variation");
  const jsonRequest = recorded.server_101_responses.find((r) => r.offered_header === "can.json.v1")!
    .request;
  const cases: [string, string, Answer, string][] = [
    ...recorded.request_variations.map((v): [string, string, Answer, string] => [
      v.name,
      v.request,
      ANSWERS[v.name],
      v.selected_protocol,
    ]),
    // upgrade_without_key records no request: the can.json.v1 upgrade without its key line
    [
      "upgrade_without_key",
      jsonRequest.replace(/Sec-WebSocket-Key: [^\r]+\r\n/, ""),
      WITHOUT_KEY,
      "can.json.v1",
    ],
  ];
  let id = 0x300;
  for (const [name, request, answer, protocol] of cases) {
    await t.step(name, async () => {
      const response = await replay(port, request);
      try {
        if ("upgrade" in answer) {
          assertEquals(response.status, 101, response.body);
          assertEquals(response.headers.get("sec-websocket-accept"), ACCEPT);
          assertEquals(response.headers.get("sec-websocket-protocol"), protocol);
          assertEquals(response.headers.get("sec-websocket-extensions"), null);
          const reader = new FrameReader(response.conn, response.rest);
          await response.conn.write(
            encodeFrame(1, JSON.stringify({ type: "bus_request", payload: { config: {} } })),
          );
          const first = await reader.next();
          assert(first?.opcode === 1, "a text bus_response");
          assertEquals(decodeEvent(textOf(first)).type, "bus_response");
          // frames flow both ways, as plain (uncompressed) text on can.json.v1
          await response.conn.write(encodeFrame(1, message(++id)));
          const got = await bystander.nextEvent();
          assertEquals(got.type === "message" && got.frame.arbitrationId, id);
          bystander.send(message(++id));
          const back = await reader.next();
          assert(back?.opcode === 1, "a text message");
          const event = decodeEvent(textOf(back));
          assertEquals(event.type === "message" && event.frame.arbitrationId, id);
        } else {
          assertEquals(response.status, answer.status, response.body);
          assert(response.headers.get("content-type")!.startsWith("text/plain"));
          assertEquals(response.body.trim(), answer.body);
          assertEquals(response.headers.get("upgrade"), null);
          assertEquals(server.bridge.sessions.size, 1, "no session for a refused upgrade");
        }
      } finally {
        response.conn.close();
      }
      await until(() => server.bridge.sessions.size === 1, "the probe's session is released");
    });
  }
  await bystander.close();
});

Deno.test("plain HTTP: GET / is the web page, an unknown path 404", async (t) => {
  await using server = await serve({ port: 0 });
  for (const { path, response_head } of recorded.http_without_upgrade) {
    await t.step(path, async () => {
      const expected = Number(response_head.split(" ")[1]);
      const response = await replay(
        server.addr.port,
        `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
      response.conn.close();
      assertEquals(response.status, expected);
      const type = response.headers.get("content-type")!;
      if (expected === 200) {
        assert(type.startsWith("text/html"), type);
        assert(/<html/i.test(response.body), "the page");
      } else {
        assert(response.body.includes(path), response.body);
      }
    });
  }
});
