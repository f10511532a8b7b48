// The listener against peers that never finish a request: a server process
// with 256 descriptors, 300 idle and half-open connections, and slowloris
// (a header byte now and then), over ws:// and over wss:// (where a TLS
// handshake left unfinished is one more way to idle). The server stays up,
// logs the trouble, and once --header-timeout has passed a real client gets in.
import { assert, assertEquals } from "../../_helpers/assert.ts";
import { requires } from "../../_helpers/requires.ts";
import { makePki } from "../../_helpers/pki.ts";
import { RemoteBus } from "../../../client.ts";
import { serve } from "../../../server.ts";

const needs = requires("openssl");
const pki = needs.ignore ? undefined : await makePki(
  await Deno.makeTempDir({ prefix: "canremote-listener-" }),
  { server: "DNS:localhost,IP:127.0.0.1" },
);

const SERVER = new URL("../../../server.ts", import.meta.url).pathname;

/** The server CLI under `ulimit -n 256`, with ARGS; its output and port. */
function spawnLimited(args: string[]) {
  const command = `ulimit -n 256; exec "$0" run -A "$1" -p 0 "\${@:2}"`;
  const child = new Deno.Command("bash", {
    args: ["-c", command, Deno.execPath(), SERVER, ...args],
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
    port: async () => {
      for (let i = 0; i < 1000; i++) {
        const match = /Web page: https?:\/\/127\.0\.0\.1:(\d+)\//.exec(output);
        if (match) return Number(match[1]);
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error(`no port in ${output}`);
    },
    stop: async () => {
      child.kill("SIGTERM");
      const status = await child.status;
      await collecting;
      return status;
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Opens `n` connections to `port`, each sending `first` (maybe nothing). */
async function openMany(port: number, n: number, first: (i: number) => string) {
  const conns: Deno.TcpConn[] = [];
  for (let i = 0; i < n; i++) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conns.push(conn);
      const text = first(i);
      if (text) await conn.write(new TextEncoder().encode(text)).catch(() => {});
    } catch {
      // the backlog is full: the connection is refused, which is fine
    }
  }
  return conns;
}

/** Whether a real client gets a bus_response from the server at `port` (TLS with `ca`). */
async function clientGetsIn(port: number, ca?: string): Promise<boolean> {
  using httpClient = ca ? Deno.createHttpClient({ caCerts: [ca] }) : undefined;
  try {
    await using bus = await RemoteBus.connect(`${ca ? "wss" : "ws"}://127.0.0.1:${port}/`, {
      signal: AbortSignal.timeout(3000),
      httpClient,
    });
    return bus.channelInfo.includes("virtual");
  } catch {
    return false;
  }
}

/**
 * Runs the server CLI with ARGS under `ulimit -n 256`, opens 300
 * connections (each sending `first(i)`), and checks that the server stays
 * up, closes them at the deadline and lets a client in (over TLS with `ca`).
 */
async function survivesDescriptorFlood(
  args: string[],
  first: (i: number) => string,
  ca?: string,
): Promise<void> {
  const server = spawnLimited(["--header-timeout", "1", ...args]);
  const port = await server.port();
  const conns = await openMany(port, 300, first);
  try {
    await sleep(300);
    // Past the limit: the server is still running.
    const early = await Promise.race([server.child.status, sleep(200).then(() => "running")]);
    assertEquals(early, "running", server.output());
    // After the deadline every one of them has been closed, and clients get in.
    let inside = false;
    for (let i = 0; i < 20 && !inside; i++) {
      await sleep(250);
      inside = await clientGetsIn(port, ca);
    }
    assert(inside, server.output());
    using client = ca ? Deno.createHttpClient({ caCerts: [ca] }) : undefined;
    const page = await fetch(`${ca ? "https" : "http"}://127.0.0.1:${port}/api/channels`, {
      client,
    });
    assertEquals(page.status, 200);
    await page.body?.cancel();
    const output = server.output();
    assert(/near the open file limit/.test(output), output);
    assert(/no request head in time/.test(output), output);
  } finally {
    closeAll(conns);
    const status = await server.stop();
    assertEquals(status.code, 0, server.output());
  }
}

/** Closes what the server has not closed already. */
function closeAll(conns: Deno.Conn[]): void {
  for (const conn of conns) {
    try {
      conn.close();
    } catch {
      // closed by the server
    }
  }
}

/**
 * Writes a byte to each connection every 250 ms for 2.5 s (two and a half
 * deadlines of 1 s); how many were still open at the last round.
 */
async function drip(conns: Deno.Conn[]): Promise<number> {
  const byte = new TextEncoder().encode("X");
  let open = conns.length;
  for (let round = 0; round < 10; round++) {
    await sleep(250);
    open = 0;
    await Promise.all(conns.map(async (conn) => {
      try {
        await conn.write(byte);
        open++;
      } catch {
        // closed by the server
      }
    }));
  }
  return open;
}

Deno.test("300 idle and half-open connections past 256 descriptors: the server stays up and lets a client in after the header timeout", async () => {
  await survivesDescriptorFlood([], (i) => i % 2 ? "" : "GET / HTTP/1.1\r\nHost: x\r\n");
});

Deno.test("slowloris: 300 sockets sending a header byte now and then are closed at the deadline; a client gets in", async () => {
  await using server = await serve({ port: 0, headerTimeout: 1000, maxConnections: 100 });
  const port = server.addr.port;
  const conns = await openMany(port, 300, () => "GET / HTTP/1.1\r\n");
  try {
    assertEquals(await drip(conns), 0, "every dripping socket was closed");
    assertEquals(server.bridge.sessions.size, 0);
    assert(await clientGetsIn(port), "a client gets in");
  } finally {
    closeAll(conns);
  }
});

Deno.test("an HTTP/1.0 upgrade request gets 400", async () => {
  await using server = await serve({ port: 0 });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  try {
    await conn.write(new TextEncoder().encode(
      "GET / HTTP/1.0\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    ));
    const text = new TextDecoder().decode(await new Response(conn.readable).bytes());
    assert(text.startsWith("HTTP/1.1 400 "), text);
    assert(text.includes("needs HTTP/1.1"), text);
  } finally {
    try {
      conn.close();
    } catch {
      // the readable closed it
    }
  }
});

Deno.test({
  name:
    "wss: 300 idle connections and unfinished TLS handshakes past 256 descriptors: the server stays up and lets a client in",
  ...needs,
  fn: async () => {
    const { dir, ca } = pki!;
    // Half send nothing, half the start of a TLS record that never comes.
    await survivesDescriptorFlood(
      ["--cert", `${dir}/server.pem`, "--key", `${dir}/server.key`],
      (i) => i % 2 ? "" : "\x16\x03\x01\x02\x00\x01",
      ca,
    );
  },
});

Deno.test({
  name: "wss: slowloris after the TLS handshake is closed at the deadline; a client gets in",
  ...needs,
  fn: async () => {
    const { ca, leaves: { server: { cert, key } } } = pki!;
    await using server = await serve({
      port: 0,
      cert,
      key,
      headerTimeout: 1000,
      maxConnections: 50,
    });
    const conns: Deno.TlsConn[] = [];
    for (let i = 0; i < 80; i++) {
      try {
        const conn = await Deno.connectTls({
          hostname: "localhost",
          port: server.addr.port,
          caCerts: [ca],
          alpnProtocols: ["http/1.1"],
        });
        conns.push(conn);
        await conn.write(new TextEncoder().encode("GET / HTTP/1.1\r\n"));
      } catch {
        // past --max-connections: closed before the handshake finished
      }
    }
    try {
      assert(conns.length >= 40, `${conns.length} TLS connections got in`);
      assertEquals(await drip(conns), 0, "every dripping connection was closed");
      assert(await clientGetsIn(server.addr.port, ca), "a client gets in");
    } finally {
      closeAll(conns);
    }
  },
});

if (pki) {
  globalThis.addEventListener("unload", () => Deno.removeSync(pki.dir, { recursive: true }));
}
