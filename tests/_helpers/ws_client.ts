// A thin WebSocket test client on the standard WebSocket: a message queue,
// bus_request helper and the close event as a promise.
import { decodeEvent } from "../../core/codec.ts";
import type { CanEvent } from "../../core/events.ts";
import { BINARY_PROTOCOL, JSON_PROTOCOL } from "../../core/protocol.ts";

export class TestClient {
  readonly ws: WebSocket;
  readonly closed: Promise<CloseEvent>;
  #queue: (string | Uint8Array)[] = [];
  #waiters: ((m: string | Uint8Array) => void)[] = [];

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.binaryType = "arraybuffer";
    ws.onmessage = (e) => {
      const data = typeof e.data === "string" ? e.data : new Uint8Array(e.data);
      const waiter = this.#waiters.shift();
      if (waiter) waiter(data);
      else this.#queue.push(data);
    };
    this.closed = new Promise((resolve) => ws.addEventListener("close", resolve));
    ws.onerror = () => {};
  }

  static async open(
    url: string,
    protocols: string[] = [BINARY_PROTOCOL, JSON_PROTOCOL],
  ): Promise<TestClient> {
    const client = new TestClient(new WebSocket(url, protocols));
    await new Promise((resolve, reject) => {
      client.ws.addEventListener("open", resolve, { once: true });
      client.ws.addEventListener(
        "error",
        (e) => reject(new Error(`WebSocket failed: ${(e as ErrorEvent).message}`)),
        { once: true },
      );
    });
    return client;
  }

  /** Connects and completes the bus_request/bus_response exchange. */
  static async connect(
    url: string,
    config: Record<string, unknown> = {},
    protocols?: string[],
  ): Promise<TestClient> {
    const client = await TestClient.open(url, protocols);
    client.sendJson({ type: "bus_request", payload: { config } });
    const event = await client.nextEvent();
    if (event.type !== "bus_response") throw new Error(`Expected bus_response, got ${event.type}`);
    return client;
  }

  sendJson(value: unknown): void {
    this.ws.send(JSON.stringify(value));
  }

  send(data: string | Uint8Array): void {
    this.ws.send(data);
  }

  /** The next message, raw. Rejects after `ms`. */
  next(ms = 2000): Promise<string | Uint8Array> {
    const queued = this.#queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(new Error(`No message within ${ms} ms`));
      }, ms);
      const waiter = (m: string | Uint8Array) => {
        clearTimeout(timer);
        resolve(m);
      };
      this.#waiters.push(waiter);
    });
  }

  async nextEvent(ms = 2000): Promise<CanEvent> {
    return decodeEvent(await this.next(ms));
  }

  /**
   * Every message until `ms` pass without one. The first `expected` messages
   * are each waited for up to `waitMs`, so a slow machine does not lose them.
   */
  async drain(ms = 150, expected = 0, waitMs = 5000): Promise<(string | Uint8Array)[]> {
    const out: (string | Uint8Array)[] = [];
    while (true) {
      try {
        out.push(await this.next(out.length < expected ? waitMs : ms));
      } catch {
        return out;
      }
    }
  }

  async close(): Promise<CloseEvent> {
    if (this.ws.readyState <= WebSocket.OPEN) this.ws.close();
    return await this.closed;
  }
}
