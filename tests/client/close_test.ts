// Why a connection failed, in the user's words: nothing listening, a web
// server that is not canremote, a canremote path that shares no channel.
import { RemoteBus } from "../../client.ts";
import { RemoteError } from "../../core/errors.ts";
import { serve } from "../../server.ts";
import { assert, assertEquals, assertRejects } from "../_helpers/assert.ts";

Deno.test("nothing listening: asks whether a canremote server runs there", async () => {
  // A port that was free a moment ago: bind, note, release.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const url = `ws://127.0.0.1:${port}/`;
  const error = await assertRejects(() => RemoteBus.connect(url), RemoteError);
  assertEquals((error as RemoteError).code, 1006);
  assert(error.message.endsWith(`is a canremote server running at ${url}?`), error.message);
});

Deno.test("an HTTP server answering 200: not a canremote server", async () => {
  await using web = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    () => new Response("<html>hello</html>", { headers: { "content-type": "text/html" } }),
  );
  const url = `ws://127.0.0.1:${web.addr.port}/`;
  const error = await assertRejects(() => RemoteBus.connect(url), RemoteError);
  assertEquals(
    error.message,
    `${url} answered HTTP 200 instead of a WebSocket: it is not a canremote server`,
  );
});

Deno.test("a canremote server's unknown channel path: named as such", async () => {
  await using server = await serve({ port: 0 });
  const error = await assertRejects(
    () => RemoteBus.connect(new URL("/nosuch", server.url)),
    RemoteError,
  );
  assert(error.message.includes("shares no channel at this path"), error.message);
});
