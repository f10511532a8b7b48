// The page's bus health card and error frames in words (web/health_panel.ts,
// web/trace_view.ts) in a real Chromium, fed by a real server whose channel
// health the test sets (tests/_helpers/watched_backend.ts).
import { chromium } from "playwright-core";
import { assertEquals } from "../_helpers/assert.ts";
import { requires } from "../_helpers/requires.ts";
import { serve } from "../../server.ts";
import { RemoteBus } from "../../client.ts";
import { createFrame } from "../../core/frame.ts";
import { WatchedBackend } from "../_helpers/watched_backend.ts";

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

Deno.test(
  "web page: the health card follows the bus state; error frames read as candump -e",
  requires("chromium"),
  async () => {
    const backend = new WatchedBackend();
    await using server = await serve({ port: 0, backend });
    const browser = await chromium.launch({
      executablePath: "/usr/bin/chromium",
      headless: true,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    });
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on("pageerror", (error) => problems.push(error.message));
      await page.goto(server.httpUrl);
      const badge = page.locator("#hl-state");
      await until(async () => (await badge.textContent()) === "error-active", "error-active");
      assertEquals(await badge.getAttribute("data-severity"), "0");
      assertEquals(await page.locator("#hl-bitrate").textContent(), "500 kbit/s @ 87.5 %");
      backend.set({
        ...backend.current,
        state: "bus-off",
        errorCounters: { tx: 256, rx: 0 },
        stats: { ...backend.current.stats!, busOff: 1, rxOverruns: 4 },
      });
      await until(async () => (await badge.textContent()) === "bus-off", "bus-off");
      assertEquals(await badge.getAttribute("data-severity"), "3");
      assertEquals(await page.locator("#hl-counters").textContent(), "tx 256 \u00b7 rx 0");
      assertEquals(await page.locator("#hl-overruns").textContent(), "4");
      // A controller's error frame in the trace: its bytes, then candump -e's words.
      await using sender = await RemoteBus.connect(server.url);
      await sender.send(createFrame({
        arbitrationId: 0x44,
        isExtendedId: false,
        isErrorFrame: true,
        data: [0, 0x20, 0, 0, 0, 0, 0x80, 0],
      }));
      const row = page.locator("#trace-view .c-data", { hasText: "bus-off" });
      await until(async () => (await row.count()) > 0, "the error frame in the trace");
      assertEquals(
        await row.first().textContent(),
        "00 20 00 00 00 00 80 00  controller-problem{tx-error-passive}, bus-off, error-counter-tx-rx{{128}{0}}",
      );
      assertEquals(problems, []);
    } finally {
      await browser.close();
    }
  },
);
