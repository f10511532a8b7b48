// Driving the web page in Debian's Chromium, headless, with playwright-core.
import { type Browser, chromium, type Page } from "playwright-core";

/** Debian's Chromium; tests that need it say so with requires("chromium"). */
export const CHROMIUM = "/usr/bin/chromium";

/** A headless Chromium with the flags the project uses everywhere. */
export async function launch(): Promise<Browser> {
  return await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // playwright gives every launch a fresh temporary profile (user-data-dir) and removes it.
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

/** Evaluates an expression in the page (the page exposes `canremote` for tests). */
export function read<T>(page: Page, expression: string): Promise<T> {
  return page.evaluate(expression) as Promise<T>;
}

/**
 * Waits until an expression in the page is true. Polled from here: the
 * page's Content-Security-Policy forbids the eval that waitForFunction needs.
 */
export async function until(page: Page, expression: string, timeout = 5000): Promise<void> {
  const deadline = performance.now() + timeout;
  while (!(await page.evaluate(expression))) {
    if (performance.now() > deadline) {
      throw new Error(`Timed out after ${timeout} ms waiting for ${expression}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Retries `check` until it passes or `ms` run out, then throws its last error. */
export async function eventually(check: () => Promise<void>, ms = 3000): Promise<void> {
  const deadline = performance.now() + ms;
  while (true) {
    try {
      return await check();
    } catch (error) {
      if (performance.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
  }
}
