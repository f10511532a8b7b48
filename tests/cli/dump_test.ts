// The dump tool against a real server: candump's layout (checked against
// can-utils' own log2long), candump -L lines that parse back, timestamps,
// filters, -n and -T.
import { main } from "../../cli/dump.ts";
import { parseCandump } from "../../core/candump.ts";
import { type CanFrame, createFrame } from "../../core/frame.ts";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { capture, shape, startServer } from "../_helpers/cli.ts";
import { requires } from "../_helpers/requires.ts";

const FRAMES: CanFrame[] = [
  createFrame({ arbitrationId: 0x123, isExtendedId: false, data: [0x11, 0x22, 0x33, 0x44] }),
  createFrame({ arbitrationId: 0x7ff, isExtendedId: false, data: [] }),
  createFrame({ arbitrationId: 0x1f334455, isExtendedId: true, isRemoteFrame: true, dlc: 3 }),
  createFrame({ arbitrationId: 0x0c0, isExtendedId: false, data: [0x41, 0x42, 0x0a] }),
  createFrame({
    arbitrationId: 0x123,
    isExtendedId: false,
    isFd: true,
    bitrateSwitch: true,
    data: new Uint8Array(12).fill(0xaa),
  }),
  createFrame({
    arbitrationId: 0x80,
    isExtendedId: false,
    isErrorFrame: true,
    data: new Uint8Array(8),
  }),
];

/** Runs dump against the server until it has shown `FRAMES`, which a peer sends. */
async function dump(args: string[]): Promise<string> {
  await using test = await startServer();
  const out = capture();
  const err = capture();
  const done = main(["-i", "remote", "-c", test.url, "-n", String(FRAMES.length), ...args], {
    stdout: out.stream,
    stderr: err.stream,
    env: {},
    configPath: [],
  });
  await test.clients(1);
  await using peer = test.peer();
  for (const frame of FRAMES) await peer.send(frame);
  assertEquals(await done, 0, err.text());
  return out.text();
}

Deno.test("dump shows frames in candump's layout", async () => {
  const text = await dump([]);
  assertEquals(text.split("\n"), [
    "  0  123   [4]  11 22 33 44",
    "  0  7FF   [0] ",
    "  0  1F334455   [3]  remote request",
    // candump indents standard ids once it has seen an extended one.
    "  0       0C0   [3]  41 42 0A",
    "  0       123  [12]  AA AA AA AA AA AA AA AA AA AA AA AA",
    "  0  20000080   [8]  00 00 00 00 00 00 00 00   ERRORFRAME",
    "",
  ]);
});

Deno.test("dump -L writes candump -L lines that parse back to the frames sent", async () => {
  const lines = (await dump(["-L"])).trimEnd().split("\n");
  assertEquals(lines.length, FRAMES.length);
  for (const [i, line] of lines.entries()) {
    assert(/^\(\d{10}\.\d{6}\) 0 \S+$/.test(line), line);
    assertEquals(shape(parseCandump(line)), shape(FRAMES[i]));
  }
  assertEquals(lines[4].split(" ")[2], "123##1AAAAAAAAAAAAAAAAAAAAAAAA");
});

Deno.test(
  "dump's layout matches can-utils' log2long, ASCII column included",
  requires("can-utils"),
  async () => {
    const logLines = (await dump(["-L"])).trimEnd().split("\n");
    // log2long always indents standard ids; an extended frame first makes dump do it too.
    const ordered = [logLines[2], ...logLines.slice(0, 2), ...logLines.slice(3)];
    const child = new Deno.Command("log2long", { stdin: "piped", stdout: "piped" }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(ordered.join("\n") + "\n"));
    await writer.close();
    const expected = new TextDecoder().decode((await child.output()).stdout).trimEnd().split("\n");

    await using test = await startServer();
    const out = capture();
    const done = main(["-i", "remote", "-c", test.url, "-a", "-n", "6"], {
      stdout: out.stream,
      env: {},
      configPath: [],
    });
    await test.clients(1);
    await using peer = test.peer();
    for (const line of ordered) await peer.send(parseCandump(line));
    assertEquals(await done, 0);
    const ours = out.text().trimEnd().split("\n");
    // both name the server's channel, 0 (the -L lines above carry it)
    const afterChannel = (line: string) => line.slice(line.indexOf(" 0 ") + 2).trimEnd();
    assertEquals(ours.map(afterChannel), expected.map(afterChannel));
  },
);

Deno.test("dump -t a|d|z prefixes timestamps as candump does", async () => {
  const absolute = (await dump(["-t", "a"])).split("\n")[0];
  assert(/^ \(\d{10}\.\d{6}\)$/.test(absolute.slice(0, 20)), absolute);
  assertEquals(absolute.slice(20), "  0  123   [4]  11 22 33 44");
  const zero = (await dump(["-t", "z"])).split("\n");
  assert(zero[0].startsWith(" (000.000000)  0  123"), zero[0]);
  assert(/^ \(\d{3}\.\d{6}\) {2}0 /.test(zero[5]), zero[5]);
  const delta = (await dump(["-t", "d"])).split("\n");
  assert(delta[0].startsWith(" (000.000000) "), delta[0]);
});

Deno.test("dump --filter, -T and bad flags", async () => {
  await using test = await startServer();
  const out = capture();
  const done = main(["-i", "remote", "-c", test.url, "--filter", "120:7F0", "-T", "300", "-L"], {
    stdout: out.stream,
    env: {},
    configPath: [],
  });
  await test.clients(1);
  await using peer = test.peer();
  for (const frame of FRAMES) await peer.send(frame);
  assertEquals(await done, 0);
  const lines = out.text().trimEnd().split("\n");
  assertEquals(lines.map((l) => l.split(" ")[2]), [
    "123#11223344",
    "123##1AAAAAAAAAAAAAAAAAAAAAAAA",
  ]);

  const err = capture();
  assertEquals(await main(["-t", "x"], { stderr: err.stream, env: {}, configPath: [] }), 2);
  assert(err.text().includes('-t must be a, A, d or z, got "x"'), err.text());
  const err2 = capture();
  assertEquals(await main(["--filter", "123~7FF", "-i", "virtual"], { stderr: err2.stream }), 2);
  assert(err2.text().includes("inverted filters"), err2.text());
});

Deno.test("dump takes several filters after one --filter, as python-can's tools do", async () => {
  await using test = await startServer();
  const out = capture();
  const done = main(
    ["-i", "remote", "-c", test.url, "--filter", "7FF:7FF", "1F334455:1FFFFFFF", "-n", "2", "-L"],
    { stdout: out.stream, env: {}, configPath: [] },
  );
  await test.clients(1);
  await using peer = test.peer();
  for (const frame of FRAMES) await peer.send(frame);
  assertEquals(await done, 0);
  const ids = out.text().trimEnd().split("\n").map((line) => parseCandump(line).arbitrationId);
  assertEquals(ids, [0x7ff, 0x1f334455]);
});

const DEMO_DBC = new URL("../../server/backends/demo.dbc", import.meta.url).pathname;
const SIGNAL_FRAMES: CanFrame[] = [
  createFrame({ arbitrationId: 0x0cf00400, data: [0xf0, 0x7d, 0x7d, 0x00, 0x19, 0, 0xf0, 0x7d] }),
  createFrame({ arbitrationId: 0x3e8, isExtendedId: false, data: [3, 0x81] }),
  createFrame({ arbitrationId: 0x3e9, isExtendedId: false, data: [3, 0x81] }),
];

async function dumpSignals(args: string[]): Promise<string> {
  await using test = await startServer();
  const out = capture();
  const err = capture();
  const done = main(["-i", "remote", "-c", test.url, "-n", "3", ...args], {
    stdout: out.stream,
    stderr: err.stream,
    env: {},
    configPath: [],
  });
  await test.clients(1);
  await using peer = test.peer();
  for (const frame of SIGNAL_FRAMES) await peer.send(frame);
  assertEquals(await done, 0, err.text());
  return out.text();
}

Deno.test("dump --dbc writes each known frame's signals after its candump line", async () => {
  assertEquals((await dumpSignals(["--dbc", DEMO_DBC])).split("\n"), [
    "  0  0CF00400   [8]  F0 7D 7D 00 19 00 F0 7D",
    "      EEC1(EngineTorqueMode: 0, DriversDemandTorque: 0 %, ActualEngineTorque: 0 %, " +
    "EngineSpeed: 800 rpm, ControllingDeviceAddress: 0, EngineStarterMode: 0, EngineDemandTorque: 0 %)",
    "  0       3E8   [2]  03 81",
    "      Transmission(Gear: 'Third', EngineRunning: 'On', BrakePressed: 'Pressed')",
    "  0       3E9   [2]  03 81",
    "",
  ]);
});

Deno.test("dump --dbc leaves -L lines as they are", async () => {
  const lines = (await dumpSignals(["--dbc", DEMO_DBC, "-L"])).trimEnd().split("\n");
  assertEquals(lines.map((line) => parseCandump(line).arbitrationId), [0x0cf00400, 0x3e8, 0x3e9]);
});

Deno.test("dump --dbc refuses a malformed DBC file with its line and column, before connecting", async () => {
  const path = await Deno.makeTempFile({ suffix: ".dbc" });
  try {
    await Deno.writeTextFile(path, "BO_ 1 M: 8 X\nBO_ oops\n");
    const err = capture();
    const code = await main(["-i", "remote", "-c", "ws://127.0.0.1:1/", "--dbc", path], {
      stdout: capture().stream,
      stderr: err.stream,
      env: {},
      configPath: [],
    });
    assertEquals(code, 2);
    assert(err.text().includes(`${path}: DBC line 2, column 5`), err.text());
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("dump -e writes error frames in candump -e's words", async () => {
  const text = await dump(["-e"]);
  // can-utils 2020.11: candump -e prints "\tbus-error" under 20000080's line.
  assertEquals(text.split("\n").slice(-3), [
    "  0  20000080   [8]  00 00 00 00 00 00 00 00   ERRORFRAME",
    "\tbus-error",
    "",
  ]);
});
