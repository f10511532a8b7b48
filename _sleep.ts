// Private: a wait that an AbortSignal cuts short, for the client's back-off
// and the command-line tools. Universal code (no Deno.*).

/**
 * Resolves after `ms` milliseconds (`Infinity`: when `signal` aborts), or at
 * once when `signal` aborts. The caller keeps `ms` below 2^31, where
 * `setTimeout()` would fire at once.
 */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = ms === Infinity ? undefined : setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
