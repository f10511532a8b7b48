// The server's fleet flags (--mqtt, --gateway, --mqtt-*), kept apart from
// the rest of the command line.

/** The fleet flags in `parseArgs` form. */
export const MQTT_OPTIONS = {
  mqtt: { type: "string" },
  gateway: { type: "string" },
  "mqtt-tx": { type: "boolean" },
  "mqtt-user": { type: "string" },
  "mqtt-password-file": { type: "string" },
  "mqtt-ca": { type: "string" },
  "mqtt-keepalive": { type: "string" },
  "mqtt-discover": { type: "string" },
  "mqtt-flush": { type: "string" },
} as const;

/** The usage lines of {@linkcode MQTT_OPTIONS}. */
export const MQTT_USAGE = `Fleet (MQTT, docs/fleet.md):
      --mqtt URL            also publish every channel to this broker, as a
                            gateway: mqtt://HOST:1883 or mqtts://HOST:8883
      --gateway NAME        the gateway's name in the topics  (default: host name)
      --mqtt-tx             send the frames published on the tx topics
                            (the broker's ACL decides who may publish there)
      --mqtt-user NAME      user name at the broker
      --mqtt-password-file FILE
                            the password (else CANREMOTE_MQTT_PASSWORD); never logged
      --mqtt-ca FILE        PEM CA certificate to trust for mqtts://
      --mqtt-keepalive S    seconds between pings; a dead gateway reads
                            offline after 1.5 times this        (default: 10)
      --mqtt-flush MS       longest a received frame waits for others before
                            its batch is published; longer costs less CPU per
                            frame on a slow gateway             (default: 10)
  -i mqtt -c mqtt://HOST:1883/GATEWAY/CHANNEL
                            a hub: re-share gateways' channels; repeat -c
      --mqtt-discover URL   with -i mqtt: serve every gateway that announces
                            itself on this broker, as GATEWAY/CHANNEL`;

/** The connection options the fleet flags give. */
export interface MqttFlagOptions {
  username?: string;
  passwordFile?: string;
  ca?: string;
  keepalive?: number;
  flushInterval?: number;
}

/**
 * Reads the credential and session flags.
 *
 * @param parsed The parsed flags.
 * @returns Options for MqttConnection, MqttGateway and MqttBackend.
 * @throws {RangeError} For a keep-alive that is not 1-65535 seconds or a flush interval
 *   that is not 0-60000 ms.
 * @throws {Deno.errors.NotFound} When the CA file does not exist.
 */
export function mqttFlagOptions(parsed: {
  "mqtt-user"?: string;
  "mqtt-password-file"?: string;
  "mqtt-ca"?: string;
  "mqtt-keepalive"?: string;
  "mqtt-flush"?: string;
}): MqttFlagOptions {
  const flush = parsed["mqtt-flush"];
  if (flush !== undefined && (!/^\d+$/.test(flush) || +flush > 60_000)) {
    throw new RangeError(`--mqtt-flush must be 0-60000 milliseconds, got "${flush}"`);
  }
  const keepalive = parsed["mqtt-keepalive"];
  // MQTT's keep-alive is a 16-bit number of seconds (MQTT 3.1.1 section 3.1.2.10).
  if (
    keepalive !== undefined && (!/^\d+$/.test(keepalive) || +keepalive < 1 || +keepalive > 65535)
  ) {
    throw new RangeError(`--mqtt-keepalive must be 1-65535 seconds, got "${keepalive}"`);
  }
  return {
    username: parsed["mqtt-user"],
    passwordFile: parsed["mqtt-password-file"],
    ca: parsed["mqtt-ca"] === undefined ? undefined : Deno.readTextFileSync(parsed["mqtt-ca"]),
    keepalive: keepalive === undefined ? undefined : Number(keepalive),
    flushInterval: flush === undefined ? undefined : Number(flush),
  };
}
