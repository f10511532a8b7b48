// Re-shares a bus opened once, typically another canremote or
// python-can-remote server (`-i remote -c ws://gateway:54701/`): one
// connection upstream, any number of clients downstream. A small gateway
// that serves one connection gets a big machine in front of it.
//
// The clients' buses are virtual buses on a private channel, joined by a
// bridge bus that hands upstream frames in and the clients' frames out. So
// each client's filters, receive_own_messages and periodic tasks run here,
// in the relay, and only frames go upstream; clients also hear each other,
// as on a real bus.
import { getLogger } from "@logtape/logtape";
import type { Bus, BusOptions, CanFilter, PeriodicOptions, PeriodicTask } from "../../core/bus.ts";
import type { CanFrame } from "../../core/frame.ts";
import { BusClosedError } from "../../core/errors.ts";
import { VirtualBus, VirtualNetwork } from "../../core/virtual_bus.ts";
import type { RemoteBus } from "../../client.ts";
import type { Backend } from "./backend.ts";

/** Options of {@linkcode RelayBackend}. */
export interface RelayBackendOptions {
  /**
   * The channel name clients see (the server's path `/NAME` and `channel_info`).
   * @default {"0"}
   */
  channel?: string;
  /** What the upstream is, for messages: its URL for a remote bus. */
  upstreamName?: string;
}

/**
 * A backend that shares one open bus with every client: frames from it reach
 * every client (through its own filters), frames from a client reach it and
 * the other clients. Upstream loss and return (a {@linkcode RemoteBus}
 * reconnecting) are logged and reported to every client as an `error` event.
 *
 * @example Two clients share one upstream connection
 * ```ts
 * import { RelayBackend, serve } from "../../server.ts";
 * import { RemoteBus } from "../../client.ts";
 * import { createFrame } from "../../core/frame.ts";
 * await using gateway = await serve({ port: 0 });
 * const upstream = await RemoteBus.connect(gateway.url, { reconnect: true });
 * await using relay = await serve({ port: 0, backend: new RelayBackend(upstream) });
 * await using a = await RemoteBus.connect(relay.url);
 * await using b = await RemoteBus.connect(gateway.url);
 * await b.send(createFrame({ arbitrationId: 0x123, isExtendedId: false, data: [1] }));
 * const frame = await a.receive({ signal: AbortSignal.timeout(2000) });
 * if (frame.arbitrationId !== 0x123) throw new Error();
 * ```
 */
export class RelayBackend implements Backend {
  /** `"remote"` for a remote upstream, else the upstream's kind. */
  readonly interfaceName: string;
  /** The one channel served. */
  readonly channels: readonly string[];
  /** The shared bus. */
  readonly upstream: Bus;
  /** Frames that could not go upstream (it was away, or refused them). */
  lost = 0;
  #network = new VirtualNetwork();
  #bridge: VirtualBus;
  #clients = new Set<RelayClientBus>();
  #log = getLogger(["canremote", "server", "relay"]);
  #name: string;
  #closed = false;
  #pumping: Promise<void>;

  /**
   * Starts relaying; the backend owns `upstream` and closes it on {@linkcode RelayBackend.close}.
   *
   * @param upstream The open bus to share, e.g. a `RemoteBus` with `reconnect: true`.
   * @param options Channel name and how to name the upstream.
   */
  constructor(upstream: Bus, options: RelayBackendOptions = {}) {
    this.upstream = upstream;
    this.interfaceName = "url" in upstream ? "remote" : upstream.channelInfo.split(" ")[0];
    this.channels = [options.channel ?? "0"];
    this.#name = options.upstreamName ?? upstream.channelInfo;
    // preserveTimestamps: upstream frames keep the time the upstream gave them.
    this.#bridge = VirtualBus.open({
      channel: this.channels[0],
      network: this.#network,
      preserveTimestamps: true,
    });
    this.#bridge.subscribe((entry) => {
      if (!(entry instanceof Error)) this.#toUpstream(entry);
    });
    this.#watch(upstream);
    this.#pumping = this.#pump();
  }

  /**
   * Opens a client's bus on the relayed channel.
   *
   * @param channel The channel (the one in {@linkcode RelayBackend.channels}).
   * @param options The client's filters, `receiveOwnMessages`, `preserveTimestamps`.
   * @returns The client's bus; closing it leaves the upstream open.
   */
  open(channel: string, options: BusOptions): Promise<Bus> {
    if (this.#closed) return Promise.reject(new BusClosedError("The relay is closed"));
    const bus = new RelayClientBus(
      VirtualBus.open({ ...options, channel, network: this.#network }),
      (self) => this.#clients.delete(self),
    );
    this.#clients.add(bus);
    return Promise.resolve(bus);
  }

  /** Stops relaying and closes the upstream bus. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#bridge.close();
    await this.upstream.close();
    await this.#pumping;
  }

  // At most one line a second per kind: a flood of refused frames must not flood the log.
  #warned = new Map<string, number>();
  #warn(kind: string, message: string): void {
    const now = Date.now();
    if (now - (this.#warned.get(kind) ?? -Infinity) < 1000) return;
    this.#warned.set(kind, now);
    this.#log.warn("Upstream {name}: {message}", { name: this.#name, message });
  }

  #toUpstream(frame: CanFrame): void {
    // A remote upstream away (reconnecting) would queue every frame: drop them instead.
    const state = (this.upstream as Partial<RemoteBus>).state;
    if (this.#closed || this.upstream.closed || (state !== undefined && state !== "open")) {
      this.lost++;
      return;
    }
    this.upstream.send(frame).catch((error) => {
      this.lost++;
      this.#warn("send", `did not take a frame: ${(error as Error).message}`);
    });
  }

  async #pump(): Promise<void> {
    while (!this.#closed) {
      let frame: CanFrame;
      try {
        frame = await this.upstream.receive();
      } catch (error) {
        if (error instanceof BusClosedError || this.upstream.closed) break;
        // An `error` event from the upstream server: its words, for the log.
        this.#warn("error", (error as Error).message);
        continue;
      }
      try {
        await this.#bridge.send(frame);
      } catch (error) {
        // python-can-remote forwards frames canremote calls invalid (a standard id of 0x800).
        this.#warn("invalid", `sent a frame the relay cannot pass on: ${(error as Error).message}`);
      }
    }
    if (!this.#closed) {
      this.#notify(`the upstream ${this.#name} closed for good; nothing more is relayed`);
    }
  }

  #watch(upstream: Bus): void {
    if (!("addEventListener" in upstream)) return;
    const remote = upstream as RemoteBus;
    let lost = false;
    remote.addEventListener("statechange", ({ detail }) => {
      if (detail.state === "reconnecting") {
        lost = true;
        const why = (detail.error as Error | undefined)?.message ?? "connection lost";
        this.#log.warn("Upstream {name} lost ({why}); reconnecting", { name: this.#name, why });
        this.#notify(`the upstream ${this.#name} is unreachable (${why}); reconnecting`);
      } else if (detail.state === "open" && lost) {
        lost = false;
        this.#log.info("Upstream {name} is back", { name: this.#name });
        this.#notify(`the upstream ${this.#name} is back; relaying again`);
      }
    });
  }

  #notify(message: string): void {
    for (const client of this.#clients) client.notify(new Error(message));
  }
}

// A client's bus: its virtual bus, plus the relay's notices in its stream.
class RelayClientBus implements Bus {
  #bus: VirtualBus;
  #listener: ((entry: CanFrame | Error) => void) | undefined;
  #closed: (bus: RelayClientBus) => void;

  constructor(bus: VirtualBus, closed: (bus: RelayClientBus) => void) {
    this.#bus = bus;
    this.#closed = closed;
  }

  get channelInfo(): string {
    return this.#bus.channelInfo;
  }

  get closed(): boolean {
    return this.#bus.closed;
  }

  notify(error: Error): void {
    // The server's sessions subscribe; a notice has nowhere to go otherwise.
    this.#listener?.(error);
  }

  send(frame: CanFrame): Promise<void> {
    return this.#bus.send(frame);
  }

  receive(options?: { signal?: AbortSignal }): Promise<CanFrame> {
    return this.#bus.receive(options);
  }

  sendPeriodic(frame: CanFrame, period: number, options?: PeriodicOptions): PeriodicTask {
    return this.#bus.sendPeriodic(frame, period, options);
  }

  setFilters(filters?: CanFilter[] | null): void {
    this.#bus.setFilters(filters);
  }

  subscribe(listener: (entry: CanFrame | Error) => void): void {
    this.#listener = listener;
    this.#bus.subscribe(listener);
  }

  async close(): Promise<void> {
    this.#closed(this);
    await this.#bus.close();
  }

  [Symbol.asyncIterator](): AsyncIterator<CanFrame> {
    return this.#bus[Symbol.asyncIterator]();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
