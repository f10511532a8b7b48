// The server's bus from python-can's configuration, as the tools and
// createBus() read it: ~/.canrc, CAN_* variables, --context, flags first;
// and the server process itself started under such a HOME.
import { serverBus } from "../../server/bus_defaults.ts";
import { RemoteBus } from "../../client.ts";
import { assert, assertEquals, assertThrows } from "../_helpers/assert.ts";
import { denoEnv } from "../_helpers/cli.ts";

const SERVER = new URL("../../server.ts", import.meta.url).pathname;

async function withHome<T>(canrc: string, fn: (home: string) => Promise<T>): Promise<T> {
  const home = await Deno.makeTempDir({ prefix: "canrc_" });
  try {
    await Deno.writeTextFile(`${home}/.canrc`, canrc);
    return await fn(home);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

const GATEWAY = "[default]\ninterface = socketcan\nchannel = vcan7\nbitrate = 500000\n" +
  "receive_own_messages = False\n[lab]\ninterface = virtual\nchannel = lab\n";

Deno.test("serverBus: without -i/-c the file's [default] decides, and each value's origin is named", async () => {
  await withHome(GATEWAY, (home) => {
    const bus = serverBus({}, { env: { HOME: home } });
    assertEquals([bus.interface, bus.channels, bus.bitrate], ["socketcan", ["vcan7"], 500000]);
    assertEquals(bus.origins, [
      `interface socketcan from ${home}/.canrc:2 [default]`,
      `channel vcan7 from ${home}/.canrc:3 [default]`,
      `bitrate 500000 from ${home}/.canrc:4 [default]`,
    ]);
    assertEquals(bus.unused, ["receive_own_messages"]);
    return Promise.resolve();
  });
});

Deno.test("serverBus: --context picks the section; flags win over files and variables", async () => {
  await withHome(GATEWAY, (home) => {
    const lab = serverBus({ context: "lab" }, { env: { HOME: home } });
    assertEquals([lab.interface, lab.channels], ["virtual", ["lab"]]);
    const flags = serverBus(
      { interface: "virtual", channels: ["a", "b"], bitrate: 250000 },
      { env: { HOME: home, CAN_CHANNEL: "env" } },
    );
    assertEquals([flags.interface, flags.channels, flags.bitrate], ["virtual", ["a", "b"], 250000]);
    assertEquals(flags.origins, []);
    return Promise.resolve();
  });
});

Deno.test("serverBus: CAN_INTERFACE / CAN_CHANNEL, and no configuration at all", () => {
  const env = serverBus({}, { env: { CAN_INTERFACE: "virtual", CAN_CHANNEL: "7" }, path: [] });
  assertEquals([env.interface, env.channels], ["virtual", ["7"]]);
  assertEquals(env.origins, ["interface virtual from CAN_INTERFACE", "channel 7 from CAN_CHANNEL"]);
  const none = serverBus({}, { env: {}, path: [] });
  assertEquals([none.interface, none.channels, none.origins], ["virtual", ["0"], []]);
});

Deno.test("serverBus: remote takes the upstream's options, never quotes a token, needs a URL", () => {
  const bus = serverBus({}, {
    env: {
      CAN_INTERFACE: "remote",
      CAN_CHANNEL: "ws://gateway:54701/",
      CAN_CONFIG: '{"token": "s3cret-upstream", "fd": "True", "can_filters": []}',
    },
    path: [],
  });
  assertEquals(bus.options, { token: "s3cret-upstream", fd: true });
  assert(!bus.origins.join("\n").includes("s3cret"), bus.origins.join("\n"));
  assertEquals(bus.unused, ["can_filters"]);
  assertThrows(
    () => serverBus({}, { env: { CAN_INTERFACE: "remote" }, path: [] }),
    RangeError,
    "interface remote (from CAN_INTERFACE) needs the upstream server's URL",
  );
});

Deno.test("server process: ~/.canrc's [default] is shared, and the log says where it came from", async () => {
  const canrc = "[default]\ninterface = virtual\nchannel = vcan7\n[bench]\nchannel = bench1\n";
  await withHome(canrc, async (home) => {
    for (const [args, channel] of [[[], "vcan7"], [["--context", "bench"], "bench1"]] as const) {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", SERVER, "-p", "0", ...args],
        stdout: "piped",
        stderr: "piped",
        env: denoEnv(home),
      }).spawn();
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let out = "";
      while (!/Web page: /.test(out)) {
        const { value, done } = await reader.read();
        if (done) break;
        out += value;
      }
      try {
        assert(out.includes(`interface virtual from ${home}/.canrc:2 [default]`), out);
        assert(out.includes(`Sharing virtual channel ${channel}`), out);
        const url = new RegExp(`Channel ${channel}: (ws://\\S+)`).exec(out)![1];
        await using bus = await RemoteBus.connect(url);
        assertEquals(bus.channelInfo, `virtual channel ${channel} on ${url}`);
      } finally {
        child.kill("SIGTERM");
        await child.status;
        reader.releaseLock();
        await child.stdout.cancel().catch(() => {});
        await child.stderr.cancel();
      }
    }
  });
});
