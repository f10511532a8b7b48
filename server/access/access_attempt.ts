// One request that may reach the bus or the channel list, as seen from the
// failed-attempt limit: the address it counts under, whether that address
// is blocked (HTTP 429), and its refusals and failed attempts, each logged.
import type { Logger } from "@logtape/logtape";
import { addressKey, type AuthFailures } from "./auth_failures.ts";
import type { ClientAddress } from "./client_address.ts";
import { logText } from "./log_text.ts";
import { plainText } from "../http/plain_text.ts";

/**
 * The TCP peer of a request, if Deno still knows it.
 *
 * @param info What `Deno.serve` passed with the request.
 * @returns The peer's address, or `undefined` (no info, a Unix socket, a request already gone).
 * @example
 * ```ts
 * import { peerAddress } from "./access_attempt.ts";
 * if (peerAddress(undefined) !== undefined) throw new Error();
 * ```
 */
export function peerAddress(info: Deno.ServeHandlerInfo | undefined): Deno.NetAddr | undefined {
  try {
    const addr = info?.remoteAddr as Deno.NetAddr | undefined;
    return addr && "hostname" in addr ? addr : undefined;
  } catch {
    return undefined; // a request that is already gone
  }
}

/**
 * One request's access attempt: refusals are logged with the client's
 * address, wrong tokens are counted against it, and a warning says when it
 * reaches the limit.
 *
 * @example The second wrong token blocks the address
 * ```ts
 * import { AccessAttempt } from "./access_attempt.ts";
 * import { AuthFailures } from "./auth_failures.ts";
 * import { getLogger } from "@logtape/logtape";
 * const failures = new AuthFailures({ maxFailures: 2 });
 * const client = { host: "192.0.2.7", label: "192.0.2.7:50123" };
 * const first = new AccessAttempt(client, failures, getLogger("example"));
 * if (first.blocked() !== undefined) throw new Error("not blocked yet");
 * first.failed("wrong token (header)");
 * first.failed("wrong token (header)");
 * const next = new AccessAttempt(client, failures, getLogger("example"));
 * if (next.blocked()?.status !== 429) throw new Error("blocked");
 * ```
 */
export class AccessAttempt {
  /** Where the request came from, for logs. */
  readonly address: string;
  /** The key its failures count under ({@linkcode addressKey}). */
  readonly key: string;
  #failures: AuthFailures;
  #log: Logger;

  /**
   * @param client Who the request comes from.
   * @param failures The server's failed attempts per address.
   * @param log The server's logger.
   */
  constructor(client: ClientAddress, failures: AuthFailures, log: Logger) {
    this.address = client.label;
    this.key = addressKey(client.host);
    this.#failures = failures;
    this.#log = log;
  }

  /**
   * Refuses an address that made too many failed attempts.
   *
   * @returns HTTP 429 with `Retry-After` while the address is blocked, else `undefined`.
   */
  blocked(): Response | undefined {
    const wait = this.#failures.blockedFor(this.key);
    if (!(wait > 0)) return undefined;
    // Debug only: a blocked address knocking on must not flood the log.
    const seconds = String(Math.ceil(wait / 1000));
    this.#log.debug("Refused a request from {address} with 429 for {seconds} s", {
      address: this.address,
      seconds,
    });
    return plainText(429, `Too many failed access attempts; try again in ${seconds} s`, {
      "retry-after": seconds,
    });
  }

  /**
   * Refuses the request with an HTTP status, and logs it.
   *
   * @param status The status.
   * @param body Why, in one line.
   * @param headers More headers.
   * @returns The plain-text response.
   */
  refuse(status: number, body: string, headers: Record<string, string> = {}): Response {
    this.logRefusal(status, body);
    return plainText(status, body, headers);
  }

  /**
   * Logs a refusal: an HTTP status, or a close code right after the upgrade.
   *
   * @param status The status or close code.
   * @param reason Why; it may quote the request's Origin or headers.
   */
  logRefusal(status: number, reason: string): void {
    this.#log.info("Refused a WebSocket request from {address} with {status}: {reason}", {
      address: this.address,
      status,
      reason: logText(reason),
    });
  }

  /**
   * Counts a failed attempt (a wrong token, or one for another channel) against the address.
   *
   * @param why What failed, for the log (never the token).
   */
  failed(why: string): void {
    const count = this.#failures.record(this.key);
    this.#log.info("Failed access attempt {count} from {address}: {why}", {
      count,
      address: this.address,
      why: logText(why),
    });
    if (count === this.#failures.maxFailures) {
      this.#log.warn(
        "{address} made {count} failed access attempts: refused with 429 for {seconds} s",
        { address: this.key, count, seconds: Math.ceil(this.#failures.window / 1000) },
      );
    }
  }
}
