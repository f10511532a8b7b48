// frameMessage against a real WebSocket client: Deno's own client receives
// the frames a raw server writes after its 101, at every length encoding of
// RFC 6455 section 5.2 (7-bit, 16-bit and 64-bit lengths, and their edges).
import { assertEquals, assertThrows } from "../../_helpers/assert.ts";
import { acceptKey } from "../../../server/http/node_upgrade.ts";
import { frameMessage } from "../../../server/http/ws_frame.ts";

const SIZES = [0, 1, 125, 126, 127, 65535, 65536, 200_000];

Deno.test("frameMessage: Deno's WebSocket client reads text and binary frames of every length encoding", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    const conn = await listener.accept();
    const head = new Uint8Array(4096);
    const n = (await conn.read(head))!;
    const key =
      /sec-websocket-key: *(\S+)/i.exec(new TextDecoder().decode(head.subarray(0, n)))![1];
    await conn.write(new TextEncoder().encode(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`,
    ));
    for (const size of SIZES) {
      await conn.write(frameMessage(new Uint8Array(size).map((_, i) => i * 7), true));
      await conn.write(frameMessage(new TextEncoder().encode("é".repeat(size >> 1)), false));
    }
    return conn;
  })();
  const ws = new WebSocket(`ws://127.0.0.1:${listener.addr.port}/`);
  ws.binaryType = "arraybuffer";
  const received: (string | ArrayBuffer)[] = [];
  await new Promise<void>((resolve, reject) => {
    ws.onmessage = (event) => {
      received.push(event.data);
      if (received.length === SIZES.length * 2) resolve();
    };
    ws.onerror = () => reject(new Error("the client refused a frame"));
  });
  const conn = await serving;
  ws.close();
  conn.close();
  listener.close();
  for (const [i, size] of SIZES.entries()) {
    const bytes = new Uint8Array(received[2 * i] as ArrayBuffer);
    assertEquals(bytes.length, size);
    assertEquals(bytes.every((b, j) => b === ((j * 7) & 0xff)), true, `binary ${size}`);
    assertEquals(received[2 * i + 1], "é".repeat(size >> 1), `text ${size}`);
  }
});

Deno.test("frameMessage: the header is 2, 4 or 10 bytes with FIN and the opcode", () => {
  assertEquals([...frameMessage(new Uint8Array(125), true).subarray(0, 2)], [0x82, 125]);
  assertEquals([...frameMessage(new Uint8Array(126), false).subarray(0, 4)], [0x81, 126, 0, 126]);
  assertEquals(
    [...frameMessage(new Uint8Array(65536), true).subarray(0, 10)],
    [0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0],
  );
  assertThrows(() => frameMessage({ length: 2 ** 53 } as Uint8Array, true), RangeError);
});
