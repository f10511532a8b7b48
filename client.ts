/**
 * `RemoteBus`: a {@linkcode Bus} on a canremote or python-can-remote server,
 * reached over a WebSocket. It runs in Deno and in browsers alike: it uses
 * only `WebSocket`, `EventTarget`, `AbortSignal` and timers.
 *
 * @example Connecting to a port nobody listens on fails with the close code 1006
 * ```ts
 * import { RemoteBus } from "./client.ts";
 * import { RemoteError } from "./core/errors.ts";
 * try {
 *   await RemoteBus.connect("ws://127.0.0.1:1/", { timeout: 2000 });
 *   throw new Error("unreachable");
 * } catch (error) {
 *   if (!(error instanceof RemoteError) || error.code !== 1006) throw error;
 * }
 * ```
 *
 * @module
 */

import {
  type Bus,
  type CanFilter,
  checkFilters,
  type PeriodicOptions,
  type PeriodicTask,
  type ReceiveOptions,
} from "./core/bus.ts";
import { encodeEvent } from "./core/codec.ts";
import { BusClosedError, type RemoteError } from "./core/errors.ts";
import type { CanEvent } from "./core/events.ts";
import { type CanFrame, validateFrame } from "./core/frame.ts";
import { JSON_PROTOCOL } from "./core/protocol.ts";
import { FrameQueue } from "./core/_frame_queue.ts";
import { RemoteInbox } from "./client/inbox.ts";
import type { BusHealth } from "./core/bus_health.ts";
import { RemotePeriodicTasks } from "./client/periodic.ts";
import { type RemoteSettings, remoteSettings, setConfigFilters } from "./client/config.ts";
import { closeSocket, isPermanent } from "./client/close.ts";
import { dial, redial } from "./client/dial.ts";
import { websocketUrl } from "./client/url.ts";
import { Backpressure } from "./client/backpressure.ts";
import type { RemoteBusEventMap, RemoteBusState, StateChangeDetail } from "./client/events.ts";
import type { ReconnectOptions, RemoteBusOptions } from "./client/options.ts";

export { tokenProtocol } from "./client/token.ts";
export type { ReconnectOptions, RemoteBusOptions, TokenTransport } from "./client/options.ts";
export type { RemoteBusState, StateChangeDetail } from "./client/events.ts";
export type { DroppedDetail, RemoteBusEventMap } from "./client/events.ts";
export type { BusHealth, BusState, BusStats } from "./core/bus_health.ts";

/**
 * A CAN bus on a remote server, speaking python-can-remote's WebSocket
 * protocol (`can.binary+json.v1` or `can.json.v1`).
 *
 * Received frames pass through the filters locally as well as on the server.
 * `error` events from the server reject the next `receive()` (the connection
 * stays usable) and are dispatched as `"error"` events; a server close rejects
 * receives with a {@linkcode BusClosedError} whose `cause` is a
 * {@linkcode RemoteError} carrying the close code, once the frames already
 * received have been handed out.
 *
 * @example Sending, receiving and a periodic task
 * ```ts
 * import { RemoteBus } from "./client.ts";
 * import { createFrame } from "./core/frame.ts";
 * // A server to talk to; yours runs elsewhere: ws://canbox.lab:54701/
 * import { serve } from "./server.ts";
 * await using server = await serve({ port: 0 });
 *
 * await using bus = await RemoteBus.connect(server.url, {
 *   receiveOwnMessages: true, // the server echoes our frames back
 *   reconnect: true, // survive a server restart
 * });
 * const states: string[] = [];
 * bus.addEventListener("statechange", (e) => states.push(e.detail.state));
 * await bus.send(createFrame({ arbitrationId: 0x123, isExtendedId: false, data: [1, 2] }));
 * const task = bus.sendPeriodic(createFrame({ arbitrationId: 0x100, data: [0] }), 0.1);
 * const ids = new Set<number>();
 * for await (const frame of bus) {
 *   ids.add(frame.arbitrationId); // frame.data, frame.timestamp, ...
 *   if (ids.has(0x123) && ids.has(0x100)) break;
 * }
 * task.stop();
 * ```
 */
export class RemoteBus extends EventTarget implements Bus {
  /** The server's WebSocket URL: the one given to `connect()`, with `http(s)://` as `ws(s)://`. */
  readonly url: string;
  #settings: RemoteSettings;
  // Aborted when the bus closes: ends back-off sleeps, drain polls and a reconnection in progress.
  #lifetime = new AbortController();
  #queue: FrameQueue;
  #inbox: RemoteInbox;
  #backpressure: Backpressure;
  #tasks = new RemotePeriodicTasks((event) => this.#sendEvent(event));

  #state: RemoteBusState = "connecting";
  #stateWaiters: (() => void)[] = [];
  // The last send still waiting for the connection or for the socket to drain.
  #waitingSend: Promise<void> | undefined;
  #ws: WebSocket | undefined;
  #protocol = JSON_PROTOCOL;
  #channelInfo = "";
  #closeCause: unknown;
  #reconnecting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  private constructor(url: string, options: RemoteBusOptions) {
    super();
    this.url = url;
    const settings = this.#settings = remoteSettings(options);
    this.#queue = new FrameQueue(settings.queueLimit);
    this.#inbox = new RemoteInbox(this, this.#queue, settings.filters);
    this.#backpressure = new Backpressure(settings.maxBuffered, this.#lifetime.signal);
  }

  /**
   * Opens a WebSocket to a server, sends the `bus_request` and waits for the
   * `bus_response`.
   *
   * @param url The server, e.g. `"ws://localhost:54701/"` (a path names the channel on canremote);
   *   `http://` and `https://` (the web page's address) mean `ws://` and `wss://`.
   * @param options Bus options, protocol, timeout, reconnection: {@linkcode RemoteBusOptions}.
   * @returns The open bus; its `channelInfo` is `"<server's channel_info> on <url>"`, as
   *   python-can-remote's client has it.
   * @throws {TypeError} / {RangeError} For bad options, and `SyntaxError` for a URL WebSocket
   *   refuses or a scheme other than ws, wss, http and https.
   * @throws {RemoteError} When the server answers with an `error` event (no `code`), selects a
   *   subprotocol that was not offered (no `code`), or closes the connection before answering
   *   (`code` is the close code; 1006 when the connection failed or dropped without a close frame).
   * @throws {DOMException} A `TimeoutError` when no `bus_response` came within `timeout`.
   * @throws The signal's reason when `options.signal` aborts.
   * @example A server that is not there
   * ```ts
   * import { RemoteBus } from "./client.ts";
   * import { RemoteError } from "./core/errors.ts";
   * const error = await RemoteBus.connect("ws://127.0.0.1:1/").catch((e) => e);
   * if (!(error instanceof RemoteError)) throw error;
   * ```
   * @example Channel vcan0 of a server, with options of python-can's meaning
   * ```ts
   * import { RemoteBus } from "./client.ts";
   * // A server to talk to; yours runs elsewhere: ws://canbox.lab:54701/vcan0
   * import { serve } from "./server.ts";
   * await using server = await serve({ port: 0, channels: ["vcan0"] });
   *
   * const bus = await RemoteBus.connect(new URL("/vcan0", server.url), {
   *   bitrate: 500000,
   *   receiveOwnMessages: true,
   *   canFilters: [{ canId: 0x100, canMask: 0x700, extended: false }],
   *   signal: AbortSignal.timeout(3000),
   * });
   * // "virtual channel vcan0 on ws://127.0.0.1:<port>/vcan0"
   * if (!bus.channelInfo.startsWith("virtual channel vcan0 on ws://")) throw new Error();
   * await bus.close();
   * ```
   */
  static async connect(url: string | URL, options: RemoteBusOptions = {}): Promise<RemoteBus> {
    const bus = new RemoteBus(websocketUrl(url), options);
    await bus.#dial(options.signal);
    return bus;
  }

  /** `"<server's channel_info> on <url>"`. */
  get channelInfo(): string {
    return this.#channelInfo;
  }

  /** `true` once `close()` was called or the server closed the connection for good. */
  get closed(): boolean {
    return this.#state === "closed";
  }

  /** Connection state; each change dispatches a `"statechange"` event. */
  get state(): RemoteBusState {
    return this.#state;
  }

  /** The negotiated subprotocol, `"can.binary+json.v1"` or `"can.json.v1"`. */
  get protocol(): string {
    return this.#protocol;
  }

  /**
   * Frames lost for this bus: those the server reported dropping for it
   * (`dropped` events) plus those the local receive queue dropped because
   * nobody read them.
   */
  get dropped(): number {
    return this.#inbox.dropped;
  }

  /**
   * The channel's health as the server last reported it: controller state
   * (`"error-active"`, `"error-warning"`, `"error-passive"`, `"bus-off"`,
   * `"stopped"`, `"down"`; `null` on a virtual bus), bit rate, error
   * counters and statistics. `null` until the first report, and always
   * without the `busState` option. Each report also dispatches a
   * `"busstate"` event.
   *
   * @example Watch a channel's state (a virtual bus has no controller: `state` is null)
   * ```ts
   * import { serve } from "./server.ts";
   * import { RemoteBus } from "./client.ts";
   * await using server = await serve({ port: 0 });
   * const bus = await RemoteBus.connect(server.url, { busState: true });
   * // Later reports (the first may arrive before connect() resolves):
   * bus.addEventListener("busstate", (event) => console.info("bus:", event.detail.state));
   * await new Promise((resolve) => setTimeout(resolve, 100)); // the first report follows bus_response
   * if (bus.busState === null || bus.busState.state !== null) throw new Error();
   * await bus.close();
   * ```
   */
  get busState(): BusHealth | null {
    return this.#inbox.busState;
  }

  /**
   * Sends a frame. While reconnecting it waits for the connection; when the
   * WebSocket holds more than `maxBufferedAmount` unsent bytes it waits for
   * it to drain, so a fast sender cannot grow memory without bound. Frames go
   * out in call order.
   *
   * @param frame The frame.
   * @returns A promise that resolves once the frame is handed to the WebSocket;
   *   the server reports a refusal (read-only token, id not allowed) later, as an
   *   `error` event.
   * @throws {TypeError} / {RangeError} For an invalid frame; nothing is sent.
   * @throws {BusClosedError} When the bus is closed, or closes while waiting.
   * @example
   * ```ts
   * import { RemoteBus } from "./client.ts";
   * import { createFrame } from "./core/frame.ts";
   * // A server to talk to; yours runs elsewhere: ws://canbox.lab:54701/
   * import { serve } from "./server.ts";
   * await using server = await serve({ port: 0 });
   *
   * await using bus = await RemoteBus.connect(server.url);
   * await bus.send(createFrame({ arbitrationId: 0x7df, isExtendedId: false, data: [2, 1, 0x0d] }));
   * const error = await bus.send(createFrame({ arbitrationId: 0x800, isExtendedId: false }))
   *   .catch((e) => e);
   * if (!(error instanceof RangeError)) throw new Error("0x800 is not an 11-bit id");
   * ```
   */
  async send(frame: CanFrame): Promise<void> {
    if (this.closed) throw this.#closedError();
    const checked = validateFrame(frame);
    if (this.#waitingSend || !this.#canSend()) {
      // Sends that must wait line up behind each other, so one made while
      // others wait (e.g. from a "statechange" listener) keeps call order.
      const ahead = this.#waitingSend;
      let done!: () => void;
      const mine = new Promise<void>((resolve) => done = resolve);
      this.#waitingSend = mine;
      try {
        await ahead;
        while (!this.#canSend()) {
          if (this.closed) throw this.#closedError();
          await (this.#backpressure.waiting ?? this.#nextState());
        }
        this.#ws!.send(encodeEvent({ type: "message", frame: checked }, this.#protocol));
      } finally {
        if (this.#waitingSend === mine) this.#waitingSend = undefined;
        done();
      }
    } else {
      this.#ws!.send(encodeEvent({ type: "message", frame: checked }, this.#protocol));
    }
    const drained = this.#backpressure.sent(this.#ws!);
    if (drained) await drained;
  }

  #canSend(): boolean {
    return !this.#backpressure.waiting && this.#ws?.readyState === WebSocket.OPEN;
  }

  /**
   * Waits for the next frame that passes the filters. Frames keep coming in
   * order across a reconnection.
   * @param options `signal` to stop waiting (the promise rejects with its reason).
   * @returns The frame.
   * @throws {RemoteError} When the server reported an `error` event; the next call waits again.
   * @throws {BusClosedError} When the bus is closed, or closes while waiting.
   * @example One client hears another
   * ```ts
   * import { RemoteBus } from "./client.ts";
   * import { createFrame } from "./core/frame.ts";
   * // A server to talk to; yours runs elsewhere: ws://canbox.lab:54701/
   * import { serve } from "./server.ts";
   * await using server = await serve({ port: 0 });
   *
   * await using listener = await RemoteBus.connect(server.url);
   * await using sender = await RemoteBus.connect(server.url);
   * await sender.send(createFrame({ arbitrationId: 0x123, isExtendedId: false, data: [0xff] }));
   * const frame = await listener.receive({ signal: AbortSignal.timeout(2000) });
   * if (frame.arbitrationId !== 0x123 || frame.data[0] !== 0xff) throw new Error();
   * ```
   */
  receive(options: ReceiveOptions = {}): Promise<CanFrame> {
    return this.#queue.receive(options.signal);
  }

  /**
   * Takes a frame that already arrived, without waiting.
   * @returns The frame, or `undefined` when none is queued.
   * @throws {RemoteError} When the next entry is an error the server reported.
   * @throws {BusClosedError} When the bus is closed and empty.
   */
  poll(): CanFrame | undefined {
    return this.#queue.poll();
  }

  /**
   * Asks the server to send `frame` every `period` seconds (`periodic_start`).
   * Tasks are keyed by arbitration id, as in the protocol: starting a second
   * task with the same id replaces the first, which then reports `stopped`.
   * `modify()` sends a new `periodic_start` for the same id; `stop()` sends a
   * `periodic_stop`. A task with a duration ends on the server by itself and
   * is marked stopped locally when the duration is over. After a
   * reconnection, running tasks are started again.
   *
   * @param frame The frame; its arbitration id names the task.
   * @param period Seconds between two transmissions, at least 0.001.
   * @param options `duration` in seconds; the task runs until stopped when left out.
   * @returns The task.
   * @throws {TypeError} / {RangeError} For an invalid frame, period or duration.
   * @throws {BusClosedError} When the bus is closed.
   * @example A heartbeat every 10 ms, then a new payload
   * ```ts
   * import { RemoteBus } from "./client.ts";
   * import { createFrame } from "./core/frame.ts";
   * // A server to talk to; yours runs elsewhere: ws://canbox.lab:54701/
   * import { serve } from "./server.ts";
   * await using server = await serve({ port: 0 });
   *
   * await using listener = await RemoteBus.connect(server.url);
   * await using bus = await RemoteBus.connect(server.url);
   * const heartbeat = createFrame({ arbitrationId: 0x700, isExtendedId: false });
   * const task = bus.sendPeriodic(heartbeat, 0.01);
   * await listener.receive({ signal: AbortSignal.timeout(2000) });
   * task.modify(createFrame({ arbitrationId: 0x700, isExtendedId: false, data: [5] }));
   * task.stop();
   * if (!task.stopped) throw new Error();
   * ```
   */
  sendPeriodic(frame: CanFrame, period: number, options: PeriodicOptions = {}): PeriodicTask {
    if (this.closed) throw this.#closedError();
    return this.#tasks.start(frame, period, options.duration);
  }

  /**
   * Replaces the filters applied to received frames. They apply locally at
   * once and go to the server in a `set_filters` event: frames that only the
   * new filters pass arrive once a canremote server has processed it.
   * python-can-remote's server ignores the event and keeps filtering with
   * those of the `bus_request` until the next (re)connection, which sends the
   * current ones.
   *
   * @param filters `{canId, canMask, extended?}` filters; `null`, `undefined` or `[]`
   *   passes everything.
   * @throws {TypeError} / {RangeError} For malformed filters.
   * @example Only OBD-II answers (0x7E8-0x7EF)
   * ```ts
   * import { RemoteBus } from "./client.ts";
   * import { createFrame } from "./core/frame.ts";
   * // A server to talk to; yours runs elsewhere: ws://canbox.lab:54701/
   * import { serve } from "./server.ts";
   * await using server = await serve({ port: 0 });
   *
   * await using bus = await RemoteBus.connect(server.url);
   * await using other = await RemoteBus.connect(server.url);
   * bus.setFilters([{ canId: 0x7e8, canMask: 0x7f8, extended: false }]);
   * await other.send(createFrame({ arbitrationId: 0x100, isExtendedId: false }));
   * const speed = [3, 0x41, 0x0d, 50]; // 50 km/h
   * await other.send(createFrame({ arbitrationId: 0x7e8, isExtendedId: false, data: speed }));
   * const frame = await bus.receive({ signal: AbortSignal.timeout(2000) });
   * if (frame.arbitrationId !== 0x7e8) throw new Error();
   * ```
   */
  setFilters(filters?: CanFilter[] | null): void {
    const checked = checkFilters(filters);
    this.#inbox.filters = checked;
    setConfigFilters(this.#settings.config, checked);
    this.#sendEvent({ type: "set_filters", filters: checked });
  }

  /**
   * Stops the periodic tasks (sending their `periodic_stop`), closes the
   * WebSocket with code 1000 and waits up to a second for the server's close
   * frame. Pending and later receives reject with {@linkcode BusClosedError};
   * frames not yet received are discarded. `error` events the server sends
   * before its close frame (refusals of frames sent before `close()`) are
   * still dispatched as `"error"` events, so a caller that listens knows
   * whether everything it sent was accepted. Calling it again does nothing more.
   *
   * @returns A promise that resolves once the connection is closed.
   * @example
   * ```ts
   * import { RemoteBus } from "./client.ts";
   * import { BusClosedError } from "./core/errors.ts";
   * // A server to talk to; yours runs elsewhere: ws://canbox.lab:54701/
   * import { serve } from "./server.ts";
   * await using server = await serve({ port: 0 });
   *
   * const bus = await RemoteBus.connect(server.url);
   * const waiting = bus.receive();
   * await bus.close();
   * const error = await waiting.catch((e) => e);
   * if (!(error instanceof BusClosedError) || bus.state !== "closed") throw new Error();
   * ```
   */
  close(): Promise<void> {
    return this.#closing ??= this.#shutdown();
  }

  /**
   * Iterates over received frames until the bus closes (`for await`).
   * @returns The iterator; it throws what `receive()` throws, except that a closed bus ends it.
   */
  [Symbol.asyncIterator](): AsyncIterator<CanFrame> {
    return this.#queue.iterate();
  }

  /**
   * Closes the bus at the end of an `await using` block.
   * @returns `close()`'s promise.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * Listens for `"error"`, `"dropped"`, `"statechange"` and `"busstate"` events ({@linkcode RemoteBusEventMap}).
   * @param type Event name.
   * @param listener Called with the event.
   * @param options Standard listener options.
   */
  override addEventListener<K extends keyof RemoteBusEventMap>(
    type: K,
    listener: ((this: RemoteBus, event: RemoteBusEventMap[K]) => unknown) | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  /**
   * Listens for any event, as `EventTarget` does.
   * @param type Event name.
   * @param listener Called with the event.
   * @param options Standard listener options.
   */
  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void {
    super.addEventListener(type, listener, options);
  }

  /**
   * Removes a listener added with {@linkcode RemoteBus.addEventListener}.
   * @param type Event name.
   * @param listener The listener.
   * @param options Standard listener options.
   */
  override removeEventListener<K extends keyof RemoteBusEventMap>(
    type: K,
    listener: ((this: RemoteBus, event: RemoteBusEventMap[K]) => unknown) | null,
    options?: boolean | EventListenerOptions,
  ): void;
  /**
   * Removes a listener, as `EventTarget` does.
   * @param type Event name.
   * @param listener The listener.
   * @param options Standard listener options.
   */
  override removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void;
  override removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void {
    super.removeEventListener(type, listener, options);
  }

  #dial(signal?: AbortSignal): Promise<void> {
    return dial(this.url, this.#settings, this.#connection, signal);
  }

  #connection = {
    opened: (
      ws: WebSocket,
      protocol: string,
      channelInfo: string,
      requested: Record<string, unknown>,
    ) => this.#opened(ws, protocol, channelInfo, requested),
    event: (event: CanEvent) => this.#inbox.event(event),
    undecodable: (error: RemoteError) => this.#inbox.report(error),
    lost: (ws: WebSocket, error: RemoteError) => this.#lost(ws, error),
  };

  #opened(
    ws: WebSocket,
    protocol: string,
    channelInfo: string,
    requested: Record<string, unknown>,
  ): void {
    this.#ws = ws;
    this.#protocol = protocol;
    this.#channelInfo = `${channelInfo} on ${this.url}`;
    // setFilters() between the bus_request and its bus_response could not
    // reach the server yet (setConfigFilters always stores a new array).
    if (requested.can_filters !== this.#settings.config.can_filters) {
      this.#sendEvent({ type: "set_filters", filters: this.#inbox.filters });
    }
    this.#tasks.restart();
    this.#setState("open");
  }

  // The open connection closed without close() being called.
  #lost(ws: WebSocket, error: RemoteError): void {
    if (ws !== this.#ws || this.#state === "closed") return;
    this.#ws = undefined;
    const { retry } = this.#settings;
    if (retry && !isPermanent(error)) this.#reconnecting = this.#reconnect(retry, error);
    else this.#finish(error);
  }

  async #reconnect(retry: Required<ReconnectOptions>, error: unknown): Promise<void> {
    this.#setState("reconnecting", error);
    try {
      await redial(retry, this.#lifetime.signal, (signal) => this.#dial(signal), error);
    } catch (cause) {
      this.#finish(cause);
    }
  }

  // The server ended the bus: hand out what arrived, then reject with the cause.
  #finish(cause: unknown): void {
    this.#closeCause = cause;
    this.#lifetime.abort();
    this.#tasks.stopAll(false);
    this.#queue.close(this.#closedError(), false);
    this.#setState("closed", cause);
  }

  async #shutdown(): Promise<void> {
    const ws = this.#ws;
    const wasClosed = this.closed;
    this.#lifetime.abort();
    // Stop promptly: python-can-remote's server notices a closed connection only after up to 0.5 s.
    this.#tasks.stopAll(true);
    if (!wasClosed) this.#setState("closed");
    await this.#reconnecting;
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      // The server reads our close after everything sent before it, so its
      // refusals of those frames still arrive: dispatched, nothing queued.
      this.#inbox.closing = true;
      await closeSocket(ws);
    }
    // Waiting receives are rejected last, in the same turn as close() resolves,
    // so `const p = bus.receive(); await bus.close(); await p` sees a handled rejection.
    this.#queue.close(this.#closedError(), true);
  }

  #sendEvent(event: CanEvent): void {
    const ws = this.#ws;
    if (ws?.readyState === WebSocket.OPEN) ws.send(encodeEvent(event, this.#protocol));
  }

  #setState(state: RemoteBusState, error?: unknown): void {
    if (this.#state === state) return;
    this.#state = state;
    for (const wake of this.#stateWaiters.splice(0)) wake();
    const detail: StateChangeDetail = error === undefined ? { state } : { state, error };
    this.dispatchEvent(new CustomEvent<StateChangeDetail>("statechange", { detail }));
  }

  #nextState(): Promise<void> {
    return new Promise((resolve) => this.#stateWaiters.push(resolve));
  }

  #closedError(): BusClosedError {
    const cause = this.#closeCause;
    return cause === undefined
      ? new BusClosedError(`The bus ${this.#channelInfo || this.url} is closed`)
      : new BusClosedError(
        `The connection to ${this.url} ended: ${(cause as Error)?.message ?? cause}`,
        { cause },
      );
  }
}
