// The one shape of every plain answer the server gives over HTTP: a status,
// a line of text, and the headers that go with it.

/**
 * A plain-text response: the body and a newline, as UTF-8.
 *
 * @param status The HTTP status.
 * @param body One line, without its newline.
 * @param headers More headers (`retry-after`, `www-authenticate`, ...).
 * @returns The response.
 * @example
 * ```ts
 * import { plainText } from "./plain_text.ts";
 * const response = plainText(429, "Too many failed access attempts", { "retry-after": "60" });
 * if (response.status !== 429 || response.headers.get("retry-after") !== "60") throw new Error();
 * if (await response.text() !== "Too many failed access attempts\n") throw new Error();
 * ```
 */
export function plainText(
  status: number,
  body: string,
  headers: Record<string, string> = {},
): Response {
  return new Response(body + "\n", {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...headers },
  });
}
