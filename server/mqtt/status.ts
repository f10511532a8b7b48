/**
 * The retained status a gateway publishes on `canremote/v1/{gateway}/status`,
 * and its reading by consumers and hubs (docs/fleet.md, "Status").
 *
 * @module
 */

/** One shared channel in a {@linkcode GatewayStatus}. */
export interface ChannelStatus {
  /** Nominal bit rate in bit/s, or `null` when the backend does not know it. */
  bitrate: number | null;
  /** The controller's health (error state and counters), or `null` when unknown. */
  health: unknown;
  /** Frames received from the bus. */
  rx: number;
  /** Frames published on the `rx` topic. */
  published: number;
  /** Frames dropped instead of published: broker unreachable or outgoing queue full. */
  dropped: number;
  /** Frames from the `tx` topic sent on the bus. */
  tx: number;
  /** Frames from the `tx` topic refused (undecodable, id not allowed, over the rate). */
  txRefused: number;
}

/** The JSON of a gateway's status topic. */
export interface GatewayStatus {
  /** `false` in the last will and after a clean shutdown. */
  online: boolean;
  /** The gateway's name. */
  gateway: string;
  /** canremote's version. */
  version?: string;
  /** The interface shared (`virtual`, `socketcan`, ...). */
  interface?: string;
  /** Whether the gateway obeys its `tx` topics (`--mqtt-tx`). */
  tx?: boolean;
  /** When the gateway started, ISO 8601. */
  started?: string;
  /** When this status was published, ISO 8601. */
  updated?: string;
  /** The channels, by name. */
  channels: Record<string, ChannelStatus>;
  /** Reconnections to the broker since the start. */
  reconnects?: number;
}

/**
 * Reads a status payload.
 *
 * @param payload The bytes of a status publish.
 * @returns The status, or `undefined` for an empty payload (a cleared retained message).
 * @throws {SyntaxError} When it is not JSON.
 * @throws {TypeError} When it is not a status object.
 * @example
 * ```ts
 * import { parseStatus } from "./status.ts";
 * const status = parseStatus(new TextEncoder().encode('{"online":false,"gateway":"gw1","channels":{}}'));
 * if (status?.online !== false) throw new Error();
 * ```
 */
export function parseStatus(payload: Uint8Array): GatewayStatus | undefined {
  if (payload.length === 0) return undefined;
  const value = JSON.parse(new TextDecoder().decode(payload));
  if (
    value === null || typeof value !== "object" || typeof value.online !== "boolean" ||
    typeof value.gateway !== "string"
  ) {
    throw new TypeError(
      `A gateway status is an object with "online" and "gateway", got ${
        JSON.stringify(value).slice(0, 80)
      }`,
    );
  }
  if (value.channels === null || typeof value.channels !== "object") value.channels = {};
  return value as GatewayStatus;
}
