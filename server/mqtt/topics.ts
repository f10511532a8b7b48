/**
 * The MQTT topics of a canremote fleet and the `mqtt://` channel URLs that
 * name one gateway's channel (docs/fleet.md, "Topics").
 *
 * | topic | payload |
 * | --- | --- |
 * | `canremote/v1/{gateway}/{channel}/rx` | received frames, one binary `message_batch` per publish, QoS 0 |
 * | `canremote/v1/{gateway}/{channel}/tx` | frames to send, same encoding (obeyed with `--mqtt-tx`) |
 * | `canremote/v1/{gateway}/status` | retained JSON ({@linkcode GatewayStatus} in `status.ts`) |
 *
 * @module
 */

/** The first two levels of every topic; `v1` changes when the payloads do. */
export const TOPIC_ROOT = "canremote/v1";

/** Where a gateway's channel is: the broker's URL, the gateway and the channel. */
export interface FleetAddress {
  /** The broker, `mqtt://host:1883` or `mqtts://host:8883` (no path). */
  broker: string;
  /** The gateway's name (`--gateway`). */
  gateway: string;
  /** The channel the gateway shares. */
  channel: string;
}

// MQTT wildcards and the level separator cannot be part of a name, nor NUL
// (MQTT 3.1.1 sections 4.7 and 1.5.3).
// deno-lint-ignore no-control-regex
const NAME = /^[^/+#\u0000]+$/;

/**
 * Checks a gateway or channel name for use as one topic level.
 *
 * @param kind `"gateway"` or `"channel"`, for the message.
 * @param name The name.
 * @returns The name.
 * @throws {RangeError} When it is empty or holds `/`, `+`, `#` or NUL.
 * @example
 * ```ts
 * import { checkTopicName } from "./topics.ts";
 * checkTopicName("gateway", "bench-7");
 * try {
 *   checkTopicName("gateway", "lab/+");
 *   throw new Error("unreachable");
 * } catch (error) {
 *   if (!(error instanceof RangeError)) throw error;
 * }
 * ```
 */
export function checkTopicName(kind: string, name: string): string {
  if (typeof name !== "string" || !NAME.test(name)) {
    throw new RangeError(
      `A ${kind} name is one MQTT topic level without "/", "+" or "#", got ${JSON.stringify(name)}`,
    );
  }
  return name;
}

/**
 * The topic of received frames.
 *
 * @param gateway The gateway.
 * @param channel The channel.
 * @returns `canremote/v1/{gateway}/{channel}/rx`.
 * @example
 * ```ts
 * import { rxTopic } from "./topics.ts";
 * if (rxTopic("gw1", "can0") !== "canremote/v1/gw1/can0/rx") throw new Error();
 * ```
 */
export function rxTopic(gateway: string, channel: string): string {
  return `${TOPIC_ROOT}/${gateway}/${channel}/rx`;
}

/**
 * The topic of frames to send.
 *
 * @param gateway The gateway.
 * @param channel The channel.
 * @returns `canremote/v1/{gateway}/{channel}/tx`.
 * @example
 * ```ts
 * import { txTopic } from "./topics.ts";
 * if (txTopic("gw1", "can0") !== "canremote/v1/gw1/can0/tx") throw new Error();
 * ```
 */
export function txTopic(gateway: string, channel: string): string {
  return `${TOPIC_ROOT}/${gateway}/${channel}/tx`;
}

/**
 * The retained status topic of a gateway.
 *
 * @param gateway The gateway, or `"+"` to subscribe to every gateway's.
 * @returns `canremote/v1/{gateway}/status`.
 * @example
 * ```ts
 * import { statusTopic } from "./topics.ts";
 * if (statusTopic("+") !== "canremote/v1/+/status") throw new Error();
 * ```
 */
export function statusTopic(gateway: string): string {
  return `${TOPIC_ROOT}/${gateway}/status`;
}

/**
 * The gateway a status topic belongs to.
 *
 * @param topic A topic.
 * @returns The gateway, or `undefined` when `topic` is no status topic.
 * @example
 * ```ts
 * import { statusGateway } from "./topics.ts";
 * if (statusGateway("canremote/v1/gw2/status") !== "gw2") throw new Error();
 * if (statusGateway("canremote/v1/gw2/can0/rx") !== undefined) throw new Error();
 * ```
 */
export function statusGateway(topic: string): string | undefined {
  const parts = topic.split("/");
  return parts.length === 4 && `${parts[0]}/${parts[1]}` === TOPIC_ROOT && parts[3] === "status"
    ? parts[2]
    : undefined;
}

/**
 * Reads a fleet channel URL, `mqtt://HOST:PORT/GATEWAY/CHANNEL` (or
 * `mqtts://`; the port defaults to 1883 and 8883). A user name in the URL
 * (`mqtt://reader@broker/...`) is kept in `broker`; a password there is refused
 * so that it never shows in a process list or a log.
 *
 * @param text The URL.
 * @returns The broker URL, the gateway and the channel.
 * @throws {SyntaxError} When `text` is not a URL.
 * @throws {RangeError} When the scheme is not mqtt/mqtts, the path is not
 *   `/GATEWAY/CHANNEL`, or the URL holds a password.
 * @example
 * ```ts
 * import { parseFleetUrl } from "./topics.ts";
 * const where = parseFleetUrl("mqtt://broker.lab:1883/bench-7/can0");
 * if (where.broker !== "mqtt://broker.lab:1883" || where.gateway !== "bench-7") throw new Error();
 * if (where.channel !== "can0") throw new Error();
 * ```
 */
export function parseFleetUrl(text: string): FleetAddress {
  const url = parseBrokerUrl(text);
  const parts = url.pathname.split("/").slice(1).map(decodeURIComponent);
  if (parts.length !== 2 || parts[0] === "" || parts[1] === "") {
    throw new RangeError(
      `A fleet channel is mqtt://HOST:PORT/GATEWAY/CHANNEL, got ${JSON.stringify(text)}`,
    );
  }
  return {
    broker: brokerOrigin(url),
    gateway: checkTopicName("gateway", parts[0]),
    channel: checkTopicName("channel", parts[1]),
  };
}

/**
 * Reads a broker URL, `mqtt://HOST:PORT` or `mqtts://HOST:PORT`.
 *
 * @param text The URL; a path is allowed here and ignored by callers that do not need it.
 * @returns The parsed URL.
 * @throws {SyntaxError} When `text` is not a URL.
 * @throws {RangeError} When the scheme is not mqtt/mqtts or the URL holds a password.
 * @example
 * ```ts
 * import { parseBrokerUrl } from "./topics.ts";
 * if (parseBrokerUrl("mqtts://broker:8883").protocol !== "mqtts:") throw new Error();
 * ```
 */
export function parseBrokerUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new SyntaxError(`Not an MQTT broker URL: ${JSON.stringify(text)}`);
  }
  if (url.protocol !== "mqtt:" && url.protocol !== "mqtts:") {
    throw new RangeError(
      `An MQTT broker URL starts with mqtt:// or mqtts://, got ${JSON.stringify(text)}`,
    );
  }
  if (url.password !== "") {
    throw new RangeError(
      "Do not put the MQTT password in the URL: use --mqtt-password-file or CANREMOTE_MQTT_PASSWORD",
    );
  }
  return url;
}

/**
 * The broker part of a URL, with the default port filled in.
 * @param url A parsed mqtt:// or mqtts:// URL.
 * @returns `mqtt://[user@]host:port`.
 */
function brokerOrigin(url: URL): string {
  const port = url.port || (url.protocol === "mqtts:" ? "8883" : "1883");
  const user = url.username ? `${url.username}@` : "";
  return `${url.protocol}//${user}${url.hostname}:${port}`;
}
