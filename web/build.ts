/**
 * Builds `web/app.bundle.js`, the page's script, from `web/app.ts` and the
 * universal client modules it imports, with `deno bundle` (type-checked,
 * minified, for browsers). The bundle is committed because the server is
 * run from jsr: and from `deno compile`, where no bundler runs.
 *
 * ```sh
 * deno task build:web               # write web/app.bundle.js
 * deno run -A web/build.ts --check  # exit 1 when the committed bundle is stale
 * ```
 *
 * @module
 */

/** The generated bundle. */
export const BUNDLE_PATH: URL = new URL("./app.bundle.js", import.meta.url);
/** The page's entry module. */
export const ENTRY_PATH: URL = new URL("./app.ts", import.meta.url);

/** First lines of the bundle: it is generated, and fmt and lint leave it alone. */
export const BANNER = "// deno-fmt-ignore-file\n// deno-lint-ignore-file\n" +
  "// GENERATED from web/app.ts by web/build.ts (deno bundle --minify). Do not edit:\n" +
  "// run `deno task build:web` after changing web/*.ts or the client modules.\n";

/**
 * Bundles `web/app.ts` with the running Deno and returns the bundle's text.
 *
 * @returns The banner followed by the minified bundle.
 * @throws {Error} When `deno bundle` fails (a type error, a missing module); the message has its output.
 * @example
 * ```ts ignore
 * import { buildBundle } from "./build.ts";
 * const js = await buildBundle();
 * console.log(js.length);
 * ```
 */
export async function buildBundle(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "canremote-web-" });
  try {
    const out = `${dir}/app.js`;
    const root = new URL("..", import.meta.url);
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "bundle",
        "--check",
        "--platform",
        "browser",
        "--format",
        "esm",
        "--minify",
        "--output",
        out,
        ENTRY_PATH.pathname,
      ],
      cwd: root,
      env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
      stdout: "null",
      stderr: "piped",
    }).output();
    if (code !== 0) {
      throw new Error(`deno bundle failed (exit ${code}):\n${new TextDecoder().decode(stderr)}`);
    }
    return BANNER + await Deno.readTextFile(out);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const fresh = await buildBundle();
  let committed = "";
  try {
    committed = await Deno.readTextFile(BUNDLE_PATH);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  if (Deno.args.includes("--check")) {
    if (committed !== fresh) {
      console.error("web/app.bundle.js is stale: run `deno task build:web` and commit it");
      Deno.exit(1);
    }
    console.log(`web/app.bundle.js is up to date (${fresh.length} bytes)`);
  } else if (committed === fresh) {
    console.log(`web/app.bundle.js unchanged (${fresh.length} bytes)`);
  } else {
    await Deno.writeTextFile(BUNDLE_PATH, fresh);
    console.log(`wrote web/app.bundle.js (${fresh.length} bytes)`);
  }
}
