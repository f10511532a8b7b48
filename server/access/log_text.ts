// Text a client chose, on its way into the operator's log: a client must not
// be able to forge log lines (newlines), drive the terminal (escape codes) or
// fill the disk (long texts, many of them).

/** The longest client text a log line quotes, in characters. */
export const MAX_LOGGED_TEXT = 200;

/**
 * Makes client-chosen text safe for one log line: control characters
 * (C0, DEL, C1, and the Unicode line and paragraph separators) are written
 * as `\uXXXX` escapes (`\n`, `\r` and `\t` as such), and the text is cut to
 * `max` characters with a note of how many more there were.
 *
 * @param text The text.
 * @param max The most characters kept.
 * @returns One line of plain text.
 * @example
 * ```ts
 * import { logText } from "./log_text.ts";
 * const line = logText("hi\n06:33:00 [INF] forged \x1b[31mred");
 * if (line !== "hi\\n06:33:00 [INF] forged \\u001b[31mred") throw new Error(line);
 * if (logText("x".repeat(300), 10) !== "xxxxxxxxxx… (290 more characters)") throw new Error();
 * ```
 */
export function logText(text: string, max: number = MAX_LOGGED_TEXT): string {
  const cut = text.length > max ? text.slice(0, max) : text;
  const escaped = cut.replace(
    // deno-lint-ignore no-control-regex
    /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g,
    (c) =>
      c === "\n"
        ? "\\n"
        : c === "\r"
        ? "\\r"
        : c === "\t"
        ? "\\t"
        : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
  return cut === text ? escaped : `${escaped}… (${text.length - max} more characters)`;
}

/**
 * A per-client allowance of log lines: `limit` lines per `window`
 * milliseconds; what goes beyond is counted, so one summary line can say how
 * many were left out.
 *
 * @example
 * ```ts
 * import { LogBudget } from "./log_text.ts";
 * const budget = new LogBudget(2, 60_000);
 * const taken = [0, 1, 2, 3].map(() => budget.take(1000));
 * if (taken.join() !== "true,true,false,false") throw new Error(taken.join());
 * if (budget.take(62_000) !== true || budget.flush() !== 2 || budget.flush() !== 0) throw new Error();
 * ```
 */
export class LogBudget {
  readonly limit: number;
  readonly window: number;
  #start = -Infinity;
  #used = 0;
  #left = 0;

  /**
   * @param limit Lines per window.
   * @param window The window in milliseconds.
   */
  constructor(limit: number, window: number) {
    this.limit = limit;
    this.window = window;
  }

  /**
   * Whether one more line may be logged now; when not, it is counted.
   * @param now The time in milliseconds.
   * @returns `true` to log it.
   */
  take(now: number = Date.now()): boolean {
    if (now - this.#start >= this.window) {
      this.#start = now;
      this.#used = 0;
    }
    if (this.#used < this.limit) {
      this.#used++;
      return true;
    }
    this.#left++;
    return false;
  }

  /**
   * The lines left out since the last call, for a summary line.
   * @returns Their number; the count starts again at 0.
   */
  flush(): number {
    const left = this.#left;
    this.#left = 0;
    return left;
  }
}
