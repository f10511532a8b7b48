// The server as a user starts it: `deno run -A server.ts ...` in its own
// process, with demo traffic, and stopped with SIGTERM or SIGINT.
import { assert, assertEquals } from "../_helpers/assert.ts";
import { RemoteBus } from "../../client.ts";
import { BusClosedError, RemoteError } from "../../core/errors.ts";
import { CloseCode } from "../../core/protocol.ts";
import { denoEnv } from "../_helpers/cli.ts";

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

Deno.test("server CLI: a bad --bitrate is worded as the tools word it; 0 is refused", async () => {
  for (const bitrate of ["fast", "0", "99999999999999999999"]) {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", SERVER, "-p", "0", "-b", bitrate],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const text = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
    assertEquals(code, 1, text);
    assert(
      text.includes(
        `--bitrate must be a bit rate in bit/s, such as 500000 or 500k, got "${bitrate}"`,
      ),
      text,
    );
    assert(!text.includes("9007199254740991"), text);
  }
});

Deno.test("server CLI: a ~/.canrc relaying this very server is refused with a clear message", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const home = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${home}/.canrc`,
      `[default]\ninterface = remote\nchannel = ws://localhost:${port}/\n`,
    );
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", SERVER, "-p", String(port)],
      stdout: "piped",
      stderr: "piped",
      env: denoEnv(home),
    }).output();
    const text = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
    assertEquals(code, 1, text);
    assert(text.includes(`interface remote from ${home}/.canrc:2 [default]`), text);
    assert(text.includes(`The upstream ws://localhost:${port}/ is this server itself`), text);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("server CLI: --demo and --dbc offer DBC files at /api/dbc; a bad one stops the start", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/mine.dbc`, 'BO_ 1 M: 1 X\n SG_ S : 0|8@1+ (1,0) [0|0] "" X\n');
    const server = await start(["--demo", "--dbc", `${dir}/mine.dbc`]);
    try {
      const page = server.url.replace(/^ws/, "http");
      const body = await (await fetch(new URL("/api/dbc", page))).json();
      assertEquals(body.files.map((f: { name: string }) => f.name), [
        "canremote-demo.dbc",
        "mine.dbc",
      ]);
      assert(body.files[0].text.includes("BO_ 2364539904 EEC1: 8 Engine"));
    } finally {
      server.child.kill("SIGTERM");
      await server.child.status;
      await server.output();
      await server.stderr;
    }
    await Deno.writeTextFile(`${dir}/bad.dbc`, "BO_ 1 M: 8 X\nBO_ oops\n");
    const result = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", SERVER, "-p", "0", "--dbc", `${dir}/bad.dbc`],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const text = new TextDecoder().decode(result.stdout) + new TextDecoder().decode(result.stderr);
    assertEquals(result.code, 1, text);
    assert(text.includes("bad.dbc: DBC line 2, column 5"), text);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
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
      refused(
        ["-i", "socketcan", "--restart-ms", "soon"],
        '--restart-ms must be a whole number, got "soon"',
      ),
  );
});
