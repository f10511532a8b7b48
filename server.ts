/**
 * The canremote server: shares a CAN bus (the built-in virtual bus or Linux
 * SocketCAN) with any number of WebSocket clients, python-can-remote
 * compatible, and serves a web page to inspect the traffic.
 *
 * Run it: `deno run -A jsr:@canremote/server --interface socketcan --channel can0`.
 *
 * @example
 * ```ts
 * import { serve } from "./server.ts";
 * await using server = await serve({ port: 0, channels: ["0"] });
 * console.log(`listening on ${server.url}`);
 * ```
 *
 * @module
 */

import { type Backend, VirtualBackend } from "./_server/backend.ts";
import { CanBridge } from "./_server/bridge.ts";
import { SocketCanBackend } from "./_server/socketcan_backend.ts";
import type { Limits } from "./_server/limits.ts";
import { DEFAULT_PORT } from "./protocol.ts";
import { main } from "./_server/cli.ts";

export type { Backend } from "./_server/backend.ts";
export { VirtualBackend } from "./_server/backend.ts";
export type { Limits } from "./_server/limits.ts";
export { DEFAULT_LIMITS } from "./_server/limits.ts";

/** Options of {@linkcode serve}. */
export interface ServeOptions extends Partial<Limits> {
  /**
   * Interface to share when no `backend` is given.
   * @default {"virtual"}
   */
  interface?: "virtual" | "socketcan";
  /**
   * Channels to share; the first one is also served at `/`.
   * @default {["0"]} for virtual, `["can0"]` for socketcan
   */
  channels?: (string | number)[];
  /** A ready backend; overrides `interface` and `channels`. */
  backend?: Backend;
  /**
   * Address to listen on.
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /**
   * TCP port; 0 picks a free one.
   * @default {54701}
   */
  port?: number;
  /** PEM certificate chain for wss:// and https:// (with `key`). */
  cert?: string;
  /** PEM private key for wss:// and https:// (with `cert`). */
  key?: string;
  /**
   * Most clients at once.
   * @default {256}
   */
  maxClients?: number;
}

/** A running server. */
export interface CanServer extends AsyncDisposable {
  /** WebSocket URL of the first channel, e.g. `ws://127.0.0.1:54701/`. */
  readonly url: string;
  /** URL of the web page, e.g. `http://127.0.0.1:54701/`. */
  readonly httpUrl: string;
  /** The listening address. */
  readonly addr: Deno.NetAddr;
  /** The backend whose buses the clients get. */
  readonly backend: Backend;
  /** Request routing and the live sessions. */
  readonly bridge: CanBridge;
  /** Closes every client with 1001, releases their buses and stops listening. */
  close(): Promise<void>;
}

/**
 * Starts a server.
 *
 * @param options Interface, channels, address, TLS and limits.
 * @returns The running server.
 * @throws {Deno.errors.AddrInUse} When the port is taken.
 * @example
 * ```ts
 * import { serve } from "./server.ts";
 * const server = await serve({ port: 0 });
 * await server.close();
 * ```
 */
export async function serve(options: ServeOptions = {}): Promise<CanServer> {
  const backend = options.backend ?? await createBackend(options);
  const bridge = new CanBridge({ ...options, backend });
  const tls = options.cert !== undefined && options.key !== undefined;
  const httpServer = Deno.serve({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? DEFAULT_PORT,
    onListen: () => {},
    ...(tls ? { cert: options.cert, key: options.key } : {}),
  }, bridge.fetch);
  const addr = httpServer.addr;
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  let closed: Promise<void> | undefined;
  const close = () =>
    closed ??= (async () => {
      await bridge.close();
      await httpServer.shutdown();
    })();
  return {
    url: `${tls ? "wss" : "ws"}://${host}:${addr.port}/`,
    httpUrl: `${tls ? "https" : "http"}://${host}:${addr.port}/`,
    addr,
    backend,
    bridge,
    close,
    [Symbol.asyncDispose]: close,
  };
}

// deno-lint-ignore require-await
async function createBackend(options: ServeOptions): Promise<Backend> {
  const name = options.interface ?? "virtual";
  if (name === "virtual") return new VirtualBackend(options.channels ?? ["0"]);
  if (name === "socketcan") {
    return SocketCanBackend.create((options.channels ?? ["can0"]).map(String), {
      bitrate: options.bitrate,
    });
  }
  throw new RangeError(`Unknown interface "${name}": use virtual or socketcan`);
}

if (import.meta.main) Deno.exit(await main(Deno.args));
