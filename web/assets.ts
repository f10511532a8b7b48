// The web page's files, embedded in the module graph so they are served from
// jsr: and from a `deno compile` binary alike.
import indexHtml from "./index.html" with { type: "text" };

/** A file the server serves over plain HTTP. */
export interface Asset {
  body: string;
  type: string;
}

/** Served files by URL path. */
export const ASSETS: ReadonlyMap<string, Asset> = new Map([
  ["/", { body: indexHtml, type: "text/html; charset=utf-8" }],
]);
