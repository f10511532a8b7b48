// websocketUrl(): the addresses RemoteBus.connect() takes, among them the web
// page's address the server prints.
import { websocketUrl } from "../../client/url.ts";
import { RemoteBus } from "../../client.ts";
import { serve } from "../../server.ts";
import { assertEquals, assertRejects, assertThrows } from "../_helpers/assert.ts";

Deno.test("websocketUrl: http and https name the same server as ws and wss", () => {
  assertEquals(websocketUrl("http://127.0.0.1:54701/"), "ws://127.0.0.1:54701/");
  assertEquals(websocketUrl("HTTPS://canbox.lab:54701/vcan0"), "wss://canbox.lab:54701/vcan0");
  assertEquals(websocketUrl("ws://[::1]:54701/"), "ws://[::1]:54701/");
  assertEquals(websocketUrl(new URL("wss://h/1")), "wss://h/1");
  assertEquals(websocketUrl("127.0.0.1:54701"), "ws://127.0.0.1:54701/");
});

Deno.test("websocketUrl: any other scheme is refused with the accepted ones listed", () => {
  for (const url of ["ftp://host/", "tcp://host:54701/", "file:///tmp/x"]) {
    assertThrows(() => websocketUrl(url), SyntaxError, "use ws://, wss://, http:// or https://");
  }
  assertThrows(() => websocketUrl("ws://"), SyntaxError, "is not a server address");
});

Deno.test("RemoteBus.connect: the server's printed web page address connects", async () => {
  await using server = await serve({ port: 0 });
  await using bus = await RemoteBus.connect(server.httpUrl);
  assertEquals(bus.url, server.url);
  await assertRejects(() => RemoteBus.connect("ftp://127.0.0.1/"), SyntaxError, "ftp");
});
