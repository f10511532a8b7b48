// The page on a fleet hub: the channel picker says which gateways are
// online, and follows one that goes offline.
import { chromium, type Page } from "playwright-core";
import { assertEquals } from "../_helpers/assert.ts";
import { requires } from "../_helpers/requires.ts";
import { startMosquitto } from "../_helpers/brokers.ts";
import { serve, VirtualBackend } from "../../server.ts";
import { MqttGateway } from "../../server/mqtt/gateway.ts";
import { MqttBackend } from "../../server/backends/mqtt.ts";

async function options(page: Page, expected: string[], ms = 15_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (true) {
    const texts = await page.locator("#channel option").allTextContents();
    if (JSON.stringify(texts) === JSON.stringify(expected)) return;
    if (performance.now() > deadline) assertEquals(texts, expected);
    await new Promise((r) => setTimeout(r, 100));
  }
}

Deno.test({
  name: "page on a hub: the channel picker shows online and offline gateways",
  ...requires("chromium", "mosquitto"),
  async fn() {
    await using broker = await startMosquitto();
    await using _line1 = await MqttGateway.start({
      broker: broker.url,
      gateway: "line-1",
      backend: new VirtualBackend(["can0"]),
    });
    const line2 = await MqttGateway.start({
      broker: broker.url,
      gateway: "line-2",
      backend: new VirtualBackend(["can0"]),
    });
    await using hub = await MqttBackend.create({ discover: broker.url });
    for (let i = 0; i < 250 && hub.channels.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await using server = await serve({ port: 0, backend: hub });
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
      await page.goto(server.httpUrl);
      await options(page, ["line-1/can0 (online)", "line-2/can0 (online)"]);
      await line2.close();
      await options(page, ["line-1/can0 (online)", "line-2/can0 (offline)"]);
    } finally {
      await browser.close();
      await line2.close();
    }
  },
});
