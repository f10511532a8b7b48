// The server side of one WebSocket connection over a node:net socket, by the
// npm `ws` package, shaped as the WHATWG `WebSocket` the session code uses
// (onopen, onmessage, onclose, onerror, send, close, readyState,
// bufferedAmount, binaryType).
//
// What it adds to `ws`: everything sent within one turn of the event loop
// leaves in one write. The first send of a turn corks the TCP socket and
// the end of the turn uncorks it, so the frames of a busy bus reach a
// client in one system call per turn instead of one per message (issue
// #15: Deno.upgradeWebSocket made one sendto per message) while a quiet
// bus's frames go out at once.
//
// The bus's frames take a shorter way (sendFrame): each arrives framed
// already (ws_frame.ts, built once for all clients of its format), waits
// in a list, and the list leaves in one write at the end of the turn, all
// clients' lists from one setImmediate. `ws` would build a header and make
// two stream writes per message and client. Other messages (events, batches) go through `ws`, after the
// frames that wait, so the order holds.
//
// bufferedAmount is what waits here, in `ws` and in the socket itself for
// this client (ws.bufferedAmount reads the socket's writable queue), which
// the Forwarder bounds with maxBufferedBytes.
import type { Duplex } from "node:stream";
// @ts-types="@types/ws"
import { WebSocket as Ws } from "ws";

/** Options of {@linkcode WsSocket}. */
export interface WsSocketOptions {
  /**
   * Largest message `ws` reassembles before it closes with 1009; the session
   * applies its own, smaller `maxMessageSize` with its own reason.
   * @default {67108864} (Deno's own limit, which the server had before)
   */
  maxPayload?: number;
  /**
   * Most messages from the client handed out in one turn of the event
   * loop; the next waits a task (see the constructor). The server passes a
   * quarter of `maxPendingSends`, at most 256.
   * @default {64}
   */
  messagesPerTurn?: number;
}

/**
 * Makes a server-side ws accept unmasked client frames, as the server did
 * before and python-can-remote does (PROTOCOL.md; RFC 6455 section 5.1
 * says a server MUST close). ws 8's Receiver reads `_isServer` only to
 * check the mask bit (lib/receiver.js getInfo), so it is set per frame from
 * that bit; ws is pinned in deno.json, and a test covers this.
 */
function acceptUnmasked(ws: Ws): void {
  const receiver = (ws as unknown as { _receiver: Record<string, unknown> })._receiver;
  const getInfo = receiver.getInfo as (this: typeof receiver, cb: unknown) => unknown;
  receiver.getInfo = function (this: typeof receiver, cb: unknown) {
    const buffers = this._buffers as Uint8Array[];
    if ((this._bufferedBytes as number) >= 2) {
      const second = buffers[0].length >= 2 ? buffers[0][1] : buffers[1][0];
      this._isServer = (second & 0x80) !== 0;
    }
    return getInfo.call(this, cb);
  };
}

/** Most ms one client's messages take of a turn of the event loop (see the constructor). */
const TURN_BUDGET_MS = 1;

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

// The events the session listens to, with what it reads of them.
type OpenHandler = ((event: Event) => void) | null;
type MessageHandler = ((event: { data: string | Uint8Array }) => void) | null;
type CloseHandler = ((event: { code: number; reason: string; wasClean: boolean }) => void) | null;

/**
 * A server-side WebSocket over an upgraded socket: `ws` frames it, this
 * corks it per turn.
 *
 * @example Over a socket pair that already carried the 101 handshake
 * ```ts
 * import { WsSocket } from "./ws_socket.ts";
 * import net from "node:net";
 * const server = net.createServer((raw) => {
 *   const socket = new WsSocket(raw, new Uint8Array());
 *   socket.onopen = () => { socket.send("hello"); socket.close(1000, "bye"); };
 * });
 * await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
 * const port = (server.address() as net.AddressInfo).port;
 * const client = net.connect(port, "127.0.0.1");
 * const bytes = await new Promise<Uint8Array>((resolve) => client.once("data", resolve));
 * // An unmasked text frame (0x81) of 5 bytes.
 * if (bytes[0] !== 0x81 || bytes[1] !== 5) throw new Error();
 * client.destroy();
 * await new Promise((resolve) => server.close(resolve));
 * ```
 */
export class WsSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;

  onopen: OpenHandler = null;
  onmessage: MessageHandler = null;
  onclose: CloseHandler = null;
  onerror: ((event: Event) => void) | null = null;
  /**
   * Kept for the WHATWG shape; binary messages arrive as Uint8Arrays (views,
   * where a WHATWG socket would copy each into an ArrayBuffer).
   */
  binaryType: BinaryType = "arraybuffer";
  #ws: Ws;
  #raw: Duplex;
  #corked = false;
  #uncork = () => {
    if (!this.#corked) return;
    this.#corked = false;
    this.#raw.uncork();
  };
  // Whole frames waiting for this turn's write (sendFrame).
  #frames: Uint8Array[] = [];
  #frameBytes = 0;
  #opened = false;
  // Messages that came before `onopen` ran (a client may write right after
  // the 101): handed out after it, as a WHATWG socket would.
  #early: (string | Uint8Array)[] | undefined = [];

  /**
   * @param raw The socket, after the 101 response was written.
   * @param head Bytes read past the request head (the first frames).
   * @param options The largest message, the most messages per turn.
   */
  constructor(raw: Duplex, head: Uint8Array, options: WsSocketOptions = {}) {
    this.#raw = raw;
    // `null` as the address makes a server-side ws (frames unmasked, masks
    // required); setSocket is what ws's own WebSocketServer calls.
    const ws = this.#ws = new Ws(null as unknown as string, undefined, { autoPong: true } as never);
    (ws as unknown as {
      setSocket(socket: Duplex, head: Uint8Array, options: object): void;
    }).setSocket(raw, head, {
      // Up to `messagesPerTurn` messages per turn, see below.
      allowSynchronousEvents: true,
      maxPayload: options.maxPayload ?? 64 * 1024 * 1024,
      // Checked below instead, to keep the documented answer (PROTOCOL.md).
      skipUTF8Validation: true,
    });
    acceptUnmasked(ws);
    // `ws` hands out every message of a TCP read in one turn, or one per
    // task. One per task costs a turn of the event loop per message (most
    // of the server's CPU under a flood of small ones); a whole read at once
    // (thousands of frames) fills the transmit queue (maxPendingSends)
    // before the bus has taken any, and keeps every other client waiting
    // meanwhile. So `messagesPerTurn` at most, and no more once the turn has
    // spent TURN_BUDGET_MS on them: then `ws` defers the next one a task, the
    // queue drains, other clients are served, and the count restarts.
    // ws 8's Receiver reads `_allowSynchronousEvents` per message
    // (lib/receiver.js dataMessage, controlMessage); ws is pinned, a test
    // covers this.
    const receiver = (ws as unknown as { _receiver: { _allowSynchronousEvents: boolean } })
      ._receiver;
    const perTurn = options.messagesPerTurn ?? 64;
    let burst = 0;
    let turnStart = 0;
    const restart = () => {
      burst = 0;
      receiver._allowSynchronousEvents = true;
    };
    ws.on("message", (data: Uint8Array | ArrayBuffer | Uint8Array[], isBinary: boolean) => {
      if (burst++ === 0) {
        setImmediate(restart);
        turnStart = performance.now();
      }
      // The clock is read every 8th message: reading it costs about as much
      // as handing out a small one.
      if (
        burst >= perTurn ||
        (burst % 8 === 0 && performance.now() - turnStart >= TURN_BUDGET_MS)
      ) receiver._allowSynchronousEvents = false;
      const bytes = data as Uint8Array;
      let message: string | Uint8Array;
      if (isBinary) {
        // A plain view of ws's Buffer (no copy; the decoders copy what they keep).
        message = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      } else {
        try {
          message = strictUtf8.decode(bytes);
        } catch {
          // Text that is not UTF-8 ends the connection without a close frame,
          // as the server did before (PROTOCOL.md: RFC 6455 asks for 1007).
          return ws.terminate();
        }
      }
      if (this.#early) this.#early.push(message);
      else this.onmessage?.({ data: message });
    });
    // Once the peer's close frame is in, the connection ends: `ws` ends it
    // when its own close frame has been written, but was seen (about one
    // run in three of tests/server/bad_input_test.ts) to wait for its 30 s
    // close timer instead; this ends it after 100 ms, and destroys it after
    // a second, whatever the cause.
    (ws as unknown as { _receiver: { on(e: string, f: () => void): void } })._receiver.on(
      "conclude",
      () => {
        const end = setTimeout(() => raw.writableEnded || raw.end(), 100);
        const destroy = setTimeout(() => raw.destroy(), 1000);
        raw.once("close", () => {
          clearTimeout(end);
          clearTimeout(destroy);
        });
      },
    );
    ws.on("close", (code: number, reason: Uint8Array) => {
      this.onclose?.({ code, reason: reason.toString(), wasClean: code !== 1006 });
    });
    ws.on("error", () => this.onerror?.(new Event("error")));
    // Like the WHATWG socket, open comes a task later, once handlers are set.
    setTimeout(() => {
      if (ws.readyState !== Ws.OPEN) return;
      this.#opened = true;
      this.onopen?.(new Event("open"));
      const early = this.#early!;
      this.#early = undefined;
      for (const data of early) {
        if (ws.readyState !== Ws.OPEN) break;
        this.onmessage?.({ data });
      }
    }, 0);
  }

  /** CONNECTING until `onopen` has run, then the `ws` state. */
  get readyState(): number {
    const state = this.#ws.readyState;
    return state === Ws.OPEN && !this.#opened ? WsSocket.CONNECTING : state;
  }

  /** Bytes sent but not yet handed to the kernel: the frames waiting, `ws`'s queue and the socket's. */
  get bufferedAmount(): number {
    return this.#ws.bufferedAmount + this.#frameBytes;
  }

  /** The socket's writable queue and the frames waiting, for the memory a stalled reader costs. */
  get writableLength(): number {
    return this.#raw.writableLength + this.#frameBytes;
  }

  /**
   * Sends a message framed already (ws_frame.ts), with the others of this
   * turn, in one write at the end of the turn. The bytes are written as
   * they are and may be shared with other sockets.
   *
   * @param frame One whole unmasked data frame.
   */
  sendFrame(frame: Uint8Array): void {
    if (this.#ws.readyState !== Ws.OPEN) return;
    this.#frames.push(frame);
    this.#frameBytes += frame.length;
    if (this.#frames.length > 1) return;
    const due = WsSocket.#due;
    due.add(this);
    if (due.size === 1) setImmediate(WsSocket.#writeDue);
  }

  // Sockets whose frames leave at the end of this turn. No timer tick waits
  // for more: that cost a frame following another within 1 ms up to 2 ms
  // of latency and saved no measurable CPU once a turn hands out many
  // messages (docs/benchmark.md).
  static #due = new Set<WsSocket>();
  // The set is emptied first: a socket that gets a frame meanwhile is due
  // again and schedules its own write. A socket whose write throws is
  // broken: it is ended, the others still get theirs.
  static #writeDue = () => {
    const sockets = [...WsSocket.#due];
    WsSocket.#due.clear();
    for (const socket of sockets) {
      try {
        socket.#writeFrames();
      } catch {
        socket.terminate();
      }
    }
  };

  #writeFrames(): void {
    const frames = this.#frames;
    if (frames.length === 0) return;
    const length = this.#frameBytes;
    this.#frames = [];
    this.#frameBytes = 0;
    if (frames.length === 1) return void this.#raw.write(frames[0]);
    const bytes = new Uint8Array(length);
    let at = 0;
    for (const frame of frames) {
      bytes.set(frame, at);
      at += frame.length;
    }
    this.#raw.write(bytes);
  }

  /**
   * Sends a text (string) or binary message; with the others of this turn
   * in one write.
   */
  send(data: string | Uint8Array | ArrayBuffer): void {
    if (this.#ws.readyState !== Ws.OPEN) return;
    this.#writeFrames();
    if (!this.#corked) {
      this.#corked = true;
      this.#raw.cork();
      setImmediate(this.#uncork);
    }
    this.#ws.send(data, { binary: typeof data !== "string" });
  }

  /** Sends a close frame; `onclose` runs once the peer answers or the socket ends. */
  close(code?: number, reason?: string): void {
    if (this.#ws.readyState === Ws.OPEN) this.#writeFrames();
    if (this.#corked) {
      this.#corked = false;
      this.#raw.uncork();
    }
    this.#ws.close(code, reason);
  }

  /** Ends the connection without a close frame. */
  terminate(): void {
    this.#frames = [];
    this.#frameBytes = 0;
    this.#ws.terminate();
  }
}
