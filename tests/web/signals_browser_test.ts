// The page's signal features in a real Chromium, against a real server: a
// DBC file picked, dropped or offered by the server; decoded values in the
// per-ID table and the Signals panel; a live plot; frames sent from signal
// values, once and periodically. Ends with tests/output/web-signals.png
// (docs/signals.png is a copy of it).
import { Buffer } from "node:buffer";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { eventually, launch, read, until } from "../_helpers/browser.ts";
import { requires } from "../_helpers/requires.ts";
import { type CanServer, serve, VirtualBackend } from "../../server.ts";
import { RemoteBus } from "../../client.ts";
import { VirtualBus } from "../../core/virtual_bus.ts";
import { type CanFrame, createFrame } from "../../core/frame.ts";
import { DEMO_DBC, startDemoTraffic } from "../../server/backends/demo.ts";

const OUTPUT = new URL("../output/", import.meta.url);

async function receiveUntil(bus: RemoteBus, accept: (frame: CanFrame) => boolean) {
  const signal = AbortSignal.timeout(5000);
  while (true) {
    const frame = await bus.receive({ signal });
    if (accept(frame)) return frame;
  }
}

function virtualNetwork(server: CanServer) {
  if (!(server.backend instanceof VirtualBackend)) throw new TypeError("virtual backend expected");
  return server.backend.network;
}

const eec1 = (rpm: number) =>
  createFrame({
    arbitrationId: 0x0cf00400,
    data: [0xf0, 0x7d, 0x7d, (rpm * 8) & 0xff, (rpm * 8) >> 8, 0, 0xf0, 0x7d],
  });

Deno.test(
  "web page in Chromium: DBC files, decoded values, live plot, sending by signals",
  requires("chromium"),
  async (t) => {
    const server = await serve({ port: 0 });
    const browser = await launch();
    const problems: string[] = [];
    const client = await RemoteBus.connect(server.url);
    try {
      const context = await browser.newContext({
        viewport: { width: 1440, height: 900 },
        colorScheme: "dark",
      });
      const page = await context.newPage();
      page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`));
      page.on("console", (message) => {
        if (message.type() === "error") problems.push(`console: ${message.text()}`);
      });
      await page.goto(server.httpUrl);
      await until(page, `canremote.state === "open"`);

      await t.step(
        "a DBC file picked in the file dialog names messages and decodes them",
        async () => {
          assertEquals(await read<string[]>(page, "canremote.dbcFiles"), []);
          await page.setInputFiles("#dbc-input", {
            name: "vehicle.dbc",
            mimeType: "text/plain",
            buffer: Buffer.from(DEMO_DBC.text),
          });
          await until(page, `canremote.dbcFiles.includes("vehicle.dbc")`);
          await client.send(
            createFrame({ arbitrationId: 0x3e8, isExtendedId: false, data: [3, 0x81] }),
          );
          await until(
            page,
            `document.querySelector("#ids-view").textContent.includes("Transmission")`,
          );
          // A click on the row shows its signals under it.
          await page.click("#ids-view .row:not([hidden]) .c-name");
          await eventually(async () => {
            const rows = page.locator("#ids-view .row.sig:not([hidden])");
            const names = await rows.locator(".c-name").allTextContents();
            const values = await rows.locator(".c-data").allTextContents();
            assertEquals(names.map((name, i) => `${name} ${values[i]}`), [
              "Gear Third (3)",
              "EngineRunning On (1)",
              "BrakePressed Pressed (1)",
            ]);
          });
          await page.fill("#sig-search", "transmission gear");
          await eventually(async () => {
            const row = page.locator("#sig-list .sig-row");
            assertEquals(await row.count(), 1);
            assertEquals(await row.locator(".sig-value").textContent(), "Third (3)");
          });
        },
      );

      await t.step("a ticked signal is plotted live", async () => {
        await page.fill("#sig-search", "EEC1 EngineSpeed");
        // The list follows the search after a short pause.
        await eventually(async () => {
          assertEquals(await page.locator("#sig-list .sig-row").count(), 1);
          assertEquals(
            await page.locator("#sig-list .sig-row").getAttribute("data-key"),
            "EEC1.EngineSpeed",
          );
        });
        await page.check("#sig-list .sig-row input");
        await until(page, "canremote.stats.plotted === 1");
        for (const rpm of [800, 1200, 1600, 2000]) {
          await client.send(eec1(rpm));
          await new Promise((r) => setTimeout(r, 30));
        }
        await until(page, "canremote.stats.plotPoints > 1");
        assert(await page.locator("#plot canvas").count() > 0, "a canvas chart");
        const legend = await page.locator("#plot .u-legend").textContent();
        assert(legend?.includes("EEC1.EngineSpeed (rpm)"), legend ?? "");
        // The value shown is the decoded one: 2000 rpm is 0x3E80 × 0.125.
        await eventually(async () => {
          assertEquals(
            await page.locator("#sig-list .sig-row .sig-value").textContent(),
            "2000 rpm",
          );
        });
        // Live, then paused by the button, then live again.
        assertEquals(await page.getAttribute("#plot-live", "aria-pressed"), "true");
        await page.click("#plot-live");
        assertEquals(await page.getAttribute("#plot-live", "aria-pressed"), "false");
        await page.click("#plot-live");
        assertEquals(await page.getAttribute("#plot-live", "aria-pressed"), "true");
      });

      await t.step("sending from signal values, once and periodically", async () => {
        await page.click("#stx summary");
        await page.selectOption("#stx-message", "EEC1");
        await page.fill('#stx-fields [data-signal="EngineSpeed"]', "1500");
        await page.fill('#stx-fields [data-signal="ActualEngineTorque"]', "-10");
        await page.click('#stx-form button[type="submit"]');
        const sent = await receiveUntil(client, (f) => f.arbitrationId === 0x0cf00400);
        assertEquals([sent.isExtendedId, ...sent.data], [true, 0, 0, 115, 0xe0, 0x2e, 0, 0, 0]);
        // Out of range: the form says why and nothing is sent.
        await page.fill('#stx-fields [data-signal="EngineSpeed"]', "9000");
        await page.click('#stx-form button[type="submit"]');
        await eventually(async () => {
          const error = await page.locator("#stx-error").textContent();
          assert(
            error?.includes('Signal "EngineSpeed" of "EEC1" must be within 0-8031.875 rpm'),
            error ?? "",
          );
        });
        await page.selectOption("#stx-message", "Transmission");
        await page.selectOption('#stx-fields [data-signal="Gear"]', "Reverse");
        await page.click("#stx-add");
        const periodic = await receiveUntil(
          client,
          (f) => f.arbitrationId === 0x3e8 && f.data[0] === 7,
        );
        assertEquals([...periodic.data], [7, 0]);
        await receiveUntil(client, (f) => f.arbitrationId === 0x3e8 && f.data[0] === 7); // again
        assertEquals(await page.locator("#periodic-list .p-text").inputValue(), "3E8#0700");
        assertEquals(await page.locator("#periodic-list .p-period").inputValue(), "50"); // GenMsgCycleTime
        await page.click("#periodic-list .p-remove");
      });

      await t.step("a DBC file dropped on the page loads too; a bad one is reported", async () => {
        // Built in the page: a DataTransfer holding two files, as a drop brings them.
        const dropped = await page.evaluateHandle(`(() => {
        const transfer = new DataTransfer();
        transfer.items.add(new File(['BO_ 1383 Extra: 1 X\\n SG_ Level : 0|8@1+ (1,0) [0|0] "" X\\n'], "extra.dbc"));
        transfer.items.add(new File(["BO_ 1 Broken: 8 X\\nBO_ oops\\n"], "broken.dbc"));
        return transfer;
      })()`);
        await page.dispatchEvent("body", "drop", { dataTransfer: dropped });
        await until(page, `canremote.dbcFiles.includes("extra.dbc")`);
        assertEquals(await read<string[]>(page, "canremote.dbcFiles"), [
          "vehicle.dbc",
          "extra.dbc",
        ]);
        await eventually(async () => {
          const notice = await page.locator("#notice").textContent();
          assert(notice?.includes("broken.dbc: DBC line 2, column 5"), notice ?? "");
        });
        // Removing a file forgets its messages.
        await page.click('#dbc-files .dbc-chip:has-text("extra.dbc") button');
        await until(page, `!canremote.dbcFiles.includes("extra.dbc")`);
      });

      await t.step(
        "the server's --demo file loads by itself and plots at once (tests/output/web-signals.png)",
        async () => {
          await using demo = await serve({ port: 0, dbcFiles: [DEMO_DBC] });
          await using traffic = VirtualBus.open({ channel: "0", network: virtualNetwork(demo) });
          const stop = startDemoTraffic(traffic);
          const other = await context.newPage();
          try {
            await other.goto(demo.httpUrl);
            await until(other, `canremote.dbcFiles.includes("canremote-demo.dbc")`);
            await until(
              other,
              "canremote.stats.plotted === 2 && canremote.stats.plotPoints > 100",
              10_000,
            );
            await until(
              other,
              `document.querySelector("#ids-view").textContent.includes("WheelSpeeds")`,
            );
            await other.click('#ids-view .row:not([hidden]) .c-name:has-text("WheelSpeeds")');
            await other.fill("#sig-search", "speed");
            await other.waitForTimeout(1500);
            await Deno.mkdir(OUTPUT, { recursive: true });
            await other.screenshot({ path: new URL("web-signals.png", OUTPUT).pathname });
          } finally {
            stop();
            await other.close();
          }
        },
      );

      assertEquals(problems, []);
    } finally {
      await client.close();
      await browser.close();
      await server.close();
    }
  },
);
