// Deno 2.9's node:net stops accepting for good once an accept fails (with
// EMFILE when descriptors run out), without an 'error' event. While the
// listener is in trouble (refusals, timeouts), this connects to the server
// once a second; when its own probe is not accepted within a second, or
// is refused, the listening socket is opened again on the same port.
import type { Server, Socket } from "node:net";

const PROBE_EVERY_MS = 1000;
/** Probing goes on this long after the last trouble. */
const WATCH_FOR_MS = 15_000;

/** Restarts a listening server whose accept loop died. */
export class AcceptWatchdog {
  #server: Server;
  #address: { hostname: string; port: number };
  #listenOn: { hostname: string; port: number };
  #onRestart: (error?: Error) => void;
  #lastTrouble = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #probePort = 0;
  #probeSeen: (() => void) | undefined;
  #probing = false;
  #closed = false;

  /**
   * @param server The listening server.
   * @param address Where it listens (a wildcard address is probed on loopback).
   * @param onRestart Told of each restart, with the error if listening again failed.
   */
  constructor(
    server: Server,
    address: { hostname: string; port: number },
    onRestart: (error?: Error) => void,
  ) {
    this.#server = server;
    this.#listenOn = address;
    const wildcard = address.hostname === "0.0.0.0" || address.hostname === "::";
    this.#address = {
      hostname: wildcard ? (address.hostname === "::" ? "::1" : "127.0.0.1") : address.hostname,
      port: address.port,
    };
    this.#onRestart = onRestart;
  }

  /** Something went wrong with connections: watch the accept loop for a while. */
  poke(): void {
    if (this.#closed) return;
    this.#lastTrouble = performance.now();
    this.#timer ??= setInterval(() => this.#check(), PROBE_EVERY_MS);
  }

  /** True (and the probe is accounted for) when `socket` is the watchdog's own probe. */
  claim(socket: Socket): boolean {
    if (!this.#probePort || socket.remotePort !== this.#probePort) return false;
    this.#probeSeen?.();
    return true;
  }

  /** Stops watching. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #check(): Promise<void> {
    if (performance.now() - this.#lastTrouble > WATCH_FOR_MS) {
      clearInterval(this.#timer);
      this.#timer = undefined;
      return;
    }
    if (this.#probing) return;
    this.#probing = true;
    let conn: Deno.TcpConn | undefined;
    try {
      conn = await Deno.connect(this.#address);
      this.#probePort = conn.localAddr.port;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const accepted = await Promise.race([
        new Promise<boolean>((resolve) => this.#probeSeen = () => resolve(true)),
        new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), PROBE_EVERY_MS)),
      ]);
      clearTimeout(timer);
      if (!accepted && !this.#closed) this.#relisten();
    } catch (error) {
      // Refused: nothing listens on the port any more. Anything else (no
      // descriptor for the probe): try again later.
      if (error instanceof Deno.errors.ConnectionRefused && !this.#closed) this.#relisten();
    } finally {
      this.#probePort = 0;
      this.#probeSeen = undefined;
      try {
        conn?.close();
      } catch {
        // already closed
      }
      this.#probing = false;
    }
  }

  #relisten(): void {
    const server = this.#server;
    // Closing the listening socket leaves the connections open.
    try {
      server.close();
    } catch {
      // not listening any more
    }
    const onError = (error: Error) => this.#onRestart(error);
    server.once("error", onError);
    server.listen(this.#listenOn.port, this.#listenOn.hostname, () => {
      server.off("error", onError);
      this.#onRestart();
    });
  }
}
