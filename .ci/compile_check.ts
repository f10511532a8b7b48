// Verifies that the server's module graph compiles with `deno compile`.
// This machine cannot download the `denort` base binary, so DENORT_BIN points
// at the running deno; the result is NOT a runnable server (README explains),
// but every module, npm package and embedded web asset had to resolve.
const out = await Deno.makeTempDir({ prefix: "canremote-compile-" });
try {
  const target = `${out}/canremote-server`;
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["compile", "-A", "--output", target, new URL("../server.ts", import.meta.url).pathname],
    env: { DENORT_BIN: Deno.execPath() },
  }).output();
  const stderr = new TextDecoder().decode(result.stderr);
  if (!result.success) {
    console.error(stderr);
    Deno.exit(1);
  }
  const size = (await Deno.stat(target)).size;
  console.log(
    `deno compile: server.ts compiled (${(size / 2 ** 20).toFixed(1)} MiB with the local base)`,
  );
} finally {
  await Deno.remove(out, { recursive: true });
}
