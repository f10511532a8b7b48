// The server log says how each client left: the close code and its meaning,
// "close frame without a code" for python-can-remote's empty close frame,
// and "no close frame" for a dropped connection (Deno's code 0).
import { configure, type LogRecord, reset } from "@logtape/logtape";
import { closeText } from "../../../server/session/close_text.ts";
import { serve } from "../../../server.ts";
import { encodeFrame, FrameReader, rawUpgrade } from "../../_helpers/raw_ws.ts";
import { TestClient } from "../../_helpers/ws_client.ts";
import { assertEquals } from "../../_helpers/assert.ts";
import { waitFor } from "../../_helpers/cli.ts";

Deno.test("closeText: codes with their meaning, and the ends without one", () => {
  assertEquals(closeText(0), "no close frame");
  assertEquals(closeText(1006), "no close frame");
  assertEquals(closeText(1005), "close frame without a code");
  assertEquals(closeText(1000), "1000, normal closure");
  assertEquals(closeText(4401), "4401, unauthorized");
  assertEquals(closeText(3999), "code 3999");
});

Deno.test("the server log: how python-can-remote's client, a browser and a dropped client left", async () => {
  const lines: string[] = [];
  await configure({
    reset: true,
    sinks: {
      memory: (record: LogRecord) =>
        lines.push(record.message.map((part) => String(part)).join("")),
    },
    loggers: [{ category: ["canremote"], lowestLevel: "info", sinks: ["memory"] }],
  });
  try {
    await using server = await serve({ port: 0 });
    const request = '{"type": "bus_request", "payload": {"config": {}}}';
    // python-can-remote's shutdown(): a close frame with an empty payload
    const python = await rawUpgrade(server.addr.port, "/", {
      "Sec-WebSocket-Protocol": "can.binary+json.v1,can.json.v1",
    });
    await python.conn.write(encodeFrame(1, request));
    const reader = new FrameReader(python.conn, python.rest);
    await reader.next(); // bus_response
    await python.conn.write(encodeFrame(8, new Uint8Array(0)));
    await reader.next(); // the server's close
    python.conn.close();
    await waitFor(() => lines.some((l) => l.endsWith("(close frame without a code)")), "1005");
    // a dropped TCP connection
    const dropped = await rawUpgrade(server.addr.port, "/", {
      "Sec-WebSocket-Protocol": "can.json.v1",
    });
    await dropped.conn.write(encodeFrame(1, request));
    await new FrameReader(dropped.conn, dropped.rest).next();
    dropped.conn.close();
    await waitFor(() => lines.some((l) => l.endsWith("(no close frame)")), "no close frame");
    // a normal close
    const browser = await TestClient.connect(server.url);
    browser.ws.close(1000);
    await browser.closed;
    await waitFor(() => lines.some((l) => l.endsWith("(1000, normal closure)")), lines.join("\n"));
    assertEquals(lines.filter((l) => / disconnected \(0\)/.test(l)), [], lines.join("\n"));
  } finally {
    await reset();
  }
});
