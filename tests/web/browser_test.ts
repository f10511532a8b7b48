// The web page in a real browser: Debian's Chromium, headless, driven by
// playwright-core. The page comes from a real server and talks to it over a
// real WebSocket; Deno clients on the same server send and receive.
import type { Download } from "playwright-core";
import { eventually, launch, read, until } from "../_helpers/browser.ts";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { requires } from "../_helpers/requires.ts";

const OUTPUT = new URL("../output/", import.meta.url);
import { type CanServer, serve, VirtualBackend } from "../../server.ts";
import { RemoteBus } from "../../client.ts";
import { VirtualBus, type VirtualNetwork } from "../../core/virtual_bus.ts";
import { type CanFrame, createFrame } from "../../core/frame.ts";
import { parseCandump } from "../../core/candump.ts";
import { startDemoTraffic } from "../../server/backends/demo.ts";

async function receiveUntil(
  bus: RemoteBus,
  accept: (frame: CanFrame) => boolean,
  ms = 3000,
): Promise<CanFrame> {
  const signal = AbortSignal.timeout(ms);
  while (true) {
    const frame = await bus.receive({ signal });
    if (accept(frame)) return frame;
  }
}

async function downloadText(download: Download): Promise<string> {
  const path = await download.path();
  return await Deno.readTextFile(path);
}

/** A frame's fields without its timestamp, channel and direction. */
function comparable(frame: CanFrame): Omit<CanFrame, "timestamp" | "channel" | "isRx"> {
  const { timestamp: _t, channel: _c, isRx: _r, ...rest } = frame;
  return rest;
}

function networkOf(server: CanServer): VirtualNetwork {
  const backend = server.backend;
  if (!(backend instanceof VirtualBackend)) throw new TypeError("expected the virtual backend");
  return backend.network;
}

function hex(frame: CanFrame): string {
  return Array.from(frame.data, (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test(
  "web page in Chromium: trace, transmit, filters, export, 10,000 frames/s, restart",
  requires("chromium"),
  async (t) => {
    let server: CanServer = await serve({ port: 0 });
    const port = server.addr.port;
    const origin = `127.0.0.1:${port}`;
    const browser = await launch();
    const buses: { close(): Promise<void> }[] = [];
    const problems: string[] = [];
    const foreign: string[] = [];
    try {
      const context = await browser.newContext({
        viewport: { width: 1440, height: 900 },
        colorScheme: "dark",
        acceptDownloads: true,
      });
      const page = await context.newPage();
      page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`));
      page.on("console", (message) => {
        // Chromium logs refused WebSocket connections while the server restarts.
        if (
          message.type() === "error" &&
          !/WebSocket connection|ERR_CONNECTION_REFUSED/.test(message.text())
        ) {
          problems.push(`console: ${message.text()}`);
        }
      });
      page.on("request", (request) => {
        if (!request.url().startsWith(`http://${origin}/`) && !request.url().startsWith("blob:")) {
          foreign.push(request.url());
        }
      });
      page.on("websocket", (ws) => {
        if (!ws.url().startsWith(`ws://${origin}/`)) foreign.push(ws.url());
      });

      const client = await RemoteBus.connect(server.url);
      buses.push(client);

      await t.step("loads from the server and connects back to it", async () => {
        await page.goto(server.httpUrl);
        await until(page, `canremote.state === "open"`);
        const info = await page.locator("#info").textContent();
        assertEquals(info, `virtual channel 0 on ws://${origin}/`);
        assertEquals(await page.locator("#state").textContent(), "open");
        // One channel: no picker.
        assertEquals(await page.locator("#channel-box").isHidden(), true);
      });

      await t.step("shows frames a Deno client sends, per ID and in the trace", async () => {
        await client.send(
          createFrame({
            arbitrationId: 0x123,
            isExtendedId: false,
            data: [0xde, 0xad, 0xbe, 0xef],
          }),
        );
        await client.send(
          createFrame({
            arbitrationId: 0x123,
            isExtendedId: false,
            data: [0xde, 0xad, 0xbe, 0xee],
          }),
        );
        await client.send(createFrame({ arbitrationId: 0x18fef100, data: [1, 2, 3] }));
        await client.send(
          createFrame({
            arbitrationId: 0x456,
            isExtendedId: false,
            isFd: true,
            bitrateSwitch: true,
            data: new Uint8Array(12).fill(0xab),
          }),
        );
        await client.send(
          createFrame({ arbitrationId: 0x7df, isExtendedId: false, isRemoteFrame: true, dlc: 8 }),
        );
        await client.send(
          createFrame({
            arbitrationId: 0x4,
            isExtendedId: false,
            isErrorFrame: true,
            data: new Uint8Array(8),
          }),
        );
        await until(page, "canremote.stats.received === 6");
        await until(page, `document.querySelectorAll("#ids-view .row:not([hidden])").length === 5`);
        const rows = await page.locator("#ids-view .row:not([hidden])").allTextContents();
        const row123 = rows.find((r) => r.startsWith("123"))!;
        assert(row123.includes("DEADBEEE"), row123); // bytes are spans without spaces between them
        assert(rows.some((r) => r.startsWith("18FEF100") && r.includes("EXT")), rows.join("\n"));
        assert(rows.some((r) => r.startsWith("456") && r.includes("FDBRS")), rows.join("\n"));
        assert(rows.some((r) => r.startsWith("7DF") && r.includes("RTR")), rows.join("\n"));
        assert(rows.some((r) => r.startsWith("004") && r.includes("ERR")), rows.join("\n"));
        // The byte that changed is highlighted, the others are not.
        const changed = await page.locator("#ids-view .row:not([hidden]) .b.chg").allTextContents();
        assertEquals(changed, ["EE"]);
        assertEquals(await read(page, "canremote.stats.errorFrames"), 1);
        const trace = await page.locator("#trace-view .row:not([hidden])").allTextContents();
        assertEquals(trace.length, 6);
        assert(
          trace[0].includes("DE AD BE EF") && trace[1].includes("DE AD BE EE"),
          trace.join("\n"),
        );
      });

      await t.step(
        "sends a frame typed in cansend syntax and one built with the form",
        async () => {
          await page.fill("#tx-text", "321#CAFE");
          await page.click("#tx-form button[type=submit]");
          const first = await receiveUntil(client, (f) => f.arbitrationId === 0x321);
          assertEquals([first.isExtendedId, hex(first)], [false, "cafe"]);
          // The form writes the cansend text, and Send sends it.
          await page.fill("#tx-id", "1ABCDE");
          await page.check("#tx-ext");
          await page.fill("#tx-data", "01 02 03");
          assertEquals(await page.inputValue("#tx-text"), "001ABCDE#010203");
          await page.click("#tx-form button[type=submit]");
          const second = await receiveUntil(client, (f) => f.arbitrationId === 0x1abcde);
          assertEquals([second.isExtendedId, hex(second)], [true, "010203"]);
          // A bad frame is refused in the page with can-utils' grammar message.
          await page.fill("#tx-text", "12#00");
          assert((await page.locator("#tx-error").textContent())!.includes('"12#00"'));
          await until(page, "canremote.stats.sent === 2");
        },
      );

      await t.step("runs a periodic frame: start, modify, stop", async () => {
        await page.fill("#tx-text", "0AB#01");
        await page.fill("#tx-period", "20");
        await page.click("#tx-add");
        for (let i = 0; i < 3; i++) {
          const frame = await receiveUntil(client, (f) => f.arbitrationId === 0xab);
          assertEquals(hex(frame), "01");
        }
        const row = page.locator("#periodic-list .periodic-row").first();
        assertEquals(await row.locator(".dot.on").count(), 1);
        await row.locator(".p-text").fill("0AB#02");
        await row.locator(".p-apply").click();
        await receiveUntil(client, (f) => f.arbitrationId === 0xab && hex(f) === "02");
        await row.locator(".p-toggle").click();
        assertEquals(await row.locator(".p-toggle").getAttribute("aria-label"), "Start");
        // Once stopped, at most the frames already in flight arrive.
        await new Promise((resolve) => setTimeout(resolve, 200));
        while (client.poll()) { /* drain */ }
        const late = await receiveUntil(client, (f) => f.arbitrationId === 0xab, 300).catch(() =>
          undefined
        );
        assertEquals(late, undefined);
        await row.locator(".p-remove").click();
        assertEquals(await page.locator("#periodic-list .periodic-row").count(), 0);
      });

      await t.step("filters by id, range, id/mask, kind and text", async () => {
        const total = await read<number>(page, "canremote.stats.recorded");
        // The page receives its own frames too (receive_own_messages): 321, 1ABCDE and the periodic 0AB.
        const ALL_IDS = ["004", "0AB", "123", "321", "456", "7DF", "001ABCDE", "18FEF100"];
        // What both views show, once the filter (applied 120 ms after typing) and a render are through.
        const expectShown = (count: number, ids: string[]) =>
          eventually(async () => {
            assertEquals(await read<number>(page, "canremote.stats.shown"), count);
            assertEquals(
              await page.locator("#ids-view .row:not([hidden]) .c-id").allTextContents(),
              ids,
            );
            // The trace's DOM holds the rows in view only.
            const traceRows = await page.locator("#trace-view .row:not([hidden])").count();
            assert(
              count > 10 ? traceRows > 10 && traceRows <= count : traceRows === count,
              `${traceRows} rows`,
            );
          });
        await page.fill("#filter-ids", "123");
        await expectShown(2, ["123"]);
        await page.fill("#filter-ids", "100-1FF");
        await expectShown(2, ["123"]);
        await page.fill("#filter-ids", "7D0/7F0, 456");
        await expectShown(2, ["456", "7DF"]);
        await page.fill("#filter-ids", "!123 !321");
        await expectShown(total - 3, ["004", "0AB", "456", "7DF", "001ABCDE", "18FEF100"]);
        await page.fill("#filter-ids", "12G");
        await eventually(async () =>
          assertEquals(await page.getAttribute("#filter-ids", "aria-invalid"), "true")
        );
        await page.fill("#filter-ids", "");
        await expectShown(total, ALL_IDS);
        // Kinds and id formats.
        await page.click("label:has(#k-fd)");
        await page.click("label:has(#k-rtr)");
        await expectShown(total - 2, ["004", "0AB", "123", "321", "001ABCDE", "18FEF100"]);
        await page.click("label:has(#k-fd)");
        await page.click("label:has(#k-rtr)");
        await page.click("label:has(#k-std)");
        await expectShown(3, ["004", "001ABCDE", "18FEF100"]); // error frames have no id format
        await page.click("label:has(#k-std)");
        // Text search over ID#DATA, the spaced bytes and the flags.
        await page.fill("#search", "cafe");
        await expectShown(1, ["321"]);
        await page.fill("#search", "ad be");
        await expectShown(2, ["123"]);
        await page.fill("#search", "brs");
        await expectShown(1, ["456"]);
        await page.fill("#search", "");
        await expectShown(total, ALL_IDS);
      });

      await t.step("pauses recording, sorts the per-ID rows", async () => {
        const recorded = await read<number>(page, "canremote.stats.recorded");
        const received = await read<number>(page, "canremote.stats.received");
        await page.click("#pause");
        assertEquals(await page.locator("#paused").isVisible(), true);
        await client.send(createFrame({ arbitrationId: 0x555, isExtendedId: false, data: [5] }));
        await until(page, `canremote.stats.received === ${received + 1}`);
        assertEquals(await read<number>(page, "canremote.stats.recorded"), recorded);
        await page.click("#pause");
        await client.send(createFrame({ arbitrationId: 0x555, isExtendedId: false, data: [6] }));
        await until(page, `canremote.stats.recorded === ${recorded + 1}`);
        // Sort by count, largest first, then by id again.
        await page.click("[data-sort=count]");
        assertEquals(await page.getAttribute("[data-sort=count]", "aria-sort"), "descending");
        await eventually(async () => {
          const counts = (await page.locator("#ids-view .row:not([hidden]) .c-count")
            .allTextContents())
            .map(Number);
          assertEquals(counts, [...counts].sort((a, b) => b - a));
          // The periodic 0AB the page sent comes first.
          assertEquals(
            await page.locator("#ids-view .row:not([hidden]) .c-id").first().textContent(),
            "0AB",
          );
        });
        await page.click("[data-sort=id]");
        await eventually(async () =>
          assertEquals(
            (await page.locator("#ids-view .row:not([hidden]) .c-id").allTextContents())[0],
            "004",
          )
        );
      });

      await t.step(
        "saves a candump -L log that parses back to the same frames, and the CSV",
        async () => {
          await page.click("#clear");
          await until(page, "canremote.stats.recorded === 0");
          const listener = await RemoteBus.connect(server.url);
          buses.push(listener);
          const sent = [
            createFrame({ arbitrationId: 0x100, isExtendedId: false, data: [] }),
            createFrame({
              arbitrationId: 0x7ff,
              isExtendedId: false,
              data: [1, 2, 3, 4, 5, 6, 7, 8],
            }),
            createFrame({ arbitrationId: 0x1fffffff, data: [0xff] }),
            createFrame({ arbitrationId: 0x0, isExtendedId: true, data: [0] }),
            createFrame({ arbitrationId: 0x200, isExtendedId: false, isRemoteFrame: true, dlc: 3 }),
            createFrame({
              arbitrationId: 0x300,
              isExtendedId: false,
              isFd: true,
              bitrateSwitch: true,
              data: Uint8Array.from({ length: 64 }, (_, i) => i),
            }),
            createFrame({
              arbitrationId: 0x301,
              isExtendedId: false,
              isFd: true,
              errorStateIndicator: true,
              data: [9, 8, 7],
            }),
            createFrame({
              arbitrationId: 0x10,
              isExtendedId: false,
              isErrorFrame: true,
              data: [0, 4, 0, 0, 0, 0, 0, 0],
            }),
          ];
          for (const frame of sent) await client.send(frame);
          const seen: CanFrame[] = [];
          for (let i = 0; i < sent.length; i++) {
            seen.push(await listener.receive({ signal: AbortSignal.timeout(3000) }));
          }
          await until(page, `canremote.stats.recorded === ${sent.length}`);
          const [download] = await Promise.all([
            page.waitForEvent("download"),
            page.click("#save-log"),
          ]);
          assert(
            /^candump-\d{8}-\d{6}\.log$/.test(download.suggestedFilename()),
            download.suggestedFilename(),
          );
          const log = await downloadText(download);
          const lines = log.trimEnd().split("\n");
          assertEquals(lines.length, sent.length);
          for (const [i, line] of lines.entries()) {
            assert(/^\(\d{10}\.\d{6}\) 0 \S+$/.test(line), line);
            const parsed = parseCandump(line);
            const expected = seen[i];
            assert(Math.abs(parsed.timestamp - expected.timestamp) < 1e-6, line);
            assertEquals(comparable(parsed), comparable(expected), line);
          }
          const [csvDownload] = await Promise.all([
            page.waitForEvent("download"),
            page.click("#save-csv"),
          ]);
          const csv = (await downloadText(csvDownload)).trimEnd().split("\r\n");
          assertEquals(csv[0], "id,extended,flags,dlc,data,count,period_ms,first_seen,last_seen");
          assertEquals(csv.length, 1 + sent.length);
          assert(
            csv.includes(csv.find((l) => l.startsWith("1FFFFFFF,1,,1,FF,1,,"))!),
            csv.join("\n"),
          );
          assert(csv.some((l) => l.startsWith("300,0,FD BRS,64,00 01 02")), csv.join("\n"));
          await listener.close();
        },
      );

      await t.step("keeps up with 10,000 frames/s with a bounded DOM", async () => {
        await client.close();
        await page.click("#clear");
        await page.selectOption("#time-mode", "delta");
        await until(page, "canremote.stats.recorded === 0");
        await page.evaluate("canremote.resetStallMeter()");
        const rendersBefore = await read<number>(page, "canremote.stats.renders");
        const sender = VirtualBus.open({ channel: "0", network: networkOf(server) });
        buses.push(sender);
        const seconds = 3;
        const rate = 10_000;
        let sent = 0;
        let worstLag = 0;
        const begin = performance.now();
        let nextSample = begin + 250;
        while (true) {
          const elapsed = performance.now() - begin;
          if (elapsed >= seconds * 1000) break;
          const due = Math.min(Math.floor(elapsed * rate / 1000), seconds * rate);
          while (sent < due) {
            await sender.send(createFrame({
              arbitrationId: 0x100 + (sent % 64),
              isExtendedId: false,
              data: [sent & 0xff, (sent >> 8) & 0xff, (sent >> 16) & 0xff, 0, 0, 0, 0, sent % 7],
            }));
            sent++;
          }
          if (performance.now() >= nextSample) {
            nextSample += 250;
            // Frames the server wrote to the page's socket that the page has not counted yet.
            const forwarded = [...server.bridge.sessions].reduce((n, s) => n + s.stats.sent, 0);
            const lag = forwarded - await read<number>(page, "canremote.stats.received");
            worstLag = Math.max(worstLag, lag);
          }
          await new Promise((resolve) => setTimeout(resolve, 4));
        }
        // A busy machine may have let the loop fall short: top it up to the full count.
        while (sent < seconds * rate) {
          await sender.send(createFrame({ arbitrationId: 0x100, isExtendedId: false, data: [0] }));
          sent++;
        }
        const sendSeconds = (performance.now() - begin) / 1000;
        await until(page, `canremote.stats.received >= ${sent}`, 10_000);
        const stats = await read<Record<string, number>>(
          page,
          "({...Object.fromEntries(Object.keys(Object.getOwnPropertyDescriptors(canremote.stats)).map((k) => [k, canremote.stats[k]]))})",
        );
        console.log(
          `sent ${sent} frames in ${sendSeconds.toFixed(2)} s; page: ${JSON.stringify(stats)}; ` +
            `worst lag ${worstLag} frames`,
        );
        assertEquals(stats.received, sent);
        assertEquals(stats.recorded, sent);
        assertEquals(stats.dropped, 0);
        assertEquals(stats.ids, 64);
        assert(stats.domRows < 200, `DOM rows: ${stats.domRows}`);
        assert(await page.locator(".row").count() < 200);
        assert(worstLag < rate, `the page fell ${worstLag} frames behind`);
        assert(stats.maxStallMs < 1500, `the page's event loop stalled for ${stats.maxStallMs} ms`);
        assert(
          stats.renders - rendersBefore >= 10 * seconds,
          `only ${stats.renders - rendersBefore} renders`,
        );
        // The trace follows: the last row is the last frame.
        await page.waitForTimeout(100);
        const last = await page.locator("#trace-view .row:not([hidden]) .c-seq").allTextContents();
        assert(last.includes(String(sent)), `last rows: ${last.slice(-3).join(", ")}`);
        await page.selectOption("#time-mode", "absolute");
        await sender.close();
      });

      await t.step(
        "reconnects after a server restart and restores its periodic frame",
        async () => {
          await page.click("#clear");
          await page.fill("#tx-text", "5A5#A5");
          await page.fill("#tx-period", "50");
          await page.click("#tx-add");
          await server.close();
          await until(page, `canremote.state === "reconnecting"`);
          assertEquals(await page.locator("#state").textContent(), "reconnecting");
          // Two channels now: the page offers a picker after reconnecting. The
          // second one's name is markup, which must stay text.
          server = await serve({ port, channels: ["0", "<i>x</i>"] });
          await until(page, `canremote.state === "open"`, 10_000);
          const listener = await RemoteBus.connect(server.url);
          buses.push(listener);
          const periodic = await receiveUntil(listener, (f) => f.arbitrationId === 0x5a5);
          assertEquals(hex(periodic), "a5");
          await listener.send(
            createFrame({ arbitrationId: 0x42, isExtendedId: false, data: [4, 2] }),
          );
          await until(
            page,
            `canremote.stats.recorded >= 1 && document.querySelector("#ids-view").textContent.includes("042")`,
          );
          await page.locator("#periodic-list .p-remove").click();
          await listener.close();
        },
      );

      await t.step("lets the user pick another channel; names stay text", async () => {
        await until(page, `!document.querySelector("#channel-box").hidden`);
        assertEquals(await page.locator("#channel option").allTextContents(), ["0", "<i>x</i>"]);
        await page.selectOption("#channel", "<i>x</i>");
        await until(page, `canremote.channel === "<i>x</i>" && canremote.state === "open"`);
        const info = await page.locator("#info").textContent();
        assert(info!.startsWith("virtual channel <i>x</i> on ws://"), info!);
        assertEquals(await page.locator("#info i, option i").count(), 0);
        assert(new URL(page.url()).searchParams.get("channel") === "<i>x</i>", page.url());
        const other = await RemoteBus.connect(server.url + encodeURIComponent("<i>x</i>"));
        buses.push(other);
        await other.send(createFrame({ arbitrationId: 0x99, isExtendedId: false, data: [9] }));
        await until(page, "canremote.stats.recorded === 1");
        await other.close();
        await page.selectOption("#channel", "0");
        await until(page, `canremote.channel === "0" && canremote.state === "open"`);
      });

      await t.step(
        "counts the frames the server drops for a page that reads too slowly",
        async () => {
          // A server that buffers almost nothing per client: a burst overflows it at once.
          const tight = await serve({ port: 0, maxBufferedBytes: 512 });
          const other = await context.newPage();
          try {
            await other.goto(tight.httpUrl);
            await until(other, `canremote.state === "open"`);
            const burst = VirtualBus.open({ channel: "0", network: networkOf(tight) });
            for (let i = 0; i < 5000; i++) {
              burst.send(
                createFrame({ arbitrationId: 0x10, isExtendedId: false, data: [i & 0xff] }),
              );
            }
            await burst.close();
            await until(other, "canremote.stats.dropped > 0");
            const { dropped, received } = await read<Record<string, number>>(
              other,
              "({ dropped: canremote.stats.dropped, received: canremote.stats.received })",
            );
            await until(other, `canremote.stats.received === ${5000 - dropped}`);
            assert(received <= 5000 - dropped);
            await eventually(async () =>
              assertEquals(
                await other.locator("#st-dropped").textContent(),
                String(dropped).replace(/\B(?=(\d{3})+(?!\d))/g, "\u202f"),
              )
            );
          } finally {
            await other.close();
            await tight.close();
          }
        },
      );

      await t.step("asks for the access token of a server that needs one", async () => {
        const token = "web-page-test-token-4f9c2a";
        const guarded = await serve({ port: 0, tokens: [token] });
        const other = await context.newPage();
        try {
          await other.goto(guarded.httpUrl);
          await until(other, `!document.querySelector("#token-form").hidden`);
          assertEquals(await read<string>(other, "canremote.state"), "closed");
          await other.fill("#token", "not-the-token-at-all-0000");
          await other.click("#token-form button");
          await until(
            other,
            `!document.querySelector("#token-form").hidden && canremote.state === "closed"`,
          );
          assertEquals(await other.getAttribute("#token", "aria-invalid"), "true");
          await other.fill("#token", token);
          await other.click("#token-form button");
          await until(other, `canremote.state === "open"`);
          assertEquals(await other.locator("#token-form").isHidden(), true);
          // The token stays for the tab: a reload connects without asking.
          await other.reload();
          await until(other, `canremote.state === "open"`);
        } finally {
          await other.close();
          await guarded.close();
        }
      });

      await t.step("screenshots with demo traffic (tests/output/web-*.png)", async () => {
        await page.click("#clear");
        const demoBus = VirtualBus.open({ channel: "0", network: networkOf(server) });
        buses.push(demoBus);
        const stop = startDemoTraffic(demoBus);
        try {
          await page.fill("#tx-text", "7E0#0201050000000000");
          await page.fill("#tx-period", "500");
          await page.click("#tx-add");
          await page.fill("#tx-text", "18DAF110#0322F19000000000");
          await page.fill("#tx-period", "1000");
          await page.click("#tx-add");
          await page.fill("#tx-text", "123#DEADBEEF");
          await page.waitForTimeout(3500);
          await Deno.mkdir(OUTPUT, { recursive: true });
          await page.screenshot({ path: new URL("web-dark.png", OUTPUT).pathname });
          await page.emulateMedia({ colorScheme: "light" });
          await page.waitForTimeout(1100);
          await page.screenshot({ path: new URL("web-light.png", OUTPUT).pathname });
          assert(await read<number>(page, "canremote.stats.ids") >= 8);
        } finally {
          stop();
        }
      });

      assertEquals(problems, []);
      assertEquals(foreign, [], "the page must load nothing from outside its server");
    } finally {
      await browser.close();
      for (const bus of buses) await bus.close();
      await server.close();
    }
  },
);
