// The web page's files, embedded in the module graph so they are served from
// jsr: and from a `deno compile` binary alike. app.bundle.js is generated
// from app.ts by web/build.ts (`deno task build:web`) and committed.
import indexHtml from "./index.html" with { type: "text" };
import appJs from "./app.bundle.js" with { type: "text" };
import styleCss from "./style.css" with { type: "text" };
import faviconSvg from "./favicon.svg" with { type: "text" };

/** A file the server serves over plain HTTP. */
export interface Asset {
  body: string;
  type: string;
}

/** Served files by URL path. */
export const ASSETS: ReadonlyMap<string, Asset> = new Map([
  ["/", { body: indexHtml, type: "text/html; charset=utf-8" }],
  ["/app.js", { body: appJs, type: "text/javascript; charset=utf-8" }],
  ["/style.css", { body: styleCss, type: "text/css; charset=utf-8" }],
  ["/favicon.svg", { body: faviconSvg, type: "image/svg+xml" }],
]);
