// WsSocket over a real TCP connection: what is sent within one turn leaves
// in one write (counted at the socket's own write calls), arrives whole and
// in order. (Messages that arrive before onopen runs are covered by the
// conformance replays, whose raw clients write right after the 101.)
import net from "node:net";
import { assert, assertEquals } from "../../_helpers/assert.ts";
import { WsSocket } from "../../../server/http/ws_socket.ts";
import { FrameReader, textOf } from "../../_helpers/raw_ws.ts";

/** A TCP server whose first connection becomes a WsSocket; its socket's write calls are counted. */
async function pair() {
  let writes = 0;
  const { promise: accepted, resolve } = Promise.withResolvers<WsSocket>();
  const server = net.createServer((raw) => {
    const writev = raw._writev!.bind(raw);
    const write = raw._write.bind(raw);
    raw._writev = (chunks, callback) => {
      writes++;
      writev(chunks, callback);
    };
    raw._write = (chunk, encoding, callback) => {
      writes++;
      write(chunk, encoding, callback);
    };
    resolve(new WsSocket(raw, new Uint8Array()));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const conn = await Deno.connect({
    hostname: "127.0.0.1",
    port: (server.address() as net.AddressInfo).port,
  });
  const socket = await accepted;
  return {
    socket,
    conn,
    writes: () => writes,
    close: async () => {
      conn.close();
      socket.terminate();
      await new Promise((r) => server.close(r));
    },
  };
}

Deno.test("WsSocket: 200 messages sent in one turn leave in one write, whole and in order", async () => {
  const { socket, conn, writes, close } = await pair();
  try {
    await new Promise<void>((resolve) => socket.onopen = () => resolve());
    const before = writes();
    for (let i = 0; i < 200; i++) socket.send(i % 2 ? `text ${i}` : new Uint8Array([i, 1, 2, 3]));
    const reader = new FrameReader(conn, new Uint8Array());
    for (let i = 0; i < 200; i++) {
      const frame = await reader.next();
      assert(frame, `message ${i}`);
      if (i % 2) assertEquals(textOf(frame), `text ${i}`);
      else assertEquals([...frame.payload], [i, 1, 2, 3]);
    }
    assertEquals(writes() - before, 1, "one write for the turn");
  } finally {
    await close();
  }
});
