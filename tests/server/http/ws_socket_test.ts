// WsSocket over a real TCP connection: what is sent within one turn leaves
// in one write (counted at the socket's own write calls), arrives whole and
// in order. (Messages that arrive before onopen runs are covered by the
// conformance replays, whose raw clients write right after the 101.)
import net from "node:net";
import { assert, assertEquals } from "../../_helpers/assert.ts";
import { WsSocket } from "../../../server/http/ws_socket.ts";
import { encodeFrame, FrameReader, textOf } from "../../_helpers/raw_ws.ts";
import { frameMessage } from "../../../server/http/ws_frame.ts";

/** A TCP server whose first connection becomes a WsSocket, open; its socket's write calls are counted. */
async function pair(messagesPerTurn?: number) {
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
    const socket = new WsSocket(raw, new Uint8Array(), { messagesPerTurn });
    // Set here, before this task ends: its open comes a timer later, which
    // may run before the test's connect resolves.
    socket.onopen = () => resolve(socket);
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

Deno.test("WsSocket: framed messages and send() in one turn arrive whole and in order, the framed ones in one write", async () => {
  const { socket, conn, writes, close } = await pair();
  try {
    const before = writes();
    // One shared frame, as the server shares a frame's bytes between clients.
    const shared = frameMessage(new Uint8Array([9, 9]), true);
    for (let i = 0; i < 100; i++) socket.sendFrame(frameMessage(new Uint8Array([i]), true));
    assertEquals(socket.bufferedAmount, 300, "the waiting frames count as buffered");
    socket.send("between"); // an event: after the frames before it, before those after
    for (let i = 0; i < 100; i++) {
      socket.sendFrame(i % 2 ? shared : frameMessage(new TextEncoder().encode(`t${i}`), false));
    }
    const reader = new FrameReader(conn, new Uint8Array());
    for (let i = 0; i < 100; i++) assertEquals([...(await reader.next())!.payload], [i]);
    assertEquals(textOf((await reader.next())!), "between");
    for (let i = 0; i < 100; i++) {
      const frame = (await reader.next())!;
      if (i % 2) assertEquals([frame.opcode, ...frame.payload], [2, 9, 9]);
      else assertEquals([frame.opcode, textOf(frame)], [1, `t${i}`]);
    }
    // The first hundred with the event's turn, the second hundred in one more.
    assert(writes() - before <= 3, `${writes() - before} writes`);
    assertEquals(socket.bufferedAmount, 0);
  } finally {
    await close();
  }
});

Deno.test("WsSocket: a frame sent right after a write leaves at the end of its own turn, before any timer", async () => {
  const { socket, close } = await pair();
  try {
    // Both a framed message and send(): neither waits for a timer tick because
    // the socket was written to a moment ago (a request answered at once).
    for (
      const send of [
        (i: number) => socket.sendFrame(frameMessage(new Uint8Array([i]), true)),
        (i: number) => socket.send(new Uint8Array([i])),
      ]
    ) {
      send(1);
      await new Promise((resolve) => setImmediate(resolve));
      assertEquals(socket.bufferedAmount, 0, "the first frame is written at the end of its turn");
      send(2);
      let timerRan = false;
      const timer = setTimeout(() => timerRan = true, 0);
      await new Promise((resolve) => setImmediate(resolve));
      assertEquals(socket.bufferedAmount, 0, "the second one too");
      clearTimeout(timer);
      assertEquals(timerRan, false, "no timer ran before it left");
    }
  } finally {
    await close();
  }
});

Deno.test("WsSocket: close() sends the framed messages still waiting before the close frame", async () => {
  const { socket, conn, close } = await pair();
  try {
    for (let i = 0; i < 3; i++) socket.sendFrame(frameMessage(new Uint8Array([i]), true));
    socket.close(1001, "bye");
    socket.sendFrame(frameMessage(new Uint8Array([99]), true)); // after close: dropped
    const reader = new FrameReader(conn, new Uint8Array());
    for (let i = 0; i < 3; i++) assertEquals([...(await reader.next())!.payload], [i]);
    const last = (await reader.next())!;
    assertEquals(last.opcode, 8, "the close frame follows");
  } finally {
    await close();
  }
});

Deno.test("WsSocket: a burst read at once is handed out messagesPerTurn per turn of the event loop", async () => {
  const { socket, conn, close } = await pair(10);
  try {
    const turns: number[] = [];
    let thisTurn = 0;
    const { promise: all, resolve } = Promise.withResolvers<void>();
    let seen = 0;
    socket.onmessage = () => {
      if (thisTurn++ === 0) {
        setImmediate(() => {
          turns.push(thisTurn);
          thisTurn = 0;
        });
      }
      if (++seen === 95) resolve();
    };
    const burst = Array.from({ length: 95 }, (_, i) => [...encodeFrame(1, `m${i}`)]).flat();
    await conn.write(new Uint8Array(burst)); // one write: most likely one read
    await all;
    await new Promise((r) => setImmediate(r));
    assertEquals(turns.reduce((a, b) => a + b, 0), 95);
    assert(Math.max(...turns) <= 10, `per turn: ${turns}`);
    assert(turns.filter((n) => n === 10).length >= 5, `whole turns of 10: ${turns}`);
  } finally {
    await close();
  }
});
