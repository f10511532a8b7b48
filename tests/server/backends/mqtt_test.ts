import { assert, assertEquals, assertRejects } from "../../_helpers/assert.ts";
import { requires } from "../../_helpers/requires.ts";
import { startMosquitto } from "../../_helpers/brokers.ts";
import { collect, receiveUntil } from "../../_helpers/bus_conformance.ts";
import { encodeFrame, FrameReader, textOf } from "../../_helpers/raw_ws.ts";
import { serve, VirtualBackend } from "../../../server.ts";
import { RemoteBus } from "../../../client.ts";
import { VirtualBus } from "../../../core/virtual_bus.ts";
import { createFrame } from "../../../core/frame.ts";
import { RemoteError } from "../../../core/errors.ts";
import { encodeBinary } from "../../../core/codec_binary.ts";
import { MqttGateway } from "../../../server/mqtt/gateway.ts";
import { MqttBackend } from "../../../server/backends/mqtt.ts";
import { startDemoTraffic } from "../../../server/backends/demo.ts";
import { MqttConnection } from "../../../server/mqtt/connection.ts";

const needs = requires("mosquitto");

const recorded = JSON.parse(
  await Deno.readTextFile(
    new URL("../../../../shared/conformance/handshake.json", import.meta.url),
  ),
).client_upgrade_request as { request_raw: string };

async function until<T>(probe: () => T | undefined | false, what: string, ms = 8000): Promise<T> {
  const end = performance.now() + ms;
  while (true) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A virtual gateway with demo traffic on can0. */
async function demoGateway(broker: string, name: string, tx = false) {
  const backend = new VirtualBackend(["can0"]);
  const gateway = await MqttGateway.start({ broker, gateway: name, backend, tx });
  const bus = VirtualBus.open({ channel: "can0", network: backend.network });
  const stop = startDemoTraffic(bus);
  return {
    backend,
    gateway,
    async [Symbol.asyncDispose]() {
      stop();
      await bus.close();
      await gateway.close();
    },
  };
}

Deno.test({
  name:
    "hub: three gateways' demo traffic reaches RemoteBus clients of one hub; the list says online",
  ...needs,
  async fn() {
    await using broker = await startMosquitto();
    await using _a = await demoGateway(broker.url, "gw1");
    await using _b = await demoGateway(broker.url, "gw2");
    await using _c = await demoGateway(broker.url, "gw3");
    await using hub = await MqttBackend.create({
      channels: ["gw1", "gw2", "gw3"].map((g) => `${broker.url}/${g}/can0`),
    });
    await using server = await serve({ port: 0, backend: hub });
    for (const [i, name] of ["gw1/can0", "gw2/can0", "gw3/can0"].entries()) {
      await using client = await RemoteBus.connect(
        new URL(i === 0 ? "/" : `/${encodeURIComponent(name)}`, server.url),
      );
      const frames = await collect(client, 10, 0);
      assert(frames.some((f) => f.arbitrationId === 0x0c0), name);
      // the gateway's receive time, not the hub's
      assert(frames.every((f) => f.timestamp <= Date.now() / 1000 && f.timestamp > 0));
    }
    const list = await (await fetch(new URL("/api/channels", server.httpUrl))).json();
    assertEquals(list.interface, "mqtt");
    assertEquals(
      list.channels.map((c: { name: string; online: boolean }) => [c.name, c.online]),
      [["gw1/can0", true], ["gw2/can0", true], ["gw3/can0", true]],
    );
  },
});

Deno.test({
  name:
    "hub: python-can-remote's client sends through the hub; the frame appears on the gateway's bus",
  ...needs,
  async fn() {
    await using broker = await startMosquitto();
    const backend = new VirtualBackend(["can0"]);
    await using _gateway = await MqttGateway.start({
      broker: broker.url,
      gateway: "bench",
      backend,
      tx: true,
    });
    await using onGateway = await backend.open("can0", {});
    await using hub = await MqttBackend.create({ channels: [`${broker.url}/bench/can0`] });
    await using server = await serve({ port: 0, backend: hub });
    await using watcher = await RemoteBus.connect(server.url);
    // python-can-remote's recorded upgrade, then its bus_request and a binary message
    const port = server.addr.port;
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const reader = new FrameReader(conn);
    try {
      await conn.write(
        new TextEncoder().encode(
          recorded.request_raw.replace(/Host: [^\r]+/, `Host: 127.0.0.1:${port}`),
        ),
      );
      const head = new Uint8Array(4096);
      const n = await conn.read(head);
      assert(new TextDecoder().decode(head.subarray(0, n!)).startsWith("HTTP/1.1 101"));
      await conn.write(encodeFrame(1, '{"type": "bus_request", "payload": {"config": {}}}'));
      const response = JSON.parse(textOf((await reader.next())!));
      assertEquals(response.type, "bus_response");
      assert(response.payload.channel_info.includes("bench/can0"), response.payload.channel_info);
      const frame = createFrame({ arbitrationId: 0x7e0, isExtendedId: false, data: [2, 1, 0x0c] });
      await conn.write(encodeFrame(2, encodeBinary(frame)));
      const got = await receiveUntil(onGateway, (f) => f.arbitrationId === 0x7e0, 5000);
      assertEquals([...got.data], [2, 1, 0x0c]);
      // another hub client sees it once, from the hub, not again from the gateway's echo
      const seen = await collect(watcher, 1, 300);
      assertEquals(seen.map((f) => f.arbitrationId), [0x7e0]);
    } finally {
      conn.close();
    }
  },
});

Deno.test({
  name: "hub: --mqtt-discover serves every announced gateway and shows one offline once it stops",
  ...needs,
  async fn() {
    await using broker = await startMosquitto();
    await using _a = await demoGateway(broker.url, "line-1");
    const b = await demoGateway(broker.url, "line-2");
    await using hub = await MqttBackend.create({ discover: broker.url });
    await using server = await serve({ port: 0, backend: hub });
    await until(() => hub.channels.length === 2, "two announced channels");
    assertEquals(hub.channels, ["line-1/can0", "line-2/can0"]);
    // a stranger's status: its wildcard channel is not served, garbage is ignored
    const stranger = await MqttConnection.open({ broker: broker.url, env: {} });
    await stranger.client.publishAsync(
      "canremote/v1/evil/status",
      JSON.stringify({ online: true, gateway: "evil", channels: { "+": {}, "can0": {} } }),
      { retain: true },
    );
    await stranger.client.publishAsync("canremote/v1/junk/status", "{not json", { retain: true });
    await until(() => hub.channels.length === 3, "the stranger's channel");
    assertEquals(hub.channels, ["evil/can0", "line-1/can0", "line-2/can0"].sort());
    await stranger.client.publishAsync("canremote/v1/evil/status", "", { retain: true });
    await until(() => hub.channels.length === 2, "the stranger's status cleared");
    await stranger.close();
    await using client = await RemoteBus.connect(new URL("/line-2%2Fcan0", server.url));
    assert((await collect(client, 5, 0)).length >= 5);
    await b[Symbol.asyncDispose]();
    await until(() => hub.describe("line-2/can0").online === false, "line-2 offline");
    const list = await (await fetch(new URL("/api/channels", server.httpUrl))).json();
    assertEquals(
      list.channels.map((c: { name: string; online: boolean }) => [c.name, c.online]),
      [["line-1/can0", true], ["line-2/can0", false]],
    );
    // an unknown channel is refused before any upgrade
    await assertRejects(
      () => RemoteBus.connect(new URL("/line-9%2Fcan0", server.url)),
      RemoteError,
    );
  },
});

Deno.test({
  name: "hub: needs channels or discovery; a duplicate channel is refused",
  async fn() {
    await assertRejects(() => MqttBackend.create({}), RangeError, "--mqtt-discover");
    await assertRejects(
      () =>
        MqttBackend.create({
          channels: ["mqtt://127.0.0.1:1/gw/can0", "mqtt://127.0.0.2:1/gw/can0"],
        }),
      RangeError,
      "named twice",
    );
  },
});
