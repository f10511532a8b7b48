// Frames from the bus to one client. A client that does not keep up loses
// frames, it alone: dropping starts when its socket holds more than
// maxBufferedBytes and goes on until that drained to half, then it gets a
// `dropped` notice saying how many it lost.
import type { Logger } from "@logtape/logtape";
import type { Bus } from "../../core/bus.ts";
import { BusClosedError } from "../../core/errors.ts";
import type { CanEvent } from "../../core/events.ts";
import type { CanFrame } from "../../core/frame.ts";
import { BINARY_PROTOCOL } from "../../core/protocol.ts";
import { encodeForProtocol, framedForProtocol } from "./encode_cache.ts";
import { encodeBinaryBatch } from "../../core/codec_batch.ts";
import { joinJsonMessages } from "../../core/codec_json.ts";
import type { Limits } from "../limits.ts";
import type { SessionStats } from "./stats.ts";

/** How often a held-back `dropped` notice looks at the socket again, in ms. */
const DRAIN_CHECK_MS = 100;
/** A batch goes out at once when it holds this many bytes (or characters). */
const MAX_BATCH_SIZE = 16 * 1024;

/** What a {@linkcode Forwarder} needs from its session. */
export interface ForwarderOptions {
  /** The session's id, for logs. */
  id: number;
  /** The client's socket. */
  socket: WebSocket;
  /** The negotiated subprotocol. */
  protocol: string;
  /** `maxBufferedBytes` applies. */
  limits: Limits;
  /** Counts `sent` and `dropped` frames. */
  stats: SessionStats;
  /** Logs the dropped frames. */
  log: Logger;
  /** Sends an event to the client. */
  sendEvent(event: CanEvent): void;
  /** Tells the client about an error of the bus. */
  sendError(message: string): void;
}

/**
 * Relays what one client's bus receives to the client, dropping frames for
 * a slow reader.
 *
 * @example Relaying from a virtual bus to a WebSocket client
 * ```ts
 * import { Forwarder } from "./forward.ts";
 * import { DEFAULT_LIMITS } from "../limits.ts";
 * import { VirtualBus } from "../../core/virtual_bus.ts";
 * import { createFrame } from "../../core/frame.ts";
 * import { getLogger } from "@logtape/logtape";
 * await using bus = VirtualBus.open({ channel: "forward-example" });
 * await using sender = VirtualBus.open({ channel: "forward-example" });
 * const stats = { received: 0, sent: 0, dropped: 0, rateLimited: 0, errors: 0 };
 * let forwarder: Forwarder | undefined;
 * await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
 *   const { socket, response } = Deno.upgradeWebSocket(request);
 *   const log = getLogger("example");
 *   const sendEvent = () => {}, sendError = () => {};
 *   forwarder = new Forwarder({ id: 1, socket, protocol: "", limits: DEFAULT_LIMITS, stats, log, sendEvent, sendError });
 *   socket.onopen = () => {
 *     forwarder!.pump(bus);
 *     sender.send(createFrame({ arbitrationId: 0x123, data: [1] }));
 *   };
 *   return response;
 * });
 * const client = new WebSocket(`ws://127.0.0.1:${server.addr.port}/`);
 * const text = await new Promise((resolve) => client.onmessage = (event) => resolve(event.data));
 * if (!String(text).includes('"arbitration_id": 291') || stats.sent !== 1) throw new Error();
 * forwarder!.close();
 * client.close();
 * await new Promise((resolve) => client.onclose = resolve);
 * ```
 */
export class Forwarder {
  #id: number;
  #socket: WebSocket;
  #binary: boolean;
  #limits: Limits;
  #stats: SessionStats;
  #log: Logger;
  #sendEvent: (event: CanEvent) => void;
  #sendError: (message: string) => void;
  #closed = false;
  #dropTimer: ReturnType<typeof setInterval> | undefined;
  #droppedSinceNotice = 0;
  #batch: (Uint8Array | string)[] = [];
  #batchSize = 0;
  #batchTimer: ReturnType<typeof setTimeout> | undefined;
  // Set when the socket takes whole frames (server/http/ws_socket.ts).
  #sendFrame: ((frame: Uint8Array) => void) | undefined;
  /**
   * The client takes `message_batch` events: while its socket is still busy
   * with earlier writes, frames wait (until the next turn of the event loop)
   * and go out together in one message.
   */
  batches = false;

  /** @param options The session's socket, limits, counters and event senders. */
  constructor(options: ForwarderOptions) {
    this.#id = options.id;
    this.#socket = options.socket;
    this.#binary = options.protocol === BINARY_PROTOCOL;
    this.#limits = options.limits;
    this.#stats = options.stats;
    this.#log = options.log;
    this.#sendEvent = options.sendEvent;
    this.#sendError = options.sendError;
    const socket = options.socket as WebSocket & { sendFrame?(frame: Uint8Array): void };
    this.#sendFrame = socket.sendFrame?.bind(socket);
  }

  /**
   * Relays the bus's frames until it closes; its errors go to the client as
   * `error` events.
   *
   * @param bus The client's bus.
   */
  async pump(bus: Bus): Promise<void> {
    if (bus.subscribe) {
      bus.subscribe((entry) => {
        if (entry instanceof Error) this.#busError(entry);
        else this.#forward(entry);
      });
      return;
    }
    while (true) {
      try {
        this.#forward(await bus.receive());
      } catch (error) {
        if (error instanceof BusClosedError || this.#closed) return;
        this.#busError(error as Error);
      }
    }
  }

  /** Stops error reports and `dropped` notices; the bus's closing ends the relay. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#dropTimer);
    clearTimeout(this.#batchTimer);
    this.#batch = [];
  }

  /** Sends the frames waiting for a batch now (before any other event, to keep the order). */
  flush(): void {
    clearTimeout(this.#batchTimer);
    this.#batchTimer = undefined;
    const batch = this.#batch;
    if (batch.length === 0) return;
    this.#batch = [];
    this.#batchSize = 0;
    if (this.#socket.readyState !== WebSocket.OPEN) return;
    if (batch.length === 1) return this.#socket.send(batch[0]);
    this.#socket.send(
      this.#binary ? encodeBinaryBatch(batch as Uint8Array[]) : joinJsonMessages(batch as string[]),
    );
  }

  // A bus error (e.g. the interface went down): tell the client, keep going.
  #busError(error: Error): void {
    if (error instanceof BusClosedError || this.#closed) return;
    this.#sendError(`Bus error: ${error.message}`);
  }

  #forward(frame: CanFrame): void {
    const socket = this.#socket;
    if (socket.readyState !== WebSocket.OPEN) return;
    const limit = this.#droppedSinceNotice
      ? this.#limits.maxBufferedBytes / 2
      : this.#limits.maxBufferedBytes;
    if (socket.bufferedAmount + this.#batchSize > limit) {
      this.#stats.dropped++;
      this.#droppedSinceNotice++;
      this.#dropTimer ??= setInterval(() => this.#noticeDropped(), DRAIN_CHECK_MS);
      return;
    }
    if (this.#droppedSinceNotice) this.#noticeDropped();
    this.#stats.sent++;
    // An idle socket gets each frame at once: batching never adds latency
    // when the client keeps up.
    if (!this.batches || (this.#batch.length === 0 && socket.bufferedAmount === 0)) {
      if (this.#sendFrame) this.#sendFrame(framedForProtocol(frame, this.#binary));
      else socket.send(encodeForProtocol(frame, this.#binary));
      return;
    }
    const encoded = encodeForProtocol(frame, this.#binary);
    this.#batch.push(encoded);
    this.#batchSize += encoded.length;
    if (this.#batchSize >= MAX_BATCH_SIZE) this.flush();
    else this.#batchTimer ??= setTimeout(() => this.flush(), 0);
  }

  #noticeDropped(): void {
    if (this.#socket.bufferedAmount > this.#limits.maxBufferedBytes / 2) return;
    clearInterval(this.#dropTimer);
    this.#dropTimer = undefined;
    if (!this.#droppedSinceNotice) return;
    const count = this.#droppedSinceNotice;
    this.#droppedSinceNotice = 0;
    this.#log.info("Client {id}: dropped {count} frames for a slow reader", {
      id: this.#id,
      count,
    });
    this.#sendEvent({ type: "dropped", count, total: this.#stats.dropped });
  }
}
