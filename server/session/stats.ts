/**
 * The counters of one client session, in a module of their own so the
 * session and the paths it owns (transmit, forward) share the type without
 * importing each other.
 *
 * @module
 */

/** Counters a session exposes for logs and the benchmark. */
export interface SessionStats {
  /** Frames from the client accepted for the bus. */
  received: number;
  /** Frames sent to the client. */
  sent: number;
  /** Frames dropped for the client because it read too slowly. */
  dropped: number;
  /** Frames from the client dropped over its transmit rate. */
  rateLimited: number;
  /** Error events for the client. */
  errors: number;
  /**
   * Frames from the client that never reached the bus, for any reason
   * (over the rate, transmit queue full, send failed); counted from the
   * session's start where the session reports losses.
   */
  notSent?: number;
}
