// The web page's files, with headers that keep other sites from framing
// the page: it sends frames with one click (clickjacking). Pages of allowed
// origins may frame it, as they may connect.
import { ASSETS } from "../../web/assets.ts";
import { plainText } from "./plain_text.ts";

/**
 * The headers that say who may frame the page: its own origin and the
 * allowed ones (none when every origin is allowed), and no MIME sniffing.
 *
 * @param allowOrigins The server's allowed origins; `"*"` allows all.
 * @returns Headers for every asset.
 * @example
 * ```ts
 * import { framingHeaders } from "./serve_asset.ts";
 * const headers = framingHeaders(["https://dash.lab:8443"]);
 * if (headers["content-security-policy"] !== "frame-ancestors 'self' https://dash.lab:8443") {
 *   throw new Error(headers["content-security-policy"]);
 * }
 * if (framingHeaders([])["x-frame-options"] !== "SAMEORIGIN") throw new Error();
 * ```
 */
export function framingHeaders(allowOrigins: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = { "x-content-type-options": "nosniff" };
  if (allowOrigins.includes("*")) return headers;
  headers["content-security-policy"] = ["frame-ancestors 'self'", ...allowOrigins].join(" ");
  // For browsers without CSP level 2; it cannot name other origins.
  if (allowOrigins.length === 0) headers["x-frame-options"] = "SAMEORIGIN";
  return headers;
}

/**
 * Answers a request for one of the page's files: GET or HEAD only, 404 for
 * a path that is none of them.
 *
 * @param request The request.
 * @param url Its parsed URL.
 * @param framing Headers from {@linkcode framingHeaders}.
 * @returns The file, or a plain-text 404 or 405.
 * @example
 * ```ts
 * import { framingHeaders, serveAsset } from "./serve_asset.ts";
 * const request = new Request("http://localhost/", { method: "HEAD" });
 * const page = serveAsset(request, new URL(request.url), framingHeaders([]));
 * if (page.status !== 200 || page.headers.get("x-frame-options") !== "SAMEORIGIN") throw new Error();
 * const missing = new Request("http://localhost/nothing-here");
 * if (serveAsset(missing, new URL(missing.url), {}).status !== 404) throw new Error();
 * ```
 */
export function serveAsset(
  request: Request,
  url: URL,
  framing: Record<string, string>,
): Response {
  if (request.method !== "GET" && request.method !== "HEAD") {
    return plainText(405, `Method ${request.method} not allowed`);
  }
  const asset = ASSETS.get(url.pathname);
  if (!asset) return plainText(404, `Not found: ${url.pathname}`);
  return new Response(request.method === "HEAD" ? null : asset.body, {
    headers: { "content-type": asset.type, "cache-control": "no-cache", ...framing },
  });
}
