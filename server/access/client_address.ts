// Who a request comes from. Behind a reverse proxy every request arrives from
// the proxy's address; the proxy names the client in X-Forwarded-For. That
// header is only believed from a proxy the operator trusts: anyone else could
// write any address into it and so dodge the failed-attempt limit.

/** Where a request came from, as the server judges it. */
export interface ClientAddress {
  /** The client's host (an IP address), the key for per-address limits. */
  host: string;
  /** For logs: `host:port`, or the forwarded host with the proxy named. */
  label: string;
}

/**
 * Finds the client behind a request. When the direct peer is a trusted
 * proxy, the client is the right-most `X-Forwarded-For` entry that is not a
 * trusted proxy itself (entries further left were written by the client and
 * prove nothing); otherwise it is the direct peer and the header is ignored.
 *
 * @param peer The TCP peer (`hostname`, `port`), if known.
 * @param headers The request's headers.
 * @param trusted Addresses of trusted proxies, normalized with {@linkcode normalizeIp}.
 * @returns The client's host and a label for logs.
 * @example
 * ```ts
 * import { clientAddress } from "./client_address.ts";
 * const headers = new Headers({ "x-forwarded-for": "203.0.113.9, 198.51.100.7" });
 * const peer = { hostname: "127.0.0.1", port: 50123 };
 * const behind = clientAddress(peer, headers, new Set(["127.0.0.1"]));
 * if (behind.host !== "198.51.100.7") throw new Error(behind.host);
 * const direct = clientAddress(peer, headers, new Set());
 * if (direct.host !== "127.0.0.1" || direct.label !== "127.0.0.1:50123") throw new Error();
 * ```
 */
export function clientAddress(
  peer: { hostname: string; port: number } | undefined,
  headers: Headers,
  trusted: ReadonlySet<string>,
): ClientAddress {
  if (!peer) return { host: "unknown", label: "an unknown address" };
  const direct = {
    host: peer.hostname,
    label: peer.hostname.includes(":")
      ? `[${peer.hostname}]:${peer.port}`
      : `${peer.hostname}:${peer.port}`,
  };
  if (trusted.size === 0 || !trusted.has(normalizeIp(peer.hostname))) return direct;
  const hops = (headers.get("x-forwarded-for") ?? "").split(",").map((hop) => hop.trim());
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = normalizeIp(hops[i]);
    if (!isIp(hop)) break; // garbage, or "unknown": nothing to the left can be believed
    if (!trusted.has(hop)) return { host: hop, label: `${hop} (via proxy ${direct.label})` };
  }
  return direct;
}

/**
 * Normalizes an IP address for comparison: brackets and a zone id removed,
 * lower case, an IPv4-mapped IPv6 address as IPv4, IPv6 in its shortest form.
 * Anything that is not an IP address comes back trimmed and lower-cased.
 *
 * @param text An address as a header or the command line writes it.
 * @returns The normalized address.
 * @example
 * ```ts
 * import { normalizeIp } from "./client_address.ts";
 * if (normalizeIp("[::FFFF:10.0.0.1]") !== "10.0.0.1") throw new Error();
 * if (normalizeIp("2001:DB8:0:0::1") !== "2001:db8::1") throw new Error();
 * ```
 */
export function normalizeIp(text: string): string {
  const host = text.trim().replace(/^\[(.*)\]$/, "$1").replace(/%.*$/, "").toLowerCase();
  if (!host.includes(":")) return host;
  try {
    // URL's host parser writes IPv6 in its canonical shortest form.
    const canonical = new URL(`http://[${host}]/`).hostname.slice(1, -1);
    const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
    if (!mapped) return canonical;
    const [hi, lo] = [parseInt(mapped[1], 16), parseInt(mapped[2], 16)];
    return [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff].join(".");
  } catch {
    return host;
  }
}

/**
 * Whether a text is an IPv4 or IPv6 address (after {@linkcode normalizeIp}).
 *
 * @param text The text.
 * @returns `true` for an IP address.
 * @example
 * ```ts
 * import { isIp } from "./client_address.ts";
 * if (!isIp("192.0.2.1") || !isIp("2001:db8::1") || isIp("proxy.lab")) throw new Error();
 * ```
 */
export function isIp(text: string): boolean {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(text)) return text.split(".").every((n) => Number(n) < 256);
  if (!text.includes(":")) return false;
  try {
    new URL(`http://[${text}]/`);
    return true;
  } catch {
    return false;
  }
}
