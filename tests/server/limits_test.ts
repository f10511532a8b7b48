// The server-wide access limits tried the way an attacker would: guessing
// tokens until HTTP 429, filling the server with connections that never
// show a token, and reading /api/channels without one. Each refusal leaves
// the clients already connected (and other addresses) working.
import { assert, assertEquals, assertRejects, assertThrows } from "../_helpers/assert.ts";
import { TestClient } from "../_helpers/ws_client.ts";
import { spawnServer } from "../_helpers/cli.ts";
import { receiveUntil } from "../_helpers/bus_conformance.ts";
import { closeOf, FrameReader, rawUpgrade } from "../_helpers/raw_ws.ts";
import { type CanServer, serve, VirtualBackend } from "../../server.ts";
import { RemoteBus, tokenProtocol } from "../../client.ts";
import { RemoteError } from "../../core/errors.ts";
import { createFrame } from "../../core/frame.ts";
import { BINARY_PROTOCOL, CloseCode } from "../../core/protocol.ts";
import { CanBridge } from "../../server/http/bridge.ts";
import { TokenTable } from "../../server/access/auth.ts";
import {
  addressKey,
  AuthFailures,
  DEFAULT_MAX_AUTH_FAILURES,
  MAX_TRACKED_ADDRESSES,
} from "../../server/access/auth_failures.ts";

const RW = "rw-limits-6b0e2f9a1c47";
const RO = "ro-limits-d3a95c08e71f";
const BODY = "body-limits-41f7a2c9e085";
const WRONG = "wrong-limits-99ab00cd11ef";
const TOKENS = [RW, { token: RO, role: "ro" as const }, { token: BODY, channels: ["body"] }];

function start(options: Parameters<typeof serve>[0] = {}): Promise<CanServer> {
  return serve({ port: 0, backend: new VirtualBackend(["0", "body"]), tokens: TOKENS, ...options });
}

/** Two clients connected before the attack, which must keep working through it. */
async function bystanders(url: string) {
  const a = await RemoteBus.connect(url, { token: RW });
  const b = await RemoteBus.connect(url, { token: RW });
  let id = 0x500;
  return {
    async check() {
      const frame = createFrame({ arbitrationId: ++id, isExtendedId: false, data: [1] });
      await a.send(frame);
      await receiveUntil(b, (got) => got.arbitrationId === id);
    },
    close: () => Promise.all([a.close(), b.close()]),
  };
}

/** The status (and body) of an upgrade request, its connection closed. */
async function upgradeStatus(port: number, headers: Record<string, string> = {}, path = "/") {
  const up = await rawUpgrade(port, path, {
    "Sec-WebSocket-Protocol": BINARY_PROTOCOL,
    ...headers,
  });
  up.conn.close();
  return up;
}

/** A client whose token travels in its bus_request (python-can-remote's way); its close. */
async function configClient(url: string, config: Record<string, unknown>) {
  const client = await TestClient.open(url);
  client.sendJson({ type: "bus_request", payload: { config } });
  return await client.closed;
}

async function channelList(server: CanServer, token?: string) {
  const response = await fetch(server.httpUrl + "api/channels", {
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/** Polls until `check` holds, at most `ms`. */
async function eventually(check: () => Promise<boolean>, what: string, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Not within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A handler call from a made-up remote address (the address table does not need sockets). */
function from(hostname: string): Deno.ServeHandlerInfo {
  return {
    remoteAddr: { transport: "tcp", hostname, port: 40000 },
    completed: Promise.resolve(),
  } as Deno.ServeHandlerInfo;
}

// A virtual channel has no controller: its health is unknown.
const NO_HEALTH = {
  state: null,
  samplePoint: null,
  dataBitrate: null,
  errorCounters: null,
  stats: null,
};

Deno.test("/api/channels with tokens: 401 with nothing but tokenRequired, then only what the token opens", async (t) => {
  const server = await start();
  const others = await bystanders(server.url);
  await t.step("no token, a wrong one, another scheme: 401 {tokenRequired: true}", async () => {
    for (const token of [undefined, WRONG, `${RW} extra`]) {
      const got = await channelList(server, token);
      assertEquals(got.status, 401, token);
      assertEquals(JSON.parse(got.text), { tokenRequired: true });
      assert(got.headers.get("www-authenticate")!.startsWith("Bearer "));
      for (const secret of ["body", "clients", "virtual", "interface"]) {
        assert(!got.text.includes(secret), `${got.text} gives away ${secret}`);
      }
    }
    const basic = await fetch(server.httpUrl + "api/channels", {
      headers: { authorization: `Basic ${btoa(`user:${RW}`)}` },
    });
    assertEquals([basic.status, await basic.json()], [401, { tokenRequired: true }]);
  });
  await t.step("a token for every channel: the full list", async () => {
    const got = await channelList(server, RW);
    assertEquals(got.status, 200);
    const body = JSON.parse(got.text);
    assertEquals(body.channels, [
      { name: "0", path: "/", bitrate: null, ...NO_HEALTH },
      { name: "body", path: "/body", bitrate: null, ...NO_HEALTH },
    ]);
    assertEquals([body.interface, body.clients, body.tokenRequired], ["virtual", 2, true]);
    // a read-only token lists too: it may watch every channel
    assertEquals(JSON.parse((await channelList(server, RO)).text).channels.length, 2);
  });
  await t.step("a token limited to one channel: that channel only", async () => {
    const body = JSON.parse((await channelList(server, BODY)).text);
    assertEquals(body.channels, [{ name: "body", path: "/body", bitrate: null, ...NO_HEALTH }]);
  });
  await t.step("the page itself stays public: it must load to ask for the token", async () => {
    for (const path of ["", "app.js", "style.css", "favicon.svg"]) {
      const response = await fetch(server.httpUrl + path);
      await response.body?.cancel();
      assertEquals(response.status, 200, path);
    }
  });
  await t.step("POST is still 405", async () => {
    const response = await fetch(server.httpUrl + "api/channels", { method: "POST" });
    await response.body?.cancel();
    assertEquals(response.status, 405);
  });
  await others.check();
  await others.close();
  await server.close();
  await t.step("without tokens: the list as before, no token needed", async () => {
    const open = await start({ tokens: undefined });
    const got = await channelList(open);
    assertEquals(got.status, 200);
    const body = JSON.parse(got.text);
    assertEquals([body.channels.length, body.tokenRequired, body.clients], [2, false, 0]);
    await open.close();
  });
});

Deno.test("guessing tokens: HTTP 429 after maxAuthFailures from one address, whichever way they came", async (t) => {
  const server = await start({ maxAuthFailures: 4 });
  const others = await bystanders(server.url);
  const port = server.addr.port;
  await t.step("missing tokens guess nothing and are not counted", async () => {
    for (let i = 0; i < 6; i++) {
      assertEquals((await configClient(server.url, {})).code, CloseCode.UNAUTHORIZED);
      assertEquals((await channelList(server)).status, 401);
    }
    assertEquals(server.bridge.authFailures.size, 0);
  });
  await t.step("one wrong token per way: header, subprotocol, config, /api/channels", async () => {
    assertEquals((await upgradeStatus(port, { Authorization: `Bearer ${WRONG}` })).status, 401);
    const up = await rawUpgrade(port, "/", {
      "Sec-WebSocket-Protocol": `${BINARY_PROTOCOL}, ${tokenProtocol(WRONG)}`,
    });
    assertEquals(up.status, 101);
    assertEquals(closeOf((await new FrameReader(up.conn, up.rest).next())!).code, 4401);
    up.conn.close();
    assertEquals((await configClient(server.url, { token: WRONG })).code, CloseCode.UNAUTHORIZED);
    // a success in between resets nothing: else one valid token would allow endless guessing
    await (await RemoteBus.connect(server.url, { token: RO })).close();
    assertEquals((await channelList(server, WRONG)).status, 401);
  });
  await t.step(
    "then every upgrade and /api/channels from there: 429, valid token or not",
    async () => {
      const refused = await upgradeStatus(port, { Authorization: `Bearer ${RW}` });
      assertEquals(refused.status, 429);
      const seconds = Number(refused.headers.get("retry-after"));
      assert(seconds >= 1 && seconds <= 60, refused.head);
      const body = new TextDecoder().decode(refused.rest).trim();
      assertEquals(body, `Too many failed access attempts; try again in ${seconds} s`);
      assertEquals((await upgradeStatus(port)).status, 429, "python-can-remote's way");
      assertEquals((await channelList(server, RW)).status, 429);
      const error = await assertRejects(
        () => RemoteBus.connect(server.url, { token: RW }),
        RemoteError,
        "HTTP 429 (too many failed access attempts from here; wait a minute)",
      );
      assert(error instanceof RemoteError);
      assertEquals(error.code, CloseCode.TRY_AGAIN_LATER, "another attempt later may work");
    },
  );
  await t.step("the page's assets stay reachable", async () => {
    const response = await fetch(server.httpUrl);
    await response.body?.cancel();
    assertEquals(response.status, 200);
  });
  await t.step("other addresses are served; connected clients go on", async () => {
    const other = server.bridge.fetch(
      new Request(server.httpUrl + "api/channels", { headers: { authorization: `Bearer ${RW}` } }),
      from("192.0.2.10"),
    );
    assertEquals(other.status, 200);
    await other.body?.cancel();
    await others.check();
  });
  await others.close();
  await server.close();
});

Deno.test("a token for another channel counts as a failed attempt too", async () => {
  const server = await start({ maxAuthFailures: 3 });
  const port = server.addr.port;
  assertEquals((await upgradeStatus(port, { Authorization: `Bearer ${BODY}` })).status, 403);
  assertEquals((await configClient(server.url, { token: BODY })).code, CloseCode.FORBIDDEN);
  const refused = await assertRejects(
    () => RemoteBus.connect(server.url, { token: BODY, tokenTransport: "subprotocol" }),
    RemoteError,
  ) as RemoteError;
  assertEquals(refused.code, CloseCode.FORBIDDEN);
  assertEquals(
    (await upgradeStatus(port, { Authorization: `Bearer ${BODY}` }, "/body")).status,
    429,
  );
  await server.close();
});

Deno.test("after the window the address may try again", async () => {
  const server = await start({ maxAuthFailures: 2, authFailureWindow: 1500 });
  const port = server.addr.port;
  const wrong = { Authorization: `Bearer ${WRONG}` };
  assertEquals((await upgradeStatus(port, wrong)).status, 401);
  assertEquals((await upgradeStatus(port, wrong)).status, 401);
  assertEquals((await upgradeStatus(port, { Authorization: `Bearer ${RW}` })).status, 429);
  await eventually(
    async () => (await upgradeStatus(port, { Authorization: `Bearer ${RW}` })).status === 101,
    "the window passes",
  );
  assertEquals(server.bridge.authFailures.size, 0, "the expired entry is gone");
  await using bus = await RemoteBus.connect(server.url, { token: RW });
  assert(bus.channelInfo.length > 0);
  // a new window: the count starts over
  assertEquals((await upgradeStatus(port, wrong)).status, 401);
  assertEquals((await upgradeStatus(port, { Authorization: `Bearer ${RW}` })).status, 101);
  await server.close();
});

const ipv6 = (() => {
  try {
    Deno.listen({ hostname: "::1", port: 0 }).close();
    return true;
  } catch {
    return false;
  }
})();

Deno.test("addresses are counted apart: 127.0.0.1 guessing does not lock out ::1", {
  ignore: !ipv6,
}, async () => {
  const server = await start({ hostname: "::", maxAuthFailures: 2 });
  const port = server.addr.port;
  const v4 = `ws://127.0.0.1:${port}/`;
  const v6 = `ws://[::1]:${port}/`;
  for (let i = 0; i < 2; i++) {
    assertEquals((await configClient(v4, { token: WRONG })).code, CloseCode.UNAUTHORIZED);
  }
  assertEquals((await upgradeStatus(port, { Authorization: `Bearer ${RW}` })).status, 429);
  await using bus = await RemoteBus.connect(v6, { token: RW });
  assert(bus.channelInfo.length > 0);
  assertEquals(server.bridge.authFailures.size, 1);
  await server.close();
});

Deno.test("the address table stays bounded: the oldest address goes, entries expire", () => {
  const bridge = new CanBridge({
    backend: new VirtualBackend(["0"]),
    tokens: new TokenTable([{ token: RW }]),
  });
  const guess = (hostname: string) => {
    const response = bridge.fetch(
      new Request("http://127.0.0.1/api/channels", {
        headers: { authorization: `Bearer ${WRONG}` },
      }),
      from(hostname),
    );
    return response.status;
  };
  const address = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  for (let i = 0; i < MAX_TRACKED_ADDRESSES + 500; i++) assertEquals(guess(address(i)), 401);
  assertEquals(bridge.authFailures.size, MAX_TRACKED_ADDRESSES);
  // the first address guesses again without limit until it is tracked again...
  for (let i = 0; i < DEFAULT_MAX_AUTH_FAILURES; i++) assertEquals(guess(address(0)), 401);
  assertEquals(guess(address(0)), 429);
  // ...and an IPv6 host is one /64, whatever its interface id
  for (let i = 0; i < DEFAULT_MAX_AUTH_FAILURES; i++) {
    assertEquals(guess(`2001:db8::${i + 1}`), 401);
  }
  assertEquals(guess("2001:db8::ffff:1"), 429);
  assertEquals(guess("2001:db8:0:1::1"), 401);
  assertEquals(bridge.authFailures.size, MAX_TRACKED_ADDRESSES);

  let now = 0;
  const failures = new AuthFailures({
    maxFailures: 2,
    window: 1000,
    maxAddresses: 3,
    now: () => now,
  });
  for (const a of ["a", "b", "c", "d"]) {
    failures.record(a);
    now += 10;
  }
  assertEquals(failures.size, 3, "a was dropped for d");
  failures.record("a"); // a new entry again: it pushes out b, now the oldest
  assertEquals(failures.blockedFor("a"), 0, "a starts over");
  failures.record("c");
  assertEquals(failures.blockedFor("c"), 1000 - 20, "c's window started at 20");
  now = 1035;
  assertEquals([failures.size, failures.blockedFor("c")], [1, 0], "c and d expired");
  now = 5000;
  assertEquals(failures.size, 0);
  assertThrows(() => new AuthFailures({ maxFailures: 0 }), RangeError, "got 0");
  assertThrows(() => new AuthFailures({ window: -1 }), RangeError, "got -1");
  const off = new AuthFailures({ maxFailures: Infinity });
  for (let i = 0; i < 100; i++) off.record("x");
  assertEquals([off.blockedFor("x"), off.size], [0, 0]);
  assertEquals(addressKey("[2001:DB8::1%eth0]"), "2001:db8:0:0::/64");
  assertEquals(addressKey("::1"), "0:0:0:0::/64");
  assertEquals(addressKey("0:0:0:0:0:ffff:10.0.0.1"), "10.0.0.1");
});

Deno.test("token-less connections wait apart: beyond maxPending 503, clients with a token still get in", async (t) => {
  const server = await start({ maxPending: 3, maxClients: 4 });
  const port = server.addr.port;
  const others = await bystanders(server.url);
  // the attacker: upgrades that never show a token
  const idle = await Promise.all([1, 2, 3].map(() => TestClient.open(server.url)));
  assertEquals([server.bridge.pendingCount, server.bridge.admittedCount], [3, 2]);
  await t.step("one more without a token: 503 before upgrading", async () => {
    const up = await upgradeStatus(port);
    assertEquals(up.status, 503);
    assert(
      new TextDecoder().decode(up.rest).includes(
        "limit of 3 connections waiting for a bus_request",
      ),
      up.head,
    );
    // a wrong subprotocol token is not a token either
    const wrong = await upgradeStatus(port, {
      "Sec-WebSocket-Protocol": `${BINARY_PROTOCOL}, ${tokenProtocol(WRONG)}`,
    });
    assertEquals(wrong.status, 503);
  });
  let header: RemoteBus, subprotocol: RemoteBus;
  await t.step("a header or subprotocol token is admitted at once", async () => {
    header = await RemoteBus.connect(server.url, { token: RW });
    subprotocol = await RemoteBus.connect(server.url, { token: RO, tokenTransport: "subprotocol" });
    assertEquals([server.bridge.pendingCount, server.bridge.admittedCount], [3, 4]);
  });
  await t.step(
    "with maxClients reached: 503, and a pending one that shows its token: 1013",
    async () => {
      const up = await upgradeStatus(port, { Authorization: `Bearer ${RW}` });
      assertEquals(up.status, 503);
      assert(new TextDecoder().decode(up.rest).includes("limit of 4 clients"));
      idle[0].sendJson({ type: "bus_request", payload: { config: { token: RW } } });
      const closed = await idle[0].closed;
      assertEquals(closed.code, CloseCode.TRY_AGAIN_LATER);
      assertEquals(closed.reason, "The server is at its limit of 4 clients; try again later");
    },
  );
  await t.step("a freed client slot: the next pending one gets in", async () => {
    await header.close();
    await eventually(() => Promise.resolve(server.bridge.admittedCount === 3), "the slot frees");
    idle[1].sendJson({ type: "bus_request", payload: { config: { token: RW } } });
    assertEquals((await idle[1].nextEvent()).type, "bus_response");
    assertEquals([server.bridge.pendingCount, server.bridge.admittedCount], [1, 4]);
  });
  await others.check();
  await Promise.all([...idle.map((c) => c.close()), subprotocol!.close(), others.close()]);
  await server.close();
});

Deno.test("without tokens a connection is pending until its bus_request", async () => {
  const server = await start({ tokens: undefined, maxPending: 2, maxClients: 3 });
  const port = server.addr.port;
  const first = await TestClient.connect(server.url);
  const idle = await Promise.all([1, 2].map(() => TestClient.open(server.url)));
  assertEquals((await upgradeStatus(port)).status, 503);
  idle[0].sendJson({ type: "bus_request", payload: { config: {} } });
  assertEquals((await idle[0].nextEvent()).type, "bus_response");
  assertEquals([server.bridge.pendingCount, server.bridge.admittedCount], [1, 2]);
  const late = await TestClient.connect(server.url);
  assertEquals(server.bridge.admittedCount, 3);
  // full: nobody could be admitted now, so even a token-less upgrade is told at once
  const up = await upgradeStatus(port);
  assertEquals(up.status, 503);
  assert(new TextDecoder().decode(up.rest).includes("limit of 3 clients"));
  await Promise.all([first.close(), late.close(), ...idle.map((c) => c.close())]);
  await server.close();
});

Deno.test("pending connections still time out with 4408 and free their place", async () => {
  const server = await start({ maxPending: 1, requestTimeout: 150 });
  const idle = await TestClient.open(server.url);
  assertEquals((await upgradeStatus(server.addr.port)).status, 503);
  assertEquals((await idle.closed).code, CloseCode.REQUEST_TIMEOUT);
  await eventually(() => Promise.resolve(server.bridge.pendingCount === 0), "the place frees");
  await (await RemoteBus.connect(server.url, { token: RW, tokenTransport: "config" })).close();
  await server.close();
});

Deno.test("the command line: --max-auth-failures and --max-pending apply", async () => {
  const server = spawnServer(["--token", RW, "--max-auth-failures", "2", "--max-pending", "1"]);
  const url = (await server.until(/Channel 0: (ws:\/\/\S+)/))?.[1];
  assert(url, server.output());
  const port = Number(new URL(url).port);
  const idle = await TestClient.open(url);
  assertEquals((await upgradeStatus(port)).status, 503);
  await idle.close();
  const wrong = { Authorization: `Bearer ${WRONG}` };
  assertEquals((await upgradeStatus(port, wrong)).status, 401);
  assertEquals((await upgradeStatus(port, wrong)).status, 401);
  assertEquals((await upgradeStatus(port, { Authorization: `Bearer ${RW}` })).status, 429);
  await server.stop();
  const output = server.output();
  assert(output.includes("Failed access attempt 2"), output);
  assert(
    output.includes("127.0.0.1 made 2 failed access attempts: refused with 429 for 60 s"),
    output,
  );
  assert(!output.includes(WRONG) && !output.includes(RW), "no token in the output");
  for (const bad of [["--max-pending", "0"], ["--max-auth-failures", "x"]]) {
    const refused = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("../../server.ts", import.meta.url).pathname, "-p", "0", ...bad],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const text = new TextDecoder().decode(refused.stdout) +
      new TextDecoder().decode(refused.stderr);
    assertEquals(refused.code, 1, text);
    assert(text.includes(`${bad[0]} must be`), text);
  }
});
