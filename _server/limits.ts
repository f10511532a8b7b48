// Every limit of a server is a named option with a documented default.

/** Limits and server-side choices that every session applies. */
export interface Limits {
  /**
   * Bytes queued for one client beyond which frames are dropped for it.
   * @default {1048576}
   */
  maxBufferedBytes: number;
  /**
   * Largest WebSocket message accepted from a client, in bytes; larger ones close with 1009.
   * @default {65536}
   */
  maxMessageSize: number;
  /**
   * Milliseconds a new connection has to send its bus_request (close 4408 after).
   * @default {10000}
   */
  requestTimeout: number;
  /**
   * Periodic tasks one client may run at once.
   * @default {64}
   */
  maxPeriodicTasks: number;
  /**
   * Shortest period of a periodic task, in seconds.
   * @default {0.001}
   */
  minPeriod: number;
  /**
   * Frames from one client waiting for the bus before new ones are refused.
   * @default {4096}
   */
  maxPendingSends: number;
  /**
   * Messages a client may send before its bus is open.
   * @default {1024}
   */
  maxPendingInput: number;
  /** Bit rate forced on every client's bus (from `--bitrate`). */
  bitrate?: number;
}

/** The defaults of {@linkcode Limits}. */
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxBufferedBytes: 1 << 20,
  maxMessageSize: 1 << 16,
  requestTimeout: 10_000,
  maxPeriodicTasks: 64,
  minPeriod: 0.001,
  maxPendingSends: 4096,
  maxPendingInput: 1024,
});
