// Private: the server addresses RemoteBus accepts. Users copy the address the
// server prints for its web page (http://host:54701/) as often as its
// WebSocket URL, so the HTTP schemes name the same server.

const SCHEMES: Readonly<Record<string, string>> = Object.freeze({
  "ws:": "ws:",
  "wss:": "wss:",
  "http:": "ws:",
  "https:": "wss:",
});

/**
 * The WebSocket URL of a canremote server given as the user wrote it:
 * `ws://` and `wss://` as they are, `http://` as `ws://`, `https://` as
 * `wss://`, and `host:port/` without a scheme as `ws://host:port/`.
 *
 * @param url The server's address.
 * @returns The `ws://` or `wss://` URL.
 * @throws {SyntaxError} For another scheme or an address that is no URL, listing the accepted schemes.
 * @example
 * ```ts
 * import { websocketUrl } from "./url.ts";
 * if (websocketUrl("http://127.0.0.1:54701/") !== "ws://127.0.0.1:54701/") throw new Error();
 * if (websocketUrl("https://canbox.lab:54701/vcan0") !== "wss://canbox.lab:54701/vcan0") throw new Error();
 * if (websocketUrl("pi:54701") !== "ws://pi:54701/") throw new Error();
 * ```
 */
export function websocketUrl(url: string | URL): string {
  const text = String(url).trim();
  // "host:54701/" parses as scheme "host:"; only a "scheme://" is a scheme here.
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `ws://${text}`;
  let parsed: URL;
  try {
    parsed = new URL(withScheme);
  } catch {
    throw new SyntaxError(
      `${JSON.stringify(text)} is not a server address; write ws://HOST:54701/ ` +
        `(or wss://, http://, https://)`,
    );
  }
  const scheme = SCHEMES[parsed.protocol];
  if (scheme === undefined) {
    throw new SyntaxError(
      `${JSON.stringify(text)}: the scheme ${JSON.stringify(parsed.protocol.slice(0, -1))} ` +
        `is not one a canremote server speaks; use ws://, wss://, http:// or https://`,
    );
  }
  // Changing a special scheme to another special one keeps the rest as it was.
  parsed.protocol = scheme;
  return parsed.href;
}
