// Who a request comes from behind a reverse proxy: X-Forwarded-For is
// believed only from a trusted proxy, and only its right-most untrusted
// entry, so a guesser can neither hide behind the proxy's address (locking
// out everyone else behind it) nor dodge the limit by writing the header.
import { assert, assertEquals, assertRejects } from "../../_helpers/assert.ts";
import { spawnServer } from "../../_helpers/cli.ts";
import { clientAddress, isIp, normalizeIp } from "../../../server/access/client_address.ts";
import { type CanServer, serve, VirtualBackend } from "../../../server.ts";

const RW = "rw-proxy-5d1c8e07b2a94f36";
const WRONG = "wrong-proxy-0e9f1d2c3b4a5968";
const PROXY = "10.1.2.3";

const peer = (hostname: string) => ({ hostname, port: 40000 });
const forwarded = (value: string) => new Headers({ "x-forwarded-for": value });

Deno.test("clientAddress: the direct peer unless it is a trusted proxy", () => {
  const trusted = new Set([PROXY, "2001:db8::1"]);
  assertEquals(clientAddress(peer("192.0.2.5"), forwarded("198.51.100.7"), trusted), {
    host: "192.0.2.5",
    label: "192.0.2.5:40000",
  });
  assertEquals(clientAddress(peer(PROXY), forwarded("198.51.100.7"), trusted), {
    host: "198.51.100.7",
    label: "198.51.100.7 (via proxy 10.1.2.3:40000)",
  });
  // a chain of trusted proxies: the first untrusted hop from the right
  assertEquals(
    clientAddress(peer(PROXY), forwarded("203.0.113.1, 198.51.100.7, 2001:DB8:0::1"), trusted)
      .host,
    "198.51.100.7",
  );
  // the header is written by the proxy after what the client sent: the left part proves nothing
  assertEquals(
    clientAddress(peer(PROXY), forwarded("1.1.1.1, 198.51.100.7"), trusted).host,
    "198.51.100.7",
  );
  // no header, garbage, or only trusted hops: the proxy itself
  for (const headers of [new Headers(), forwarded("unknown"), forwarded(PROXY), forwarded("")]) {
    assertEquals(clientAddress(peer(PROXY), headers, trusted).host, PROXY);
  }
  assertEquals(clientAddress(peer(PROXY), forwarded("1.2.3.4, junk"), trusted).host, PROXY);
  assertEquals(clientAddress(undefined, forwarded("198.51.100.7"), trusted).host, "unknown");
});

Deno.test("normalizeIp and isIp", () => {
  assertEquals(normalizeIp(" [2001:DB8:0:0:0:0:0:1] "), "2001:db8::1");
  assertEquals(normalizeIp("::ffff:192.0.2.1"), "192.0.2.1");
  assertEquals(normalizeIp("fe80::1%eth0"), "fe80::1");
  assertEquals(normalizeIp("Proxy.Lab"), "proxy.lab");
  for (const ip of ["192.0.2.1", "::1", "2001:db8::1"]) assertEquals(isIp(ip), true, ip);
  for (const text of ["256.0.0.1", "1.2.3", "proxy.lab", "", "::g"]) {
    assertEquals(isIp(text), false, text);
  }
});

async function start(options: Parameters<typeof serve>[0] = {}): Promise<CanServer> {
  return await serve({
    port: 0,
    backend: new VirtualBackend(["0"]),
    tokens: [RW],
    maxAuthFailures: 2,
    ...options,
  });
}

// A request as it reaches the handler: from `from`, with the given headers.
function channels(server: CanServer, from: string, headers: Record<string, string>) {
  const response = server.bridge.fetch(
    new Request(server.httpUrl + "api/channels", { headers }),
    { remoteAddr: { transport: "tcp", hostname: from, port: 40000 } } as Deno.ServeHandlerInfo,
  );
  response.body?.cancel();
  return response.status;
}

Deno.test("behind a trusted proxy, a guesser is blocked alone; the others behind it are not", async () => {
  await using server = await start({ trustedProxies: [PROXY] });
  const guess = (client: string) =>
    channels(server, PROXY, { "x-forwarded-for": client, authorization: `Bearer ${WRONG}` });
  assertEquals([guess("198.51.100.7"), guess("198.51.100.7")], [401, 401]);
  assertEquals(guess("198.51.100.7"), 429);
  const valid = { authorization: `Bearer ${RW}` };
  assertEquals(
    channels(server, PROXY, { ...valid, "x-forwarded-for": "198.51.100.7" }),
    429,
    "the guesser, even with a valid token",
  );
  assertEquals(channels(server, PROXY, { ...valid, "x-forwarded-for": "198.51.100.8" }), 200);
  assertEquals(channels(server, PROXY, valid), 200, "the proxy itself, with no header");
  // writing another address to the left does not get the guesser out
  assertEquals(
    channels(server, PROXY, { ...valid, "x-forwarded-for": "203.0.113.50, 198.51.100.7" }),
    429,
  );
});

Deno.test("from an untrusted address X-Forwarded-For is ignored: it cannot dodge the limit", async () => {
  await using server = await start();
  const statuses = ["198.51.100.1", "198.51.100.2", "198.51.100.3"].map((fake) =>
    channels(server, "192.0.2.5", { "x-forwarded-for": fake, authorization: `Bearer ${WRONG}` })
  );
  assertEquals(statuses, [401, 401, 429]);
  assertEquals(channels(server, "192.0.2.6", { authorization: `Bearer ${RW}` }), 200);
});

Deno.test("a trusted proxy that is not an IP address is refused at start", async () => {
  await assertRejects(
    () => start({ trustedProxies: ["proxy.lab"] }),
    RangeError,
    'A trusted proxy must be an IP address, got "proxy.lab"',
  );
});

Deno.test("the command line: --trusted-proxy, and the logs name the client behind the proxy", async () => {
  const server = spawnServer([
    "--token",
    RW,
    "--max-auth-failures",
    "1",
    "--trusted-proxy",
    "::1",
    "--trusted-proxy",
    "127.0.0.1",
  ]);
  const url = (await server.until(/Channel 0: ws:\/\/(\S+)/))?.[1];
  assert(url, server.output());
  const list = async (client: string, token: string) => {
    const response = await fetch(`http://${url}api/channels`, {
      headers: { "x-forwarded-for": client, authorization: `Bearer ${token}` },
    });
    await response.body?.cancel();
    return response.status;
  };
  assertEquals(await list("198.51.100.7", WRONG), 401);
  assertEquals(await list("198.51.100.7", RW), 429);
  assertEquals(await list("198.51.100.8", RW), 200);
  await server.stop();
  const output = server.output();
  assert(output.includes("from 198.51.100.7 (via proxy 127.0.0.1:"), output);
  assert(!output.includes(WRONG) && !output.includes(RW), "no token in the output");
});
