// The server as a user starts it: `deno run -A server.ts ...` in its own
// process, with demo traffic, and stopped with SIGTERM or SIGINT.
import { assert, assertEquals } from "../_helpers/assert.ts";
import { RemoteBus } from "../../client.ts";
import { BusClosedError, RemoteError } from "../../core/errors.ts";
import { CloseCode } from "../../core/protocol.ts";

const SERVER = new URL("../../server.ts", import.meta.url).pathname;

async function start(args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SERVER, "-p", "0", ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!/Web page: http:\/\/\S+/.test(out)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`server exited early: ${out}`);
    out += value;
  }
  const url = /Channel 0: (ws:\/\/\S+)/.exec(out)![1];
  const rest = (async () => {
    while (true) {
      const { value, done } = await reader.read();
      if (done) return out;
      out += value;
    }
  })();
  const stderr = new Response(child.stderr).text();
  return { child, url, output: () => rest, stderr };
}

Deno.test("server CLI: --demo traffic has 11-bit, 29-bit, FD and remote frames", async () => {
  const server = await start(["--demo"]);
  try {
    await using bus = await RemoteBus.connect(server.url);
    const kinds = new Set<string>();
    const deadline = Date.now() + 10_000;
    while (kinds.size < 4 && Date.now() < deadline) {
      const frame = await bus.receive({ signal: AbortSignal.timeout(5000) });
      if (frame.isRemoteFrame) kinds.add("remote");
      else if (frame.isFd) kinds.add("fd");
      else kinds.add(frame.isExtendedId ? "29-bit" : "11-bit");
    }
    assertEquals([...kinds].sort(), ["11-bit", "29-bit", "fd", "remote"]);
  } finally {
    server.child.kill("SIGTERM");
    await server.child.status;
    await server.output();
    await server.stderr;
  }
});

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.test(`server CLI: ${signal} closes every client with 1001 and exits 0`, async () => {
    const server = await start([]);
    const bus = await RemoteBus.connect(server.url);
    const pending = bus.receive();
    pending.catch(() => {});
    server.child.kill(signal);
    const status = await server.child.status;
    assertEquals(status.code, 0);
    let error: unknown;
    try {
      await pending;
    } catch (e) {
      error = e;
    }
    assert(error instanceof BusClosedError, String(error));
    assert(error.cause instanceof RemoteError);
    assertEquals(error.cause.code, CloseCode.GOING_AWAY);
    await bus.close();
    assert((await server.output()).includes(`${signal}: closing every client`));
    await server.stderr;
  });
}

Deno.test("server CLI: a bad flag value is refused with a message that quotes it", async () => {
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SERVER, "--port", "http"],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder().decode(result.stdout) + new TextDecoder().decode(result.stderr);
  assert(result.code !== 0, text);
  assert(text.includes('--port must be an integer 0-65535, got "http"'), text);
});

Deno.test("server CLI: link flags are checked before anything starts", async (t) => {
  const refused = async (args: string[], words: string) => {
    const result = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", SERVER, "-p", "0", ...args],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const text = new TextDecoder().decode(result.stdout) + new TextDecoder().decode(result.stderr);
    assertEquals(result.code, 1, text);
    assert(text.includes(words), text);
  };
  await t.step(
    "--data-bitrate needs --fd",
    () =>
      refused(
        ["-i", "socketcan", "--data-bitrate", "2000000"],
        "--data-bitrate 2000000 needs --fd",
      ),
  );
  await t.step(
    "link flags need socketcan",
    () =>
      refused(
        ["--listen-only"],
        "--fd, --data-bitrate, --restart-ms and --listen-only need -i socketcan",
      ),
  );
  await t.step(
    "--restart-ms takes an integer",
    () =>
      refused(["-i", "socketcan", "--restart-ms", "soon"], "--restart-ms must be an integer 0-"),
  );
});
