// Prompt ACKs for what WebSocket clients send (Linux, with --allow-ffi).
//
// Deno's WebSocket client leaves Nagle's algorithm on (it clears
// TCP_NODELAY): a small message waits while an earlier one is not
// acknowledged yet. Linux delays its ACK by 40 ms or more once a connection
// looks interactive, that is once the server answered soon after a client
// wrote, which a bus_response, an echoed frame or any traffic back does.
// So a canremote RemoteBus in Deno that sent a request, got an answer and
// then sent eight frames at once saw the last seven arrive 40-45 ms later,
// every time (ISO-TP's consecutive frames after a flow control are exactly
// that). Browsers and python-can-remote's client set TCP_NODELAY; they never
// waited.
//
// The server cannot switch the client's Nagle off, but it can acknowledge at
// once: TCP_QUICKACK after each read ends the delay for what was read. The
// kernel leaves quick-ACK mode by itself again, so it is set per read, one
// setsockopt(2) per read, not per message. node:net in Deno has no API for
// it and no file descriptor; its handle's fdForIpc() gives a duplicate,
// which is held for the connection's life and closed with it (so each
// WebSocket holds two descriptors). Without FFI permission, off Linux, or
// where that handle method is missing, this does nothing: the delay stays,
// nothing else changes.
import type { Duplex } from "node:stream";
import { libc } from "../../ffi/libc.ts";

const IPPROTO_TCP = 6;
const TCP_QUICKACK = 12;
const ONE = new Uint8Array(new Int32Array([1]).buffer);

let usable: boolean | undefined;

/** Whether this process may set TCP_QUICKACK (Linux, FFI allowed). */
function canSet(): boolean {
  if (usable !== undefined) return usable;
  usable = false;
  try {
    usable = Deno.build.os === "linux" &&
      Deno.permissions.querySync({ name: "ffi" }).state === "granted" && libc() !== undefined;
  } catch {
    // no libc.so.6 (a musl system): the delay stays
  }
  return usable;
}

/**
 * Acknowledges at once whatever `socket` reads from now on, for as long as
 * it is open (see the module's comment).
 *
 * @param socket The upgraded connection (TCP or TLS): its reads trigger the ACKs.
 * @param tcp The TCP connection under it, whose handle gives the descriptor.
 * @returns Whether prompt ACKs are on for this connection.
 * @example
 * ```ts
 * import net from "node:net";
 * import { ackPromptly } from "./quick_ack.ts";
 * const server = net.createServer((socket) => {
 *   console.log("prompt ACKs:", ackPromptly(socket, socket));
 *   socket.destroy();
 *   server.close();
 * });
 * server.listen(0, "127.0.0.1", () => {
 *   const { port } = server.address() as net.AddressInfo;
 *   net.connect(port, "127.0.0.1").on("error", () => {});
 * });
 * ```
 */
export function ackPromptly(socket: Duplex, tcp: Duplex): boolean {
  if (!canSet()) return false;
  const handle = (tcp as { _handle?: { fdForIpc?: () => unknown } })._handle;
  let fd: unknown;
  try {
    fd = handle?.fdForIpc?.();
  } catch {
    return false;
  }
  if (typeof fd !== "number" || fd < 0) return false;
  const c = libc();
  const onData = () => {
    if (c.setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, ONE, 4) < 0) socket.off("data", onData);
  };
  socket.on("data", onData);
  socket.once("close", () => {
    socket.off("data", onData);
    c.close(fd);
  });
  return true;
}
