/**
 * Starting a server: the backend, the access rules, the HTTP listener and the
 * bridge between them. The CLI (cli.ts) and the package entry (server.ts)
 * both call {@linkcode serve}.
 *
 * @module
 */

import { type Backend, VirtualBackend } from "./backends/backend.ts";
import { CanBridge } from "./http/bridge.ts";
import type { DbcFile } from "./http/dbc_list.ts";
import { listen, type Listener } from "./http/node_listener.ts";
import { raiseNofileLimit, readNofileLimit } from "./nofile_limit.ts";
import { SocketCanBackend, type SocketCanBackendOptions } from "./backends/socketcan.ts";
import type { Limits } from "./limits.ts";
import { DEFAULT_PORT } from "../core/protocol.ts";
import { getLogger } from "@logtape/logtape";
import { exposure, readTokensFile, type TokenEntry, TokenTable } from "./access/auth.ts";
import { RelayBackend } from "./backends/relay.ts";
import { createBus } from "../config/create_bus.ts";
import { websocketUrl } from "../client/url.ts";
import { channelName } from "../core/_channel_name.ts";

/** Options of {@linkcode serve}. */
export interface ServeOptions extends Partial<Limits> {
  /**
   * Interface to share when no `backend` is given; `remote` relays another
   * server (its URL is the one entry of `channels`).
   * @default {"virtual"}
   */
  interface?: "virtual" | "socketcan" | "remote";
  /**
   * remote: more of the upstream's `bus_request` config (python-can names:
   * `bitrate`, `fd`, `token`, ...).
   */
  upstreamConfig?: Record<string, unknown>;
  /**
   * Channels to share; the first one is also served at `/`.
   * @default {["0"]} for virtual, `["can0"]` for socketcan
   */
  channels?: (string | number)[];
  /** A ready backend; overrides `interface` and `channels`. */
  backend?: Backend;
  /**
   * For `interface: "socketcan"`: the link settings (data bit rate, FD,
   * restart-ms, listen-only) set with the `bitrate` before the links are
   * brought up. Without any, the server never changes a link.
   */
  socketcan?: SocketCanBackendOptions;
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
   * Most clients admitted at once (authenticated, or on a server without
   * tokens past their `bus_request`); more get HTTP 503 before upgrading, or
   * close 1013 if the server filled up while they waited.
   * @default {256}
   */
  maxClients?: number;
  /**
   * Most connections waiting to be admitted at once (no valid token in the
   * upgrade request yet, or no `bus_request` yet on a server without tokens);
   * more get HTTP 503. They do not count towards `maxClients`.
   * @default {128}
   */
  maxPending?: number;
  /**
   * Milliseconds a connection has to send its whole request head; then it
   * is closed; with `cert`, the TLS handshake counts towards it.
   * @default {10000}
   */
  headerTimeout?: number;
  /**
   * Most connections at once that have not yet sent a whole request head
   * (idle and half-open ones, slowloris); more are closed at once. They do
   * not count towards `maxClients` or `maxPending`.
   * @default {512}
   */
  maxConnections?: number;
  /**
   * Raise the process's soft open-file limit to its hard one at start.
   * @default {true}
   */
  raiseFileLimit?: boolean;
  /**
   * Wrong tokens one remote address may present within `authFailureWindow`;
   * after that, its upgrades and `/api/channels` requests get HTTP 429 until
   * the window ends. `Infinity` turns the limit off.
   * @default {10}
   */
  maxAuthFailures?: number;
  /**
   * The window of `maxAuthFailures`, in milliseconds.
   * @default {60000}
   */
  authFailureWindow?: number;
  /**
   * Access tokens: a string is a read-write token for every channel. When
   * tokens are given (here or by `tokensFile`), every client needs one.
   * @default {undefined}
   */
  tokens?: (string | TokenEntry)[];
  /**
   * A tokens file, one `TOKEN ROLE [CHANNEL,...]` per line (ROLE `rw` or
   * `ro`), read at start and again on `reloadTokens()` and on SIGHUP.
   * @default {undefined}
   */
  tokensFile?: string;
  /**
   * Reload `tokensFile` when the process gets SIGHUP (not on Windows).
   * @default {true}
   */
  reloadOnSighup?: boolean;
  /**
   * Allow listening on a non-loopback address without access tokens: anyone
   * who can reach the port can then send frames to the bus.
   * @default {false}
   */
  insecure?: boolean;
  /**
   * Origins whose web pages may open WebSockets besides the server's own
   * (`"https://dash.lab:8443"`; `"*"` for all). Browsers from any other
   * origin get HTTP 403 (cross-site WebSocket hijacking).
   * @default {[]}
   */
  allowOrigins?: string[];
  /**
   * IP addresses of reverse proxies in front of the server, e.g.
   * `["127.0.0.1"]` for nginx on the same machine. A request from one of
   * them counts as coming from the client its `X-Forwarded-For` names, for
   * the failed-attempt limit and the logs; from anyone else the header is
   * ignored, since a client could write any address into it.
   * @default {[]}
   */
  trustedProxies?: string[];
  /**
   * DBC files the web page offers for decoding signals, served at
   * `GET /api/dbc`: a name and the file's text each.
   * @default {[]}
   */
  dbcFiles?: DbcFile[];
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
  /**
   * Request routing and the live sessions, for canremote's own tests; not a
   * stable API.
   * @internal
   */
  readonly bridge: CanBridge;
  /**
   * Reads `tokensFile` again and applies it: clients whose token was removed
   * are closed with 4401. On an error the tokens in force stay.
   * @throws {SyntaxError} / {RangeError} / {Deno.errors.NotFound} For a bad file.
   */
  reloadTokens(): Promise<void>;
  /** Closes every client with 1001, releases their buses and stops listening. */
  close(): Promise<void>;
  /**
   * After `close()`: waits (up to a second) until the clients' close frames
   * have reached the kernel, for a process that exits next.
   * @internal
   */
  flushed(): Promise<void>;
}

/**
 * Starts a server.
 *
 * @param options Interface, channels, address, TLS and limits.
 * @returns The running server.
 * @throws {TypeError} When `hostname` is not a loopback address and neither
 *   tokens nor `insecure` are given, or only one of `cert` and `key` is.
 * @throws {SyntaxError} / {RangeError} For a bad token or tokens file.
 * @throws {Deno.errors.AddrInUse} When the port is taken.
 * @throws {RangeError} For `interface: "remote"` without exactly one upstream URL, or with
 *   this server's own address (a relay of itself).
 * @throws {Error} `Cannot reach the upstream server ...` when a relay's upstream does not answer.
 * @example
 * ```ts
 * import { serve } from "../server.ts";
 * const server = await serve({ port: 0 });
 * await server.close();
 * ```
 * @example With access tokens: read-write for the operator, read-only for a dashboard
 * ```ts
 * import { serve } from "../server.ts";
 * import { RemoteBus } from "../client.ts";
 * import { RemoteError } from "../core/errors.ts";
 * await using server = await serve({
 *   port: 0,
 *   tokens: ["operator-3c9f1e7a55", { token: "dashboard-8b2d04c1e9", role: "ro" }],
 * });
 * await using dashboard = await RemoteBus.connect(server.url, { token: "dashboard-8b2d04c1e9" });
 * const refused = await RemoteBus.connect(server.url).catch((e) => e);
 * if (!(refused instanceof RemoteError) || refused.code !== 4401) throw refused;
 * ```
 */
export async function serve(options: ServeOptions = {}): Promise<CanServer> {
  const log = getLogger(["canremote", "server"]);
  const hostname = options.hostname ?? "127.0.0.1";
  if ((options.cert === undefined) !== (options.key === undefined)) {
    throw new TypeError("cert and key go together");
  }
  const tls = options.cert !== undefined && options.key !== undefined;
  // A relay learns its channel's name from the upstream, so it connects first.
  const relay = options.backend === undefined && options.interface === "remote"
    ? await createRelay(options, hostname)
    : undefined;
  const channels = (relay?.channels ?? options.backend?.channels ??
    options.channels ?? [options.interface === "socketcan" ? "can0" : "0"]).map(String);
  const loadTokens = async (): Promise<TokenTable | undefined> => {
    if (options.tokens === undefined && options.tokensFile === undefined) return undefined;
    const entries: TokenEntry[] = (options.tokens ?? []).map((t, i) =>
      typeof t === "string" ? { token: t, role: "rw", label: `token ${i + 1}` } : t
    );
    if (options.tokensFile !== undefined) {
      const file = await readTokensFile(options.tokensFile, channels);
      if (file.warning) log.warn("{warning}", { warning: file.warning });
      entries.push(...file.entries);
    }
    return new TokenTable(entries);
  };
  let tokens: TokenTable | undefined;
  let access: ReturnType<typeof exposure>;
  let backend: Backend;
  let bridge: CanBridge;
  let httpServer: Pick<Listener, "addr" | "close" | "flushed">;
  // Only a backend serve() created is serve()'s to close.
  let owned: Backend | undefined = relay;
  try {
    tokens = await loadTokens();
    access = exposure({ hostname, tokens, insecure: options.insecure ?? false, tls });
    if (access.refusal) throw new TypeError(access.refusal);
    backend = options.backend ?? relay ?? await createBackend(options);
    if (options.backend === undefined) owned = backend;
    bridge = new CanBridge({ ...options, backend, tokens, hostname });
    const fileLimit = (options.raiseFileLimit ?? true)
      ? await raiseNofileLimit()
      : readNofileLimit()?.soft ?? null;
    if (fileLimit !== null) log.info("Open file limit: {limit}", { limit: fileLimit });
    const headerTimeout = options.headerTimeout ?? 10_000;
    if (!(headerTimeout > 0)) {
      throw new RangeError(`headerTimeout must be a positive number of ms, got ${headerTimeout}`);
    }
    const maxConnections = options.maxConnections ?? 512;
    if (!(maxConnections >= 1)) {
      throw new RangeError(`maxConnections must be at least 1, got ${maxConnections}`);
    }
    httpServer = await listen(bridge, {
      hostname,
      port: options.port ?? DEFAULT_PORT,
      headerTimeout,
      maxConnections,
      fileLimit: fileLimit ?? undefined,
      tls: tls ? { cert: options.cert!, key: options.key! } : undefined,
      log,
    });
  } catch (error) {
    await owned?.close?.();
    throw error;
  }
  for (const warning of access.warnings) log.warn("{warning}", { warning });
  log.info("Access: {summary}", { summary: access.summary });
  const addr = httpServer.addr;
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  const reloadTokens = async () => {
    if (options.tokensFile === undefined) return;
    const table = (await loadTokens())!;
    bridge.setTokens(table);
    const { rw, ro } = table.counts;
    log.info("Reloaded {file}: {rw} read-write and {ro} read-only tokens", {
      file: options.tokensFile,
      rw,
      ro,
    });
  };
  const onHangUp = () => {
    reloadTokens().catch((error) => {
      log.error("Cannot reload the tokens, keeping those in force: {message}", {
        message: (error as Error).message,
      });
    });
  };
  const watch = options.tokensFile !== undefined && (options.reloadOnSighup ?? true) &&
    Deno.build.os !== "windows";
  if (watch) Deno.addSignalListener("SIGHUP", onHangUp);
  let closed: Promise<void> | undefined;
  const close = () =>
    closed ??= (async () => {
      if (watch) Deno.removeSignalListener("SIGHUP", onHangUp);
      await bridge.close();
      await httpServer.close();
      await owned?.close?.();
    })();
  return {
    url: `${tls ? "wss" : "ws"}://${host}:${addr.port}/`,
    httpUrl: `${tls ? "https" : "http"}://${host}:${addr.port}/`,
    addr,
    backend,
    bridge,
    reloadTokens,
    close,
    flushed: () => httpServer.flushed(),
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
      ...options.socketcan,
    });
  }
  throw new RangeError(
    `The server cannot share interface "${name}": use virtual, socketcan or remote`,
  );
}

// interface remote: one connection to the upstream server, shared by every client.
async function createRelay(options: ServeOptions, hostname: string): Promise<RelayBackend> {
  const [given, ...more] = (options.channels ?? []).map(String);
  if (given === undefined || more.length) {
    throw new RangeError(
      `interface remote relays one server: give its URL as the one channel, such as ws://gateway:54701/, got ${
        more.length ? `${more.length + 1} channels` : "none"
      }`,
    );
  }
  const url = websocketUrl(given);
  refuseLoop(url, hostname, options.port ?? DEFAULT_PORT);
  // Opened as the tools open a bus; the configuration was read already, so none is read again.
  const upstream = await createBus({
    interface: "remote",
    channel: url,
    bitrate: options.bitrate,
    config: options.upstreamConfig,
    env: {},
    configPath: [],
    // The relay outlives upstream restarts; clients hear of the loss and the return.
    reconnect: { initialDelay: 250, maxDelay: 5000 },
  }).catch((error) => {
    throw new Error(`Cannot reach the upstream server ${url}: ${(error as Error).message}`, {
      cause: error,
    });
  });
  return new RelayBackend(upstream, {
    channel: channelName(upstream) ?? "0",
    upstreamName: url,
  });
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]", "::1", "0.0.0.0", "[::]"]);

// A relay of itself would send each frame round and round.
function refuseLoop(url: string, hostname: string, port: number): void {
  const target = new URL(url);
  const targetPort = Number(target.port || (target.protocol === "wss:" ? 443 : 80));
  if (targetPort !== port || port === 0) return;
  const host = target.hostname.toLowerCase();
  let self = LOOPBACK.has(host) || host === hostname.toLowerCase();
  try {
    self ||= host === Deno.hostname().toLowerCase();
  } catch {
    // No permission to read the host name: the other checks stand.
  }
  if (self) {
    throw new RangeError(
      `The upstream ${url} is this server itself (listening on ${hostname}:${port}): ` +
        "a relay shares another server; check -c and the channel in ~/.canrc",
    );
  }
}
