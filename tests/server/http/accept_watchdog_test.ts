// The watchdog against a listening socket that stopped accepting (its
// handle closed behind node:http's back, as Deno's node:net leaves it after
// EMFILE): once poked, it notices within seconds and listens again on the
// same port, and a client gets an answer.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { assert, assertEquals } from "../../_helpers/assert.ts";
import { AcceptWatchdog } from "../../../server/http/accept_watchdog.ts";

Deno.test("AcceptWatchdog: a server that stopped accepting listens again", async () => {
  const server = http.createServer((_request, response) => response.end("ok"));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const restarts: (Error | undefined)[] = [];
  const watchdog = new AcceptWatchdog(server, { hostname: "127.0.0.1", port }, (error) => {
    restarts.push(error);
  });
  server.on("connection", (socket) => {
    if (watchdog.claim(socket)) socket.destroy();
  });
  try {
    // A new connection each time (fetch would reuse one already accepted).
    const get = async () => {
      let conn: Deno.TcpConn | undefined;
      try {
        conn = await Deno.connect({ hostname: "127.0.0.1", port });
        await conn.write(
          new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        );
        const buffer = new Uint8Array(1024);
        let timer: ReturnType<typeof setTimeout> | undefined;
        const n = await Promise.race([
          conn.read(buffer),
          new Promise<null>((r) => timer = setTimeout(() => r(null), 1000)),
        ]);
        clearTimeout(timer);
        return n && new TextDecoder().decode(buffer.subarray(0, n)).endsWith("ok")
          ? "ok"
          : "no answer";
      } catch {
        return "no answer";
      } finally {
        try {
          conn?.close();
        } catch {
          // closed
        }
      }
    };
    assertEquals(await get(), "ok");
    // Stops accepting without telling node:http.
    (server as unknown as { _handle: { close(): void } })._handle.close();
    assertEquals(await get(), "no answer");
    watchdog.poke();
    let answer = "";
    for (let i = 0; i < 10 && answer !== "ok"; i++) {
      await new Promise((r) => setTimeout(r, 500));
      answer = await get();
    }
    assertEquals(answer, "ok", String(restarts));
    assert(restarts.length >= 1 && restarts.every((e) => e === undefined), String(restarts));
  } finally {
    watchdog.close();
    await new Promise((resolve) => server.close(resolve));
  }
});
