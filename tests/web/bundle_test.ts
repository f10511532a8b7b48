// The page's committed bundle and assets: fresh, served, and free of markup sinks.
import { assert, assertEquals } from "../_helpers/assert.ts";
import { buildBundle, BUNDLE_PATH } from "../../web/build.ts";
import { ASSETS } from "../../web/assets.ts";
import { CanBridge } from "../../server/http/bridge.ts";
import { VirtualBackend } from "../../server.ts";

Deno.test("web/app.bundle.js is what `deno bundle` makes of web/app.ts today", async () => {
  const fresh = new TextEncoder().encode(await buildBundle());
  const committed = await Deno.readFile(BUNDLE_PATH);
  assert(
    fresh.length === committed.length && fresh.every((byte, i) => byte === committed[i]),
    `web/app.bundle.js is stale (${committed.length} bytes committed, ${fresh.length} fresh): ` +
      "run `deno task build:web` and commit it",
  );
});

Deno.test("the page's code never turns text into markup", async () => {
  const sinks =
    /\binnerHTML\b|\bouterHTML\b|\binsertAdjacentHTML\b|\bdocument\.write\b|\bcreateContextualFragment\b/;
  const dir = new URL("../../web/", import.meta.url);
  for await (const entry of Deno.readDir(dir)) {
    if (!/\.(ts|js|html)$/.test(entry.name)) continue;
    const text = await Deno.readTextFile(new URL(entry.name, dir));
    assert(!sinks.test(text), `web/${entry.name} uses ${sinks.exec(text)?.[0]}`);
  }
});

Deno.test("the server serves the page, its script and style, all from itself", async () => {
  const bridge = new CanBridge({ backend: new VirtualBackend(["0"]) });
  const get = async (path: string) => {
    const response = bridge.fetch(new Request(`http://localhost${path}`));
    return {
      status: response.status,
      type: response.headers.get("content-type"),
      body: await response.text(),
    };
  };
  const page = await get("/");
  assertEquals(page.status, 200);
  const script = await get("/app.js");
  assertEquals([script.status, script.type], [200, "text/javascript; charset=utf-8"]);
  assertEquals(script.body, ASSETS.get("/app.js")!.body);
  assertEquals((await get("/style.css")).type, "text/css; charset=utf-8");
  assertEquals((await get("/favicon.svg")).type, "image/svg+xml");
  // Every URL the page names is the server's own: no CDN, nothing remote.
  const urls = [...page.body.matchAll(/\b(?:src|href)="([^"]*)"/g)].map((m) => m[1]);
  assert(urls.includes("/app.js") && urls.includes("/style.css"), urls.join(" "));
  for (const url of urls) {
    assert(ASSETS.has(url), `index.html refers to ${url}, which is not served`);
  }
  await bridge.close();
});
