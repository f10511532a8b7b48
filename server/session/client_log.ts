// What one client's own text may put into the server's log: the tokens it
// presented and those in force are cut out, control characters escaped, the
// length bounded, and the error events it reports limited to a few a minute.
import type { Logger } from "@logtape/logtape";
import type { TokenTable } from "../access/auth.ts";
import { LogBudget, logText } from "../access/log_text.ts";

/**
 * Makes one client's text fit for the log, and rations the error events it
 * reports (logged at warning level: 5 a minute, then one line counts the rest).
 *
 * @example A token the client presented never reaches the log
 * ```ts
 * import { ClientLog } from "./client_log.ts";
 * import { getLogger } from "@logtape/logtape";
 * const clientLog = new ClientLog(7, getLogger("example"), () => null, "k8Jd-2mQ_x9");
 * const line = clientLog.safe('config {"token": "k8Jd-2mQ_x9"}\n');
 * if (line !== 'config {"token": "[token]"}\\n') throw new Error(line);
 * ```
 */
export class ClientLog {
  /** The session's id, named in every line. */
  readonly id: number;
  #log: Logger;
  #tokens: () => TokenTable | null;
  // Tokens this client presented, valid or not: cut from anything logged.
  #presented: string[] = [];
  // The error events a client reports are logged at warning level: a few a minute.
  #reports = new LogBudget(5, 60_000);

  /**
   * @param id The session's id.
   * @param log The server's logger.
   * @param tokens The tokens in force now, or `null` when the server requires none.
   * @param presented The token the upgrade request carried, if any.
   */
  constructor(
    id: number,
    log: Logger,
    tokens: () => TokenTable | null,
    presented?: string,
  ) {
    this.id = id;
    this.#log = log;
    this.#tokens = tokens;
    if (presented !== undefined) this.#presented.push(presented);
  }

  /**
   * Remembers a token the client presented (in its `bus_request` config), valid or not.
   *
   * @param token The token.
   */
  present(token: string): void {
    this.#presented.push(token);
  }

  /**
   * Client-chosen text for one log line: no tokens, no control characters, bounded.
   *
   * @param text The text.
   * @param max The most characters kept (as {@linkcode logText}).
   * @returns The text to log.
   */
  safe(text: string, max?: number): string {
    return logText(this.#redact(text), max);
  }

  /**
   * Logs an error event the client reported, within its budget.
   *
   * @param message The event's message.
   */
  report(message: string): void {
    if (!this.#reports.take()) return;
    this.flushReports();
    this.#log.warn("Client {id} reported: {message}", {
      id: this.id,
      message: this.safe(message),
    });
  }

  /** Logs how many reported errors were left out, if any (at the close, and before the next one). */
  flushReports(): void {
    const left = this.#reports.flush();
    if (left) {
      this.#log.warn("Client {id}: {count} more reported errors were not logged", {
        id: this.id,
        count: left,
      });
    }
  }

  // Error texts can quote what a client sent: never let a token through to a log.
  #redact(text: string): string {
    return this.#tokens()?.redact(text, this.#presented) ??
      (this.#presented.length ? text.split(this.#presented[0]).join("[token]") : text);
  }
}
