// Private: waits of any length, for the client's timeouts, back-off and
// periodic tasks and for the command-line tools. Universal code (no Deno.*).

/**
 * The longest delay `setTimeout()` honours: 2^31 - 1 ms, about 24.8 days.
 * Browsers, Deno and Node run a timer with a longer delay at once.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Calls `callback` after `ms` milliseconds, as `setTimeout()` does, for
 * delays of any length: one beyond {@linkcode MAX_TIMER_MS} is waited out in
 * steps instead of running at once. `Infinity` never calls it.
 *
 * @param ms The delay; like `setTimeout()`, a negative or `NaN` one is 0.
 * @param callback Called once the delay is over.
 * @returns A function that cancels the call, like `clearTimeout()`.
 * @example
 * ```ts
 * import { after } from "./_sleep.ts";
 * let called = false;
 * const cancel = after(2 ** 31, () => called = true); // not at once: in about 24.9 days
 * await new Promise((resolve) => setTimeout(resolve, 20));
 * cancel();
 * if (called) throw new Error("a long delay ran at once");
 * ```
 */
export function after(ms: number, callback: () => void): () => void {
  let timer: ReturnType<typeof setTimeout>;
  const arm = (left: number) => {
    timer = left > MAX_TIMER_MS
      ? setTimeout(() => arm(left - MAX_TIMER_MS), MAX_TIMER_MS)
      : setTimeout(callback, left);
  };
  arm(ms);
  return () => clearTimeout(timer);
}

/**
 * Resolves after `ms` milliseconds (`Infinity`: when `signal` aborts), or at
 * once when `signal` aborts.
 *
 * @param ms The wait, of any length.
 * @param signal Cuts the wait short.
 * @returns A promise that resolves (never rejects) when the wait is over.
 * @example
 * ```ts
 * import { sleep } from "./_sleep.ts";
 * const controller = new AbortController();
 * const waiting = sleep(Infinity, controller.signal);
 * controller.abort();
 * await waiting;
 * ```
 */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      cancel?.();
      signal.removeEventListener("abort", done);
      resolve();
    };
    const cancel = ms === Infinity ? undefined : after(ms, done);
    signal.addEventListener("abort", done, { once: true });
  });
}
