// The security model tried the way an attacker or a careless user would: no
// token, a wrong token, a read-only token sending, a token for another
// channel, a hostile Origin, DNS rebinding, oversized and flood traffic,
// periodic-task floods, a client naming another interface or bit rate. Each
// is refused with a clear answer, a bystander keeps working through all of
// it, and the last test checks that no token reached any log line.
import { configure, type LogRecord, reset } from "@logtape/logtape";
import { assert, assertEquals, assertRejects, assertThrows } from "../../_helpers/assert.ts";
import { TestClient } from "../../_helpers/ws_client.ts";
import { spawnServer } from "../../_helpers/cli.ts";
import { receiveUntil } from "../../_helpers/bus_conformance.ts";
import { closeOf, encodeFrame, FrameReader, rawUpgrade, textOf } from "../../_helpers/raw_ws.ts";
import { type CanServer, serve, VirtualBackend } from "../../../server.ts";
import { RemoteBus, tokenProtocol } from "../../../client.ts";
import { RemoteError } from "../../../core/errors.ts";
import { createFrame } from "../../../core/frame.ts";
import { decodeEvent } from "../../../core/codec.ts";
import { BINARY_PROTOCOL, CloseCode, JSON_PROTOCOL } from "../../../core/protocol.ts";
import type { BusOptions } from "../../../core/bus.ts";
import { exposure, parseTokensFile, TokenTable } from "../../../server/access/auth.ts";
import { TokenBucket } from "../../../server/rate_limit.ts";
import { parseIdRange } from "../../../server/limits.ts";

const RW = "rw-5f1c9a7e3b2d-operator";
const RO = "ro-a8e4c2f61d09-viewer";
const BODY = "body-3e7f0c55aa91-only";
const WRONG = "wrong-77aa11bb22cc-guess";
const FILE_A = "file-a-0d4c8b1e66f2";
const FILE_B = "file-b-93ae57c1d0b8";
const SECRETS = [RW, RO, BODY, WRONG, FILE_A, FILE_B];

// Every log record of this file, at debug level, for the last test.
const records: LogRecord[] = [];
await configure({
  sinks: { memory: (record) => records.push(record) },
  loggers: [
    { category: ["canremote"], lowestLevel: "debug", sinks: ["memory"] },
    { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["memory"] },
  ],
});

const recorded = JSON.parse(
  await Deno.readTextFile(
    new URL("../../../../shared/conformance/handshake.json", import.meta.url),
  ),
).client_upgrade_request as { request_raw: string };

/** A virtual backend that remembers the options each client's bus was opened with. */
class RecordingBackend extends VirtualBackend {
  opened: BusOptions[] = [];
  override open(channel: string, options: BusOptions) {
    this.opened.push(options);
    return super.open(channel, options);
  }
}

async function start(options: Parameters<typeof serve>[0] = {}) {
  const backend = new RecordingBackend(["0", "body"]);
  const server = await serve({
    port: 0,
    backend,
    tokens: [RW, { token: RO, role: "ro" }, { token: BODY, channels: ["body"] }],
    ...options,
  });
  return { server, backend };
}

const frameText = (id: number, data: number[] = [1]) =>
  JSON.stringify({ type: "message", payload: { arbitration_id: id, is_extended_id: false, data } });

/** python-can's json.dumps layout for a flat config. */
function pythonBusRequest(config: Record<string, string | number | boolean>): string {
  const body = Object.entries(config).map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`);
  return `{"type": "bus_request", "payload": {"config": {${body.join(", ")}}}}`;
}

/**
 * python-can-remote's client byte for byte: its recorded upgrade (no
 * Authorization, no Origin), then the bus_request that
 * `can.Bus(url, interface="remote", **config)` sends. Returns the first frame back.
 */
async function pythonClient(server: CanServer, config: Record<string, string | number | boolean>) {
  const port = server.addr.port;
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const request = recorded.request_raw.replace(/Host: [^\r]+/, `Host: 127.0.0.1:${port}`);
  await conn.write(new TextEncoder().encode(request));
  const reader = new FrameReader(conn);
  // the 101 head: read until the blank line, nothing follows before the bus_request
  const head = new Uint8Array(4096);
  const n = await conn.read(head);
  assert(new TextDecoder().decode(head.subarray(0, n!)).startsWith("HTTP/1.1 101"));
  await conn.write(encodeFrame(1, pythonBusRequest(config)));
  const first = await reader.next();
  return { conn, reader, first: first! };
}

/** A client that connected before the attacks and must keep working through them. */
async function bystanders(server: CanServer) {
  const a = await RemoteBus.connect(server.url, { token: RW });
  const b = await RemoteBus.connect(server.url, { token: RW });
  let id = 0x400;
  return {
    async check() {
      const frame = createFrame({ arbitrationId: ++id, isExtendedId: false, data: [id & 0xff] });
      await a.send(frame);
      await receiveUntil(b, (got) => got.arbitrationId === id);
    },
    close: () => Promise.all([a.close(), b.close()]),
  };
}

Deno.test("no token: refused before any bus is opened, whichever way the client came", async () => {
  const { server, backend } = await start();
  const others = await bystanders(server);
  const opened = backend.opened.length;
  // a raw WebSocket with no token: upgraded (python-can sends its token in the config), then 4401
  const raw = await TestClient.open(server.url);
  raw.sendJson({ type: "bus_request", payload: { config: {} } });
  const closed = await raw.closed;
  assertEquals(closed.code, CloseCode.UNAUTHORIZED);
  assert(closed.reason.includes("requires an access token"), closed.reason);
  // python-can-remote's client with no token keyword
  const python = await pythonClient(server, {});
  assertEquals(closeOf(python.first).code, CloseCode.UNAUTHORIZED);
  python.conn.close();
  // our client: a RemoteError with the code, no reconnection loop
  const error = await assertRejects(
    () => RemoteBus.connect(server.url, { reconnect: true }),
    RemoteError,
  ) as RemoteError;
  assertEquals(error.code, CloseCode.UNAUTHORIZED);
  assertEquals(backend.opened.length, opened, "no bus was opened");
  await others.check();
  await others.close();
  await server.close();
});

Deno.test("wrong token: 401 before upgrading (header, subprotocol), 4401 in the config", async (t) => {
  const { server, backend } = await start();
  const others = await bystanders(server);
  const opened = backend.opened.length;
  const port = server.addr.port;
  await t.step("Authorization: Bearer", async () => {
    const up = await rawUpgrade(port, "/", {
      "Sec-WebSocket-Protocol": BINARY_PROTOCOL,
      Authorization: `Bearer ${WRONG}`,
    });
    up.conn.close();
    assertEquals(up.status, 401);
    assert(up.headers.get("www-authenticate")!.startsWith("Bearer "), up.head);
    assertEquals(up.headers.get("upgrade"), null);
  });
  await t.step("Authorization with another scheme: 400", async () => {
    const up = await rawUpgrade(port, "/", { Authorization: `Basic ${btoa("u:" + WRONG)}` });
    up.conn.close();
    assertEquals(up.status, 400);
  });
  await t.step(
    "a subprotocol entry (browsers see no HTTP status): 101, then close 4401",
    async () => {
      const up = await rawUpgrade(port, "/", {
        "Sec-WebSocket-Protocol": `${BINARY_PROTOCOL}, ${tokenProtocol(WRONG)}`,
      });
      assertEquals(up.status, 101);
      assertEquals(up.headers.get("sec-websocket-protocol"), BINARY_PROTOCOL);
      const frame = await new FrameReader(up.conn, up.rest).next();
      assertEquals(closeOf(frame!), {
        code: CloseCode.UNAUTHORIZED,
        reason: "Invalid access token",
      });
      up.conn.close();
    },
  );
  await t.step("a garbled subprotocol entry: 400", async () => {
    const up = await rawUpgrade(port, "/", {
      "Sec-WebSocket-Protocol": `${JSON_PROTOCOL}, canremote.token.%%%`,
    });
    up.conn.close();
    assertEquals(up.status, 400);
  });
  await t.step(
    "RemoteBus: code 4401 whichever way the token went, no reconnection loop",
    async () => {
      const cases = [["header", "HTTP 401"], ["subprotocol", "Invalid access token"], [
        "config",
        "Invalid access token",
      ]] as const;
      for (const [tokenTransport, message] of cases) {
        const error = await assertRejects(
          () => RemoteBus.connect(server.url, { token: WRONG, tokenTransport, reconnect: true }),
          RemoteError,
          message,
        ) as RemoteError;
        assertEquals(error.code, CloseCode.UNAUTHORIZED);
      }
    },
  );
  await t.step("python-can-remote's client with token= (config)", async () => {
    const python = await pythonClient(server, { token: WRONG });
    assertEquals(closeOf(python.first), {
      code: CloseCode.UNAUTHORIZED,
      reason: "Invalid access token",
    });
    python.conn.close();
  });
  await t.step("a token that is not a string", async () => {
    const client = await TestClient.open(server.url);
    client.sendJson({ type: "bus_request", payload: { config: { token: 12345678 } } });
    assertEquals((await client.closed).code, CloseCode.UNAUTHORIZED);
  });
  assertEquals(backend.opened.length, opened, "no bus was opened");
  assertEquals(server.bridge.sessions.size, 2, "only the bystanders remain");
  await others.check();
  await others.close();
  await server.close();
});

Deno.test("right token: header, subprotocol (never echoed) and python-can's token= keyword", async () => {
  const { server } = await start();
  const watcher = await RemoteBus.connect(server.url, { token: RO });
  const expect = (id: number) => receiveUntil(watcher, (frame) => frame.arbitrationId === id);
  for (const tokenTransport of ["header", "subprotocol", "config"] as const) {
    await using bus = await RemoteBus.connect(server.url, { token: RW, tokenTransport });
    const id = 0x10 + ["header", "subprotocol", "config"].indexOf(tokenTransport);
    await bus.send(createFrame({ arbitrationId: id, isExtendedId: false, data: [1] }));
    await expect(id);
  }
  // python-can's ~/.canrc puts token in config: RemoteBus takes it from there too
  await using fromConfig = await RemoteBus.connect(server.url, { config: { token: RW } });
  await fromConfig.send(createFrame({ arbitrationId: 0x20, isExtendedId: false }));
  await expect(0x20);
  // the 101 selects the real subprotocol, never the token entry
  const up = await rawUpgrade(server.addr.port, "/", {
    "Sec-WebSocket-Protocol": `${BINARY_PROTOCOL}, ${tokenProtocol(RW)}`,
  });
  assertEquals(up.status, 101);
  assertEquals(up.headers.get("sec-websocket-protocol"), BINARY_PROTOCOL);
  assert(!up.head.includes(tokenProtocol(RW).slice(16)), "the token is not echoed");
  up.conn.close();
  // python-can-remote's exact bytes with token=..., next to its other keywords
  const python = await pythonClient(server, { bitrate: 500000, token: RW });
  assertEquals(decodeEvent(textOf(python.first)).type, "bus_response");
  await python.conn.write(encodeFrame(1, frameText(0x21)));
  await expect(0x21);
  python.conn.close();
  await watcher.close();
  await server.close();
});

Deno.test("read-only token: receives, but send and periodic_start get errors and nothing reaches the bus", async () => {
  const { server } = await start();
  const writer = await RemoteBus.connect(server.url, { token: RW });
  const watcher = await TestClient.connect(server.url, { token: RW });
  const viewer = await RemoteBus.connect(server.url, { token: RO });
  await writer.send(createFrame({ arbitrationId: 0x55, isExtendedId: false }));
  assertEquals((await viewer.receive({ signal: AbortSignal.timeout(2000) })).arbitrationId, 0x55);
  assertEquals((await watcher.nextEvent()).type, "message");
  await viewer.send(createFrame({ arbitrationId: 0x66, isExtendedId: false }));
  await assertRejects(
    () => viewer.receive({ signal: AbortSignal.timeout(2000) }),
    RemoteError,
    "read-only client: cannot send frames",
  );
  const task = viewer.sendPeriodic(createFrame({ arbitrationId: 0x67, isExtendedId: false }), 0.01);
  await assertRejects(
    () => viewer.receive({ signal: AbortSignal.timeout(2000) }),
    RemoteError,
    "read-only client: cannot start periodic tasks",
  );
  task.stop();
  // the same with the raw protocol, read-only through the config token
  const raw = await TestClient.connect(server.url, { token: RO });
  raw.send(frameText(0x68));
  assertEquals(await raw.nextEvent(), {
    type: "error",
    message: "read-only client: cannot send frames",
  });
  assertEquals(await watcher.drain(), [], "nothing from the read-only clients reached the bus");
  await Promise.all([writer.close(), watcher.close(), viewer.close(), raw.close()]);
  await server.close();
});

Deno.test("a token for another channel: 403 before upgrading, 4403 from the config", async () => {
  const { server, backend } = await start();
  const opened = backend.opened.length;
  const up = await rawUpgrade(server.addr.port, "/", { Authorization: `Bearer ${BODY}` });
  up.conn.close();
  assertEquals(up.status, 403);
  const python = await pythonClient(server, { token: BODY });
  const closed = closeOf(python.first);
  assertEquals(closed.code, CloseCode.FORBIDDEN);
  assert(closed.reason.includes('channel "0"'), closed.reason);
  python.conn.close();
  for (const tokenTransport of ["header", "subprotocol", "config"] as const) {
    const refused = await assertRejects(
      () => RemoteBus.connect(server.url, { token: BODY, tokenTransport }),
      RemoteError,
    ) as RemoteError;
    assertEquals(refused.code, CloseCode.FORBIDDEN);
  }
  assertEquals(backend.opened.length, opened);
  // its own channel opens
  await using body = await RemoteBus.connect(server.url + "body", { token: BODY });
  assert(body.channelInfo.includes("body"));
  await server.close();
});

Deno.test("Origin and Host: another site's page is refused; own and allowed origins pass", async (t) => {
  // No tokens: on loopback the Origin and Host checks are all that stand between a page and the bus.
  const { server } = await start({ tokens: undefined, allowOrigins: ["https://dash.lab:8443"] });
  const port = server.addr.port;
  const cases: [string, Record<string, string>, number][] = [
    ["a hostile origin", { Origin: "https://evil.example" }, 403],
    ["a hostile origin with a token", {
      Origin: "https://evil.example",
      Authorization: `Bearer ${RW}`,
    }, 403],
    ["a sandboxed frame (null)", { Origin: "null" }, 403],
    ["the same host on another port", { Origin: `http://127.0.0.1:${port + 1}` }, 403],
    ["the server's own page", { Origin: `http://127.0.0.1:${port}` }, 101],
    ["an allowed origin", { Origin: "https://dash.lab:8443" }, 101],
    ["no Origin (python-can, Deno)", {}, 101],
    // DNS rebinding: evil.example resolves to 127.0.0.1, so its page is "same-origin"
    ["DNS rebinding", { Host: `evil.example:${port}`, Origin: `http://evil.example:${port}` }, 403],
    ["DNS rebinding without Origin", { Host: `evil.example:${port}` }, 403],
    ["localhost by name", { Host: `localhost:${port}`, Origin: `http://localhost:${port}` }, 101],
    // a TLS-terminating proxy on this machine that keeps the Host header
    ["an allowed origin's proxy", { Host: "dash.lab:8443", Origin: "https://dash.lab:8443" }, 101],
  ];
  for (const [name, headers, status] of cases) {
    await t.step(name, async () => {
      const up = await rawUpgrade(port, "/", {
        "Sec-WebSocket-Protocol": JSON_PROTOCOL,
        ...headers,
      });
      up.conn.close();
      assertEquals(up.status, status, up.head);
    });
  }
  await server.close();
  await t.step(
    "with tokens, a rebinding page gets through the Host check but has no token",
    async () => {
      const { server } = await start();
      const port = server.addr.port;
      const up = await rawUpgrade(port, "/", {
        Host: `evil.example:${port}`,
        Origin: `http://evil.example:${port}`,
      });
      assertEquals(up.status, 101);
      await up.conn.write(encodeFrame(1, pythonBusRequest({})));
      const frame = await new FrameReader(up.conn, up.rest).next();
      assertEquals(closeOf(frame!).code, CloseCode.UNAUTHORIZED);
      up.conn.close();
      await server.close();
    },
  );
});

Deno.test("a client cannot choose the interface, the channel or the bit rate", async (t) => {
  const { server, backend } = await start({ bitrate: 500000 });
  const others = await bystanders(server);
  const cases: [Record<string, unknown>, string][] = [
    [{ interface: "socketcan" }, 'cannot choose "socketcan"'],
    [{ bustype: "socketcan" }, 'cannot choose "socketcan"'],
    [{ interface: "virtual", channel: "can0" }, 'channel "can0"'],
  ];
  for (const [config, reason] of cases) {
    await t.step(JSON.stringify(config), async () => {
      const opened = backend.opened.length;
      const client = await TestClient.open(server.url);
      client.sendJson({ type: "bus_request", payload: { config: { token: RW, ...config } } });
      const closed = await client.closed;
      assertEquals(closed.code, CloseCode.BAD_CONFIG);
      assert(closed.reason.includes(reason), closed.reason);
      assertEquals(backend.opened.length, opened, "no bus opened");
    });
  }
  await t.step("bitrate and data_bitrate: the server's bit rate applies", async () => {
    const client = await TestClient.connect(server.url, {
      token: RW,
      bitrate: 1000000,
      data_bitrate: 8000000,
    });
    assertEquals(backend.opened.at(-1)!.bitrate, 500000);
    await client.close();
  });
  await others.check();
  await others.close();
  await server.close();
});

Deno.test("oversized: a message above the limit closes 1009, a big bus_request closes 1009 unopened", async () => {
  const { server, backend } = await start({ maxMessageSize: 4096, maxConfigSize: 512 });
  const others = await bystanders(server);
  const big = await TestClient.connect(server.url, { token: RW });
  big.send("x".repeat(5000));
  assertEquals((await big.closed).code, CloseCode.MESSAGE_TOO_BIG);
  const opened = backend.opened.length;
  const bloated = await TestClient.open(server.url);
  bloated.sendJson({
    type: "bus_request",
    payload: { config: { token: RW, can_filters: Array(20).fill({ can_id: 1, can_mask: 2 }) } },
  });
  const closed = await bloated.closed;
  assertEquals(closed.code, CloseCode.MESSAGE_TOO_BIG);
  assert(closed.reason.includes("exceeds the limit of 512"), closed.reason);
  assertEquals(backend.opened.length, opened);
  await others.check();
  await others.close();
  await server.close();
});

Deno.test("flood: frames over the transmit rate are dropped with one error event, others unaffected", async () => {
  const { server } = await start({ maxSendRate: 50, sendBurst: 10 });
  const flooder = await TestClient.connect(server.url, { token: RW }, [JSON_PROTOCOL]);
  const watcher = await TestClient.connect(server.url, { token: RW }, [JSON_PROTOCOL]);
  const polite = await TestClient.connect(server.url, { token: RW }, [JSON_PROTOCOL]);
  for (let i = 0; i < 500; i++) flooder.send(frameText(0x100 + (i & 0xff)));
  polite.send(frameText(0x7ff));
  const seen = (await watcher.drain(300, 11)).map((m) => decodeEvent(m));
  const flooded = seen.filter((e) => e.type === "message" && e.frame.arbitrationId !== 0x7ff);
  assert(flooded.length >= 10 && flooded.length <= 40, `${flooded.length} frames got through`);
  assert(
    seen.some((e) => e.type === "message" && e.frame.arbitrationId === 0x7ff),
    "the polite client's frame went through",
  );
  const notices = (await flooder.drain(300, 1)).map((m) => decodeEvent(m));
  // one at once, and at most one more a second later
  assert(notices.length >= 1 && notices.length <= 2, `${notices.length} error events`);
  const notice = notices[0];
  assert(notice.type === "error");
  assert(
    /^Transmit rate limit of 50 frames\/s exceeded: \d+ frames? dropped$/.test(notice.message),
    notice.message,
  );
  const session = [...server.bridge.sessions].find((s) => s.stats.rateLimited > 0)!;
  assert(session.stats.rateLimited >= 460, `${session.stats.rateLimited} dropped`);
  await Promise.all([flooder.close(), watcher.close(), polite.close()]);
  await server.close();
});

Deno.test("periodic-task floods: too short, too many, too fast together, outside the id allowlist", async () => {
  const { server } = await start({
    maxPeriodicTasks: 4,
    maxSendRate: 100,
    allowedIds: [parseIdRange("100-1FF")],
  });
  const client = await TestClient.connect(server.url, { token: RW });
  const start_ = (id: number, period: number) =>
    client.sendJson({
      type: "periodic_start",
      payload: { period, duration: null, msg: { arbitration_id: id, is_extended_id: false } },
    });
  const error = async () => {
    const events = (await client.drain(100, 1)).map((m) => decodeEvent(m));
    const errors = events.filter((e) => e.type === "error");
    assertEquals(errors.length, 1, JSON.stringify(events));
    return errors[0].type === "error" ? errors[0].message : "";
  };
  start_(0x100, 0.0001);
  assert((await error()).includes("period must be at least 0.001"));
  start_(0x101, 0.005); // 200 frames/s alone
  assert((await error()).includes("would send 200 frames/s, above the limit of 100"));
  for (let i = 0; i < 4; i++) start_(0x110 + i, 0.5);
  start_(0x120, 0.5);
  assert((await error()).includes("At most 4 periodic tasks"));
  start_(0x300, 0.5);
  assert(
    (await error()).includes("Arbitration id 0x300 may not be sent here; allowed: 0x100-0x1FF"),
  );
  client.send(frameText(0x7df));
  assertEquals(await client.nextEvent(), {
    type: "error",
    message: "Arbitration id 0x7DF may not be sent here; allowed: 0x100-0x1FF",
  });
  for (let i = 0; i < 4; i++) client.sendJson({ type: "periodic_stop", payload: 0x110 + i });
  await client.close();
  await server.close();
});

Deno.test("maximum clients: 503 before upgrading, the connected ones go on", async () => {
  const { server } = await start({ maxClients: 2 });
  const others = await bystanders(server);
  const up = await rawUpgrade(server.addr.port, "/", { Authorization: `Bearer ${RW}` });
  up.conn.close();
  assertEquals(up.status, 503);
  const error = await assertRejects(
    () => RemoteBus.connect(server.url, { token: RW }),
    RemoteError,
  ) as RemoteError;
  assertEquals(error.code, CloseCode.TRY_AGAIN_LATER);
  await others.check();
  await others.close();
  await server.close();
});

Deno.test("tokens file: read at start, reloaded on SIGHUP; revoked clients are closed with 4401", {
  ignore: Deno.build.os === "windows",
}, async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/tokens`;
  await Deno.writeTextFile(path, `# lab\n${FILE_A} rw\n${FILE_B} ro 0\n`, { mode: 0o600 });
  const server = await serve({
    port: 0,
    backend: new VirtualBackend(["0", "body"]),
    tokensFile: path,
  });
  const a = await TestClient.connect(server.url, { token: FILE_A });
  const b = await TestClient.connect(server.url, { token: FILE_B });
  b.send(frameText(1));
  assertEquals(await b.nextEvent(), {
    type: "error",
    message: "read-only client: cannot send frames",
  });
  const reloaded = () =>
    new Promise<void>((resolve) => {
      const seen = records.length;
      const poll = setInterval(() => {
        if (records.slice(seen).some((r) => /Reloaded|Cannot reload/.test(String(r.rawMessage)))) {
          clearInterval(poll);
          resolve();
        }
      }, 10);
    });
  // FILE_A goes, FILE_B becomes read-write
  await Deno.writeTextFile(path, `${FILE_B} rw\n`);
  let done = reloaded();
  Deno.kill(Deno.pid, "SIGHUP");
  await done;
  const closed = await a.closed;
  assertEquals([closed.code, closed.reason], [
    CloseCode.UNAUTHORIZED,
    "The access token was revoked",
  ]);
  b.send(frameText(1));
  assertEquals(await b.drain(), [], "read-write now: no error");
  // a broken file keeps the tokens in force
  await Deno.writeTextFile(path, `${FILE_B} admin\n`);
  done = reloaded();
  Deno.kill(Deno.pid, "SIGHUP");
  await done;
  assert(records.some((r) => String(r.properties.message).includes(`${path}:1: role must be`)));
  await (await RemoteBus.connect(server.url, { token: FILE_B })).close();
  await assertRejects(() => RemoteBus.connect(server.url, { token: FILE_A }), RemoteError);
  await b.close();
  await server.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("listening beyond loopback needs tokens or an explicit insecure, and says which", async () => {
  await assertRejects(
    () => serve({ port: 0, hostname: "0.0.0.0" }),
    TypeError,
    "give access tokens (--token, --read-only-token, --tokens-file) or say --insecure",
  );
  const insecure = exposure({ hostname: "0.0.0.0", insecure: true, tls: false });
  assertEquals(insecure.refusal, undefined);
  assert(insecure.warnings[0].startsWith("INSECURE: listening on 0.0.0.0 without access tokens"));
  const tokens = new TokenTable([{ token: RW }, { token: RO, role: "ro" }]);
  const plain = exposure({ hostname: "192.0.2.7", tokens, insecure: false, tls: false });
  assertEquals(plain.summary, "access tokens required (1 read-write, 1 read-only)");
  assert(plain.warnings[0].includes("Tokens travel unencrypted"));
  const tls = exposure({ hostname: "::", tokens, insecure: false, tls: true });
  assertEquals([tls.warnings, tls.refusal], [[], undefined]);
  const short = exposure({
    hostname: "127.0.0.1",
    tokens: new TokenTable([{ token: "abc123", label: "--token 1" }]),
    insecure: false,
    tls: false,
  });
  assert(
    short.warnings[0].startsWith("--token 1 is shorter than 16 characters"),
    short.warnings[0],
  );
  for (const local of ["127.0.0.1", "localhost", "::1", "[::1]", "127.1.2.3"]) {
    assertEquals(exposure({ hostname: local, insecure: false, tls: false }).refusal, undefined);
  }
});

Deno.test("token table: constant-time lookup, checks, tokens-file errors that never quote a token", () => {
  const table = new TokenTable([{ token: RW }, { token: RO, role: "ro", channels: ["0"] }]);
  assertEquals(table.lookup(RW)?.role, "rw");
  assertEquals(table.lookup(RO)?.channels, ["0"]);
  for (const near of [RW.slice(0, -1), RW + "x", RW.toUpperCase(), "", " " + RW]) {
    assertEquals(table.lookup(near), undefined);
  }
  assertThrows(() => new TokenTable([{ token: RW }, { token: RW }]), RangeError, "twice");
  assertThrows(() => new TokenTable([{ token: "two words" }]), RangeError);
  assertEquals(table.redact(`a ${RW} b ${WRONG}`, [WRONG]), "a [token] b [token]");
  const bad: [string, ErrorConstructor][] = [
    [`${FILE_A}\n`, SyntaxError],
    [`${FILE_A} admin\n`, RangeError],
    [`${FILE_A} rw can9\n`, RangeError],
    [`${FILE_A} rw 0 extra\n`, SyntaxError],
  ];
  for (const [text, type] of bad) {
    const error = assertThrows(() => parseTokensFile(text, "t.txt", ["0"]), type);
    assert(error.message.startsWith("t.txt:1: "), error.message);
    assert(!error.message.includes(FILE_A), error.message);
  }
  assertEquals(parseTokensFile(`${FILE_A} ro *\n\n# x\n`, "t")[0].channels, undefined);
  let now = 0;
  const bucket = new TokenBucket(100, 3, () => now);
  assertEquals([bucket.take(), bucket.take(), bucket.take(), bucket.take()], [
    true,
    true,
    true,
    false,
  ]);
  now += 10;
  assertEquals([bucket.take(), bucket.take()], [true, false]);
  assertThrows(() => parseIdRange("100-0FF"), RangeError);
  assertThrows(() => parseIdRange("7g"), SyntaxError);
});

Deno.test("the command line: --help explains the model, a public --host without tokens refuses to start", async () => {
  const run = (...args: string[]) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("../../../server.ts", import.meta.url).pathname, ...args],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
  const help = await run("--help");
  const text = new TextDecoder().decode(help.stdout);
  for (
    const row of [
      "--token TOKEN",
      "--read-only-token TOKEN",
      "--tokens-file FILE",
      "--insecure",
      "--allow-origin ORIGIN",
      "--max-send-rate N",
      "--allow-id RANGE",
      "--max-config-size BYTES",
      "--max-pending N",
      "--max-auth-failures N",
      "what is protected",
      "guessing tokens",
      "DNS rebinding",
    ]
  ) assert(text.includes(row), `--help mentions ${row}`);
  const refused = await run("-H", "0.0.0.0", "-p", "0");
  const out = new TextDecoder().decode(refused.stdout) + new TextDecoder().decode(refused.stderr);
  assertEquals(refused.code, 1, out);
  assert(out.includes("say --insecure"), out);
});

Deno.test("the command line: tokens from flags and a file, SIGHUP, and no token in its output", {
  ignore: Deno.build.os === "windows",
}, async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/tokens`;
  await Deno.writeTextFile(path, `${FILE_A} rw\n`, { mode: 0o600 });
  await Deno.chmod(path, 0o600);
  const server = spawnServer(["-v", "--token", RW, "--read-only-token", RO, "--tokens-file", path]);
  const url = (await server.until(/Channel 0: (ws:\/\/\S+)/))?.[1];
  assert(url, server.output());
  assert(
    server.output().includes("access tokens required (2 read-write, 1 read-only)"),
    server.output(),
  );
  await (await RemoteBus.connect(url, { token: RW })).close();
  await (await RemoteBus.connect(url, { token: FILE_A, tokenTransport: "config" })).close();
  const viewer = await RemoteBus.connect(url, { token: RO, tokenTransport: "subprotocol" });
  await viewer.send(createFrame({ arbitrationId: 1, isExtendedId: false }));
  await viewer.receive({ signal: AbortSignal.timeout(2000) }).catch(() => {});
  await viewer.close();
  for (const token of [WRONG, FILE_B]) {
    for (const tokenTransport of ["header", "subprotocol", "config"] as const) {
      await RemoteBus.connect(url, { token, tokenTransport }).catch(() => {});
    }
  }
  const python = await Deno.connect({ hostname: "127.0.0.1", port: Number(new URL(url).port) });
  await python.write(new TextEncoder().encode(
    recorded.request_raw.replace(/Host: [^\r]+/, `Host: ${new URL(url).host}`),
  ));
  await python.read(new Uint8Array(4096));
  // a malformed bus_request that quotes its token in the parse error
  await python.write(encodeFrame(1, `{"type": "bus_request", "payload": "${WRONG}"}`));
  await new FrameReader(python).next().catch(() => null);
  python.close();
  await Deno.writeTextFile(path, `${FILE_B} ro\n`);
  server.child.kill("SIGHUP");
  await server.until(/Reloaded/);
  await (await RemoteBus.connect(url, { token: FILE_B })).close();
  await server.stop();
  const output = server.output();
  assert(output.includes("Refused a WebSocket request"), output);
  assert(output.includes("wrong access token"), output);
  for (const secret of SECRETS) {
    assert(!output.includes(secret), `a token in the output:\n${output}`);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("the page cannot be framed by another site (clickjacking), except an allowed origin's", async () => {
  for (
    const [allowOrigins, csp, xfo] of [
      [[], "frame-ancestors 'self'", "SAMEORIGIN"],
      [["https://dash.lab"], "frame-ancestors 'self' https://dash.lab", null],
      [["*"], null, null],
    ] as const
  ) {
    const { server } = await start({ allowOrigins: [...allowOrigins] });
    for (const path of ["", "app.js"]) {
      const response = await fetch(server.httpUrl + path);
      await response.body?.cancel();
      assertEquals(response.status, 200);
      assertEquals(response.headers.get("content-security-policy"), csp, path);
      assertEquals(response.headers.get("x-frame-options"), xfo, path);
      assertEquals(response.headers.get("x-content-type-options"), "nosniff");
    }
    await server.close();
  }
});

Deno.test("a period under both minimums names the configured one", async () => {
  const { server } = await start({ minPeriod: 0.01 });
  const client = await TestClient.connect(server.url, { token: RW }, [JSON_PROTOCOL]);
  client.sendJson({
    type: "periodic_start",
    payload: { period: 0.0001, duration: null, msg: { arbitration_id: 1, is_extended_id: false } },
  });
  const event = await client.nextEvent();
  assert(event.type === "error");
  assertEquals(event.message, "Invalid periodic_start: period must be at least 0.01 s, got 0.0001");
  await client.close();
  await server.close();
});

Deno.test("no token appears in any log record of this file", async () => {
  // a client error event and a malformed request that quote a token, at debug level
  const { server } = await start();
  const client = await TestClient.connect(server.url, { token: RW });
  client.sendJson({ type: "error", payload: `I hold ${RW} and ${RO}` });
  client.send(`{"type": "message", "payload": "${RW}"}`);
  assertEquals((await client.nextEvent()).type, "error");
  await client.close();
  // tokens as the value and the name of keys the server ignores, logged at debug level
  const sneaky = await TestClient.connect(server.url, { token: RW, app: RO, [BODY]: 1 });
  await sneaky.close();
  const refused = await TestClient.open(server.url);
  refused.send(`{"type": "bus_request", "payload": "${WRONG}"}`);
  await refused.closed;
  await server.close();
  assert(records.length > 50, `${records.length} records captured`);
  const text = JSON.stringify(
    records.map((r) => [r.rawMessage, r.message, r.properties]),
    (_, v) => v instanceof Error ? `${v.message} ${v.stack}` : v,
  );
  assert(text.includes("[token]"), "the quoted tokens were redacted");
  for (const secret of SECRETS) assert(!text.includes(secret), `${secret} was logged`);
  await reset();
});
