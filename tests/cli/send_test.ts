// The send tool against a real server: cansend frames arrive as written,
// periodic sending starts and stops, bad input is refused, a process takes
// its bus from ~/.canrc, and frames or tasks the server refuses (read-only
// token, allowed ids, minimum period) make it say so and exit 1.
import { main } from "../../cli/send.ts";
import { parseCansend } from "../../core/candump.ts";
import { parseIdRange } from "../../server.ts";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { drain } from "../_helpers/bus_conformance.ts";
import { capture, denoEnv, runOnServer, shape, startServer } from "../_helpers/cli.ts";

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const SEND = new URL("../../cli/send.ts", import.meta.url).pathname;

const TEXTS = [
  "123#DEADBEEF",
  "1F334455#11.22.33",
  "7DF#R2",
  "456##3112233445566778899AABBCC",
  "20000004#0004000000000000",
  "000#",
];

const send = (url: string, args: string[]) => runOnServer(main, url, args);

Deno.test("send puts each frame on the bus, in order, as cansend would", async () => {
  await using test = await startServer();
  await using peer = test.peer();
  const out = capture();
  const code = await main(["-i", "remote", "-c", test.url, "-v", ...TEXTS], {
    stdout: out.stream,
    env: {},
    configPath: [],
  });
  assertEquals(code, 0);
  for (const text of TEXTS) {
    const frame = await peer.receive({ signal: AbortSignal.timeout(2000) });
    assertEquals(shape(frame), shape(parseCansend(text)), text);
  }
  assertEquals(out.text().split("\n")[0], "123#DEADBEEF");
});

Deno.test("--periodic sends until --duration, then stops", async () => {
  await using test = await startServer();
  await using peer = test.peer();
  const [code, text] = await send(test.url, [
    "--periodic",
    "20",
    "--duration",
    "0.3",
    "100#01",
    "101#02",
  ]);
  assertEquals(code, 0, text);
  // frames still on their way, until 150 ms pass without one
  const ids = (await drain(peer, 150)).map((frame) => frame.arbitrationId);
  const count = (id: number) => ids.filter((x) => x === id).length;
  assert(count(0x100) >= 3 && count(0x101) >= 3 && ids.length <= 40, ids.join());
  assertEquals(await drain(peer, 150), [], "still sending after the tool ended");
});

Deno.test("--periodic without --duration runs until stopped", async () => {
  await using test = await startServer();
  await using peer = test.peer();
  const stop = new AbortController();
  const done = main(["-i", "remote", "-c", test.url, "--periodic", "10", "7FF#AA"], {
    signal: stop.signal,
    stderr: new WritableStream(),
    env: {},
    configPath: [],
  });
  let count = 0;
  while (count < 5) {
    await peer.receive({ signal: AbortSignal.timeout(2000) });
    count++;
  }
  stop.abort();
  assertEquals(await done, 0);
});

Deno.test("bad frames and flags are refused before connecting", async () => {
  await using test = await startServer();
  let [code, text] = await send(test.url, ["123#GG"]);
  assertEquals(code, 2);
  assert(text.includes('"123#GG"'), text);
  [code, text] = await send(test.url, ["12345#00"]);
  assertEquals(code, 2);
  assert(text.includes("the id has 5 hex digits; a standard id has 3"), text);
  assert(!text.includes("CAN XL"), text);
  [code, text] = await send(test.url, ["123#DE AD"]);
  assertEquals(code, 2);
  assert(text.includes("a frame has no spaces"), text);
  [code, text] = await send(test.url, ["-b", "500k", "123#00"]);
  assertEquals(code, 0, text);
  for (const bitrate of ["fast", "0", "99999999999999999999"]) {
    [code, text] = await send(test.url, ["--bitrate", bitrate, "123#00"]);
    assertEquals(code, 2);
    assert(
      text.includes(
        `--bitrate must be a bit rate in bit/s, such as 500000 or 500k, got "${bitrate}"`,
      ),
      text,
    );
    assert(!text.includes("9007199254740991"), text);
  }
  [code, text] = await send(test.url, ["800#00"]);
  assertEquals(code, 2);
  assert(text.includes("7FF"), text);
  [code, text] = await send(test.url, ["--periodic", "10", "100#01", "100#02"]);
  assertEquals(code, 2);
  assert(text.includes("different ids"), text);
  [code, text] = await send(test.url, ["--duration", "1", "100#01"]);
  assertEquals(code, 2);
  [code, text] = await send(test.url, []);
  assertEquals(code, 2);
  assert(text.includes("give at least one frame"), text);
  // The one accepted send (-b 500k) closed its connection; the server releases its bus
  // when the close arrives, so wait for that (bounded) before checking no other bus stayed.
  for (let i = 0; i < 100 && test.network.channelSize("0") > 0; i++) await delay(50);
  assertEquals(test.network.channelSize("0"), 0);
});

Deno.test("a send process takes interface and channel from ~/.canrc, and --context picks a section", async () => {
  await using test = await startServer();
  await using peer = test.peer();
  const home = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${home}/.canrc`,
      `[default]\ninterface = socketcan\nchannel = can9\n\n[lab]\ninterface = remote\nchannel = ${test.url}\n`,
    );
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", SEND, "--context", "lab", "123#0102", "1F334455#R"],
      env: denoEnv(home),
      stdout: "null",
    }).output();
    assertEquals(code, 0, new TextDecoder().decode(stderr));
    assertEquals((await peer.receive({ signal: AbortSignal.timeout(2000) })).arbitrationId, 0x123);
    assert((await peer.receive({ signal: AbortSignal.timeout(2000) })).isRemoteFrame);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("frames the server refuses make send print its message and exit 1", async () => {
  const token = "dashboard-read-only-7c1e";
  await using test = await startServer({ tokens: [{ token, role: "ro" }] });
  await using peer = test.peer();
  const out = capture();
  const err = capture();
  const code = await main(
    ["-i", "remote", "-c", test.url, `--token=${token}`, "-v", "150#01", "151#02"],
    { stdout: out.stream, stderr: err.stream, env: {}, configPath: [] },
  );
  assertEquals(code, 1, err.text());
  assertEquals(
    err.text(),
    "send: the server refused: read-only client: cannot send frames\n" +
      "send: the server refused 2 times in all\n",
  );
  assertEquals(out.text(), "", "no frame was taken");
  assertEquals(await drain(peer, 100), []);
});

Deno.test("an id outside the server's allowed ids is refused; the others go out", async () => {
  await using test = await startServer({ allowedIds: [parseIdRange("100-1FF")] });
  await using peer = test.peer();
  const [code, text] = await send(test.url, ["150#01", "250#02", "1FF#03"]);
  assertEquals(code, 1, text);
  assert(text.startsWith("send: the server refused: Arbitration id 0x250 may not be sent"), text);
  assertEquals((await drain(peer, 100)).map((f) => f.arbitrationId), [0x150, 0x1ff]);
});

Deno.test("a period under the server's minimum stops --periodic at once with exit 1", async () => {
  await using test = await startServer({ minPeriod: 0.01 });
  await using peer = test.peer();
  const out = capture();
  const err = capture();
  // No --duration: without the refusal this would run until stopped.
  const code = await main(["-i", "remote", "-c", test.url, "-v", "--periodic", "5", "150#01"], {
    stdout: out.stream,
    stderr: err.stream,
    env: {},
    configPath: [],
    signal: AbortSignal.timeout(5000),
  });
  assertEquals(code, 1, err.text());
  assertEquals(
    err.text(),
    "send: the server refused: Invalid periodic_start: period must be at least 0.01 s, got 0.005\n",
  );
  assertEquals(out.text(), "");
  assertEquals(await drain(peer, 100), []);

  // At the minimum it runs, and -v says so.
  const ok = capture();
  const okErr = capture();
  const okCode = await main(
    ["-i", "remote", "-c", test.url, "-v", "--periodic", "10", "--duration", "0.35", "150#01"],
    { stdout: ok.stream, stderr: okErr.stream, env: {}, configPath: [] },
  );
  assertEquals(okCode, 0, okErr.text());
  assertEquals(okErr.text(), "");
  assertEquals(ok.text(), "150#01 every 10 ms\n");
  assert((await drain(peer, 150)).length >= 3);
});

Deno.test("--token TOKEN and --token=TOKEN both reach a server that requires one", async () => {
  await using test = await startServer({ tokens: ["s3cret-token-1"] });
  await using peer = test.peer();
  for (const args of [["--token", "s3cret-token-1"], ["--token=s3cret-token-1"]]) {
    const [code, text] = await send(test.url, [...args, "123#01"]);
    assertEquals([code, text], [0, ""], args.join(" "));
    assertEquals((await peer.receive({ signal: AbortSignal.timeout(2000) })).arbitrationId, 0x123);
  }
  const [code, text] = await send(test.url, ["123#01"]);
  assertEquals(code, 1);
  assert(text.includes("requires an access token: --token TOKEN"), text);
});

Deno.test("every tool's --help names --token", async () => {
  for (const tool of ["send", "dump", "logger", "player"]) {
    const { USAGE } = await import(`../../cli/${tool}.ts`);
    assert(/--token TOKEN/.test(USAGE), tool);
  }
});

Deno.test("the server's printed web page address works as -c; another scheme is named", async () => {
  await using test = await startServer();
  await using peer = test.peer();
  let [code, text] = await send(test.server.httpUrl, ["123#01"]);
  assertEquals([code, text], [0, ""]);
  assertEquals((await peer.receive({ signal: AbortSignal.timeout(2000) })).arbitrationId, 0x123);
  [code, text] = await send(test.server.httpUrl.replace("http:", "ftp:"), ["123#01"]);
  assertEquals(code, 1);
  assert(text.includes("use ws://, wss://, http:// or https://"), text);
});

const DEMO_DBC = new URL("../../server/backends/demo.dbc", import.meta.url).pathname;

Deno.test("send --dbc builds the frame from signal values and labels", async () => {
  await using test = await startServer();
  await using peer = test.peer();
  const [code, err] = await send(test.url, [
    "--dbc",
    DEMO_DBC,
    "EEC1",
    "EngineSpeed=1500",
    "ActualEngineTorque=-10",
  ]);
  assertEquals(code, 0, err);
  const eec1 = await peer.receive({ signal: AbortSignal.timeout(2000) });
  assertEquals([eec1.arbitrationId, eec1.isExtendedId], [0x0cf00400, true]);
  assertEquals([...eec1.data], [0, 0, 115, 0xe0, 0x2e, 0, 0, 0]);
  const [code2] = await send(test.url, ["--dbc", DEMO_DBC, "Transmission", "Gear=Reverse"]);
  assertEquals(code2, 0);
  const gear = await peer.receive({ signal: AbortSignal.timeout(2000) });
  assertEquals([gear.arbitrationId, [...gear.data]], [0x3e8, [7, 0]]);
});

Deno.test("send --dbc refuses out-of-range values, unknown labels, signals and messages", async () => {
  await using test = await startServer();
  const cases: [string[], string][] = [
    [["EEC1", "EngineSpeed=9000"], 'Signal "EngineSpeed" of "EEC1" must be within 0-8031.875 rpm'],
    [["Transmission", "Gear=Eleventh"], 'has no value "Eleventh"'],
    [["EEC1", "Speed=1"], 'Message "EEC1" has no signal "Speed"'],
    [["EEC9"], 'No message named "EEC9"'],
    [["EEC1", "EngineSpeed"], 'expected SIGNAL=VALUE, got "EngineSpeed"'],
  ];
  for (const [args, message] of cases) {
    const [code, err] = await send(test.url, ["--dbc", DEMO_DBC, ...args]);
    assertEquals(code, 2, err);
    assert(err.includes(message), err);
  }
});
