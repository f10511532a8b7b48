// Helpers for the command-line tool tests: a real server with a virtual
// network to put peers on, captured output, and python-can in a subprocess.
import { type CanServer, serve, type ServeOptions, VirtualBackend } from "../../server.ts";
import { VirtualBus, VirtualNetwork } from "../../core/virtual_bus.ts";
import type { CanFrame } from "../../core/frame.ts";
import type { ToolIo } from "../../cli/_common.ts";
import { assertEquals } from "./assert.ts";

export const PYTHON = "/usr/bin/python3";

/** A real server on port 0 whose channel "0" a test can join with {@linkcode TestServer.peer}. */
export interface TestServer extends AsyncDisposable {
  server: CanServer;
  network: VirtualNetwork;
  url: string;
  /** A virtual bus on the served channel. */
  peer(): VirtualBus;
  /** Waits until `n` clients (or peers) are on the channel. */
  clients(n: number): Promise<void>;
}

export async function startServer(options: ServeOptions = {}): Promise<TestServer> {
  const network = new VirtualNetwork();
  const server = await serve({ port: 0, backend: new VirtualBackend(["0"], network), ...options });
  return {
    server,
    network,
    url: server.url,
    peer: () => VirtualBus.open({ channel: "0", network }),
    clients: (n) => waitFor(() => network.channelSize("0") >= n, `${n} clients on the channel`),
    [Symbol.asyncDispose]: () => server.close(),
  };
}

/** The server's command line in its own process: `deno run -A server.ts -p 0 ARGS`. */
export interface ServerProcess {
  child: Deno.ChildProcess;
  /** Its stdout and stderr so far, as text. */
  output(): string;
  /** Waits up to 5 s for `pattern` in the output; its match, or null. */
  until(pattern: RegExp): Promise<RegExpExecArray | null>;
  /** Sends SIGTERM and waits for the exit and the last output. */
  stop(): Promise<void>;
}

export function spawnServer(args: string[]): ServerProcess {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../../server.ts", import.meta.url).pathname, "-p", "0", ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let output = "";
  const decoder = new TextDecoder();
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) output += decoder.decode(chunk, { stream: true });
  };
  const collecting = Promise.all([collect(child.stdout), collect(child.stderr)]);
  return {
    child,
    output: () => output,
    until: async (pattern) => {
      for (let i = 0; i < 500 && !pattern.test(output); i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      return pattern.exec(output);
    },
    stop: async () => {
      child.kill("SIGTERM");
      await child.status;
      await collecting;
    },
  };
}

/** Runs a tool's `main()` on the server at `url` (`-i remote -c URL ARGS`); its exit code and stderr. */
export async function runOnServer(
  main: (args: string[], io: ToolIo) => Promise<number>,
  url: string,
  args: string[],
): Promise<[number, string]> {
  const err = capture();
  const code = await main(["-i", "remote", "-c", url, ...args], {
    stderr: err.stream,
    env: {},
    configPath: [],
  });
  return [code, err.text()];
}

/** Polls `condition` every 10 ms, failing after `ms`. */
export async function waitFor(condition: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A stream that keeps what is written, as text. */
export function capture(): { stream: WritableStream<Uint8Array>; text(): string } {
  const decoder = new TextDecoder();
  let text = "";
  return {
    stream: new WritableStream({
      write: (chunk) => void (text += decoder.decode(chunk, { stream: true })),
    }),
    text: () => text,
  };
}

/** The fields a log format keeps, for comparing frames across tools. */
export function shape(frame: CanFrame, withFd = true): Record<string, unknown> {
  return {
    id: frame.arbitrationId,
    extended: frame.isExtendedId,
    remote: frame.isRemoteFrame,
    error: frame.isErrorFrame,
    dlc: frame.dlc,
    data: Array.from(frame.data, (b) => b.toString(16).padStart(2, "0")).join(""),
    ...(withFd ? { fd: frame.isFd, brs: frame.bitrateSwitch } : {}),
  };
}

/** Runs a python3 script with JSON on stdin; returns its JSON output. */
export async function python(script: string, input: unknown): Promise<unknown> {
  const child = new Deno.Command(PYTHON, {
    args: ["-c", script],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(input)));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  assertEquals(code, 0, new TextDecoder().decode(stderr));
  return JSON.parse(new TextDecoder().decode(stdout));
}

/** python-can's LogReader over each file: the frames as {@linkcode shape}s plus timestamps. */
export const READ_WITH_PYTHON = `
import json, sys
import can
out = []
for path in json.load(sys.stdin):
    frames = []
    for m in can.LogReader(path):
        frames.append({"id": m.arbitration_id, "extended": m.is_extended_id,
            "remote": m.is_remote_frame, "error": m.is_error_frame, "dlc": m.dlc,
            "data": bytes(m.data).hex(), "fd": m.is_fd, "brs": m.bitrate_switch,
            "timestamp": m.timestamp})
    out.append(frames)
json.dump(out, sys.stdout)
`;

/** Environment for a `deno` subprocess with another HOME that still uses this Deno cache. */
export function denoEnv(home: string): Record<string, string> {
  const cache = Deno.env.get("XDG_CACHE_HOME") ?? `${Deno.env.get("HOME")}/.cache`;
  return { HOME: home, NO_COLOR: "1", DENO_DIR: Deno.env.get("DENO_DIR") ?? `${cache}/deno` };
}
