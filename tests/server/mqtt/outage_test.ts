// A gateway that dies or hangs, a broker that restarts, credentials that
// are wrong: what consumers and the gateway's own clients see.
import { assert, assertEquals } from "../../_helpers/assert.ts";
import { requires } from "../../_helpers/requires.ts";
import { startMosquitto } from "../../_helpers/brokers.ts";
import { serve, VirtualBackend } from "../../../server.ts";
import { RemoteBus } from "../../../client.ts";
import { VirtualBus } from "../../../core/virtual_bus.ts";
import { type CanFrame, createFrame } from "../../../core/frame.ts";
import { MqttGateway } from "../../../server/mqtt/gateway.ts";
import { MqttBus } from "../../../server/mqtt/mqtt_bus.ts";

const needs = requires("mosquitto");
const SERVER = new URL("../../../server.ts", import.meta.url).pathname;

async function until<T>(probe: () => T | undefined | false, what: string, ms = 10_000): Promise<T> {
  const end = performance.now() + ms;
  while (true) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** `server.ts ARGS` in its own process, its output collected. */
function spawnServer(args: string[], env: Record<string, string> = {}) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SERVER, "-p", "0", ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
  }).spawn();
  let output = "";
  const collecting = Promise.all([child.stdout, child.stderr].map(async (stream) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) output += chunk;
  }));
  return {
    child,
    output: () => output,
    async end(signal: Deno.Signal = "SIGTERM") {
      try {
        child.kill(signal);
      } catch { /* gone already */ }
      const status = await child.status;
      await collecting;
      return status;
    },
  };
}

Deno.test({
  name: "outage: a SIGKILLed gateway reads offline at once; a hung one once its keep-alive lapses",
  ...needs,
  async fn() {
    await using broker = await startMosquitto();
    for (const [name, signal] of [["killed", "SIGKILL"], ["hung", "SIGSTOP"]] as const) {
      const gateway = spawnServer([
        "--demo",
        "--mqtt",
        broker.url,
        "--gateway",
        name,
        "--mqtt-keepalive",
        "1",
      ]);
      try {
        await using consumer = await MqttBus.open({ channel: `${broker.url}/${name}/0` });
        await until(() => consumer.gatewayStatus?.online, `${name} online`, 20_000);
        await consumer.receive({ signal: AbortSignal.timeout(5000) });
        gateway.child.kill(signal);
        // SIGKILL closes the socket; a stopped process keeps it open, and
        // only the keep-alive (1 s here, 10 s by default) tells the broker:
        // after 1.5 keep-alives, which Mosquitto 2.0 notices up to ~5 s late.
        const status = await until(
          () => consumer.gatewayStatus?.online === false && consumer.gatewayStatus,
          `${name} offline`,
          12_000,
        );
        assertEquals(status.gateway, name);
        assertEquals(Object.keys(status.channels), ["0"]);
      } finally {
        if (signal === "SIGSTOP") gateway.child.kill("SIGCONT");
        await gateway.end("SIGKILL");
      }
    }
  },
});

Deno.test({
  name:
    "outage: a broker restart mid-stream; gateway and consumer resume, lost frames counted, WebSocket clients unaffected",
  ...needs,
  async fn() {
    await using broker = await startMosquitto();
    const backend = new VirtualBackend(["can0"]);
    await using server = await serve({ port: 0, backend });
    await using gateway = await MqttGateway.start({ broker: broker.url, gateway: "gw", backend });
    await using consumer = await MqttBus.open({ channel: `${broker.url}/gw/can0` });
    await using wsClient = await RemoteBus.connect(server.url);
    const wsFrames: CanFrame[] = [];
    const pump = (async () => {
      for await (const frame of wsClient) wsFrames.push(frame);
    })();
    const mqttFrames: CanFrame[] = [];
    consumer.subscribe((entry) => {
      if (!(entry instanceof Error)) mqttFrames.push(entry);
    });
    // a counter in the data, 500 frames/s
    const sender = VirtualBus.open({ channel: "can0", network: backend.network });
    let n = 0;
    const timer = setInterval(() => {
      sender.send(
        createFrame({ arbitrationId: 0x100, isExtendedId: false, data: [n >> 8, n & 0xff] }),
      );
      n++;
    }, 2);
    try {
      await until(() => mqttFrames.length > 50, "frames before the outage");
      await broker.stop("SIGKILL");
      await until(() => gateway.status().channels.can0.dropped > 50, "frames dropped while away");
      const sentBefore = n;
      await broker.restart();
      await until(
        () => mqttFrames.some((f) => (f.data[0] << 8 | f.data[1]) > sentBefore),
        "frames after the restart",
        20_000,
      );
      await until(() => consumer.gatewayStatus?.online, "the status again");
    } finally {
      clearInterval(timer);
      await sender.close();
    }
    const last = n - 1;
    await until(
      () => wsFrames.length === n && wsFrames.at(-1)!.data[1] === (last & 0xff),
      "every frame on the WebSocket",
    );
    // the WebSocket client lost nothing
    const seq = (f: CanFrame) => f.data[0] << 8 | f.data[1];
    assertEquals(wsFrames.map(seq), Array.from({ length: n }, (_, i) => i));
    await wsClient.close();
    await pump;
    // the consumer has a gap; the gateway counted what it could not publish
    // (the last batch leaves within 10 ms)
    await until(() => {
      const c = gateway.status().channels.can0;
      return c.published + c.dropped === c.rx;
    }, "the last batch");
    const status = gateway.status();
    const counters = status.channels.can0;
    assertEquals(counters.rx, n);
    assert(counters.dropped > 50, `dropped ${counters.dropped}`);
    assert(status.reconnects! >= 1);
    const received = new Set(mqttFrames.map(seq));
    const missing = n - received.size;
    // lost = dropped at the gateway plus what was in flight when the broker died
    assert(missing >= counters.dropped, `missing ${missing}, dropped ${counters.dropped}`);
    // and consumers read the count in the retained status the gateway
    // published on reconnecting
    const seen = await until(
      () => consumer.gatewayStatus?.channels.can0.dropped,
      "dropped frames in the published status",
    );
    assert(seen > 0 && seen <= counters.dropped);
  },
});

Deno.test({
  name: "outage: a gateway with a wrong password stops with a clear message that holds no password",
  ...needs,
  async fn() {
    await using broker = await startMosquitto({ users: { gw: "right-password" } });
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(`${dir}/pw`, "wrong-password-4711\n");
      const gateway = spawnServer([
        "--mqtt",
        broker.url,
        "--gateway",
        "gw",
        "--mqtt-user",
        "gw",
        "--mqtt-password-file",
        `${dir}/pw`,
      ]);
      const status = await gateway.child.status.then(() => gateway.end());
      assertEquals(status.code, 1, gateway.output());
      assert(
        gateway.output().includes(
          `Cannot start: MQTT broker ${broker.url} refused the connection as user "gw": not authorized`,
        ),
        gateway.output(),
      );
      assert(!gateway.output().includes("wrong-password-4711"));
      // the right one from the environment
      const ok = spawnServer(["--mqtt", broker.url, "--gateway", "gw", "--mqtt-user", "gw"], {
        CANREMOTE_MQTT_PASSWORD: "right-password",
      });
      await until(() => ok.output().includes("Gateway gw: publishing to"), "the gateway", 20_000);
      assert(!ok.output().includes("right-password"));
      assertEquals((await ok.end()).code, 0);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
