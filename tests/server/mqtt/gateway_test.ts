import { assert, assertEquals, assertRejects } from "../../_helpers/assert.ts";
import { requires } from "../../_helpers/requires.ts";
import { startMosquitto } from "../../_helpers/brokers.ts";
import { collect, receiveUntil } from "../../_helpers/bus_conformance.ts";
import { VirtualBackend } from "../../../server/backends/backend.ts";
import { VirtualBus } from "../../../core/virtual_bus.ts";
import { createFrame } from "../../../core/frame.ts";
import { encodeFramesBatch } from "../../../core/codec_batch.ts";
import { CanError } from "../../../core/errors.ts";
import { MqttGateway } from "../../../server/mqtt/gateway.ts";
import { MqttBus } from "../../../server/mqtt/mqtt_bus.ts";
import { MqttConnection, toBuffer } from "../../../server/mqtt/connection.ts";
import { parseStatus } from "../../../server/mqtt/status.ts";
import { startDemoTraffic } from "../../../server/backends/demo.ts";

const needs = requires("mosquitto");

async function waitFor<T>(probe: () => T | undefined, ms = 5000): Promise<T> {
  const end = performance.now() + ms;
  while (true) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (performance.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test({
  name: "gateway: frames of the bus reach a consumer in order, with the gateway's timestamps",
  ...needs,
  async fn() {
    await using broker = await startMosquitto();
    const backend = new VirtualBackend(["can0"]);
    await using gateway = await MqttGateway.start({ broker: broker.url, gateway: "gw1", backend });
    await using consumer = await MqttBus.open({ channel: `${broker.url}/gw1/can0` });
    await using local = await backend.open("can0", {});
    const before = Date.now() / 1000;
    for (let i = 0; i < 500; i++) {
      await local.send(createFrame({ arbitrationId: i, isExtendedId: false, data: [i & 0xff] }));
    }
    const frames = await collect(consumer, 500);
    assertEquals(frames.map((f) => f.arbitrationId), Array.from({ length: 500 }, (_, i) => i));
    assert(frames.every((f) => f.timestamp >= before - 1 && f.timestamp <= Date.now() / 1000));
    assertEquals(frames[0].channel, "gw1/can0");
    // 500 frames within a few 10 ms flushes: batches, not one publish per frame
    const status = gateway.status();
    assertEquals(status.channels.can0.rx, 500);
    assertEquals(status.channels.can0.published, 500);
    assertEquals(status.channels.can0.dropped, 0);
    assertEquals(consumer.gatewayStatus?.online, true);
    assertEquals(consumer.gatewayStatus?.tx, false);
  },
});

Deno.test({
  name:
    "gateway: filters apply on the consumer; the retained status tells a late consumer it is online",
  ...needs,
  async fn() {
    await using broker = await startMosquitto();
    const backend = new VirtualBackend(["0"]);
    await using _gateway = await MqttGateway.start({
      broker: broker.url,
      gateway: "bench",
      backend,
    });
    await using consumer = await MqttBus.open({
      channel: `${broker.url}/bench/0`,
      canFilters: [{ canId: 0x100, canMask: 0x700 }],
    });
    const status = await waitFor(() => consumer.gatewayStatus);
    assertEquals(status.online, true);
    assertEquals(status.gateway, "bench");
    assertEquals(Object.keys(status.channels), ["0"]);
    assertEquals(status.channels["0"].bitrate, null);
    await using local = await backend.open("0", {});
    for (const id of [0x200, 0x123, 0x7ff, 0x1ff]) {
      await local.send(createFrame({ arbitrationId: id, isExtendedId: false }));
    }
    assertEquals((await collect(consumer, 2)).map((f) => f.arbitrationId), [0x123, 0x1ff]);
  },
});

Deno.test({
  name: "gateway: --mqtt-tx frames reach the bus; without it send() refuses and nothing is sent",
  ...needs,
  async fn() {
    await using broker = await startMosquitto();
    const backend = new VirtualBackend(["can0"]);
    await using bus = await backend.open("can0", {});
    {
      await using _gateway = await MqttGateway.start({
        broker: broker.url,
        gateway: "gw",
        backend,
        tx: true,
      });
      await using consumer = await MqttBus.open({
        channel: `${broker.url}/gw/can0`,
        receiveOwnMessages: true,
      });
      await waitFor(() => consumer.gatewayStatus);
      await consumer.send(createFrame({ arbitrationId: 0x321, isExtendedId: false, data: [9] }));
      const frame = await bus.receive({ signal: AbortSignal.timeout(5000) });
      assertEquals([frame.arbitrationId, frame.data[0]], [0x321, 9]);
      const own = await consumer.receive({ signal: AbortSignal.timeout(2000) });
      assertEquals([own.arbitrationId, own.isRx], [0x321, false]);
      // a periodic task runs on the consumer: each frame reaches the bus
      const task = consumer.sendPeriodic(
        createFrame({ arbitrationId: 0x10, isExtendedId: false }),
        0.01,
      );
      await receiveUntil(bus, (f) => f.arbitrationId === 0x10, 5000);
      await receiveUntil(bus, (f) => f.arbitrationId === 0x10, 5000);
      task.stop();
    }
    await bus.close();
    await using _gateway = await MqttGateway.start({ broker: broker.url, gateway: "gw", backend });
    await using consumer = await MqttBus.open({ channel: `${broker.url}/gw/can0` });
    await using quiet = await backend.open("can0", {});
    await waitFor(() => consumer.gatewayStatus?.online === true && consumer.gatewayStatus);
    const error = await assertRejects(
      () => consumer.send(createFrame({ arbitrationId: 0x321, isExtendedId: false })),
      CanError,
    ) as CanError;
    assertEquals(error.code, "EACCES");
    assert(error.message.includes("--mqtt-tx"), error.message);
    await assertRejects(
      () => quiet.receive({ signal: AbortSignal.timeout(300) }),
      DOMException,
    );
  },
});

Deno.test({
  name: "gateway: garbage, forbidden ids and floods on tx are refused and counted; the bus goes on",
  ...needs,
  async fn() {
    await using broker = await startMosquitto();
    const backend = new VirtualBackend(["can0"]);
    await using bus = await backend.open("can0", {});
    await using gateway = await MqttGateway.start({
      broker: broker.url,
      gateway: "gw",
      backend,
      tx: true,
      limits: { allowedIds: [{ from: 0x100, to: 0x1ff }], maxSendRate: 50, sendBurst: 5 },
    });
    const writer = await MqttConnection.open({ broker: broker.url });
    const tx = "canremote/v1/gw/can0/tx";
    const publish = (bytes: Uint8Array) => writer.client.publishAsync(tx, toBuffer(bytes));
    await publish(new Uint8Array([0x80, 200, 1, 2]));
    await publish(new TextEncoder().encode("hello"));
    await publish(encodeFramesBatch([createFrame({ arbitrationId: 0x700, isExtendedId: false })]));
    await publish(encodeFramesBatch(
      Array.from(
        { length: 20 },
        (_, i) => createFrame({ arbitrationId: 0x100 + i, isExtendedId: false }),
      ),
    ));
    const frames = await collect(bus, 5, 300);
    // the burst of 5 went through; the other 15 were over the rate
    assertEquals(frames.map((f) => f.arbitrationId), [0x100, 0x101, 0x102, 0x103, 0x104]);
    const counters = await waitFor(() => {
      const c = gateway.status().channels.can0;
      return c.txRefused === 18 && c.tx === 5 ? c : undefined;
    });
    assertEquals([counters.tx, counters.txRefused], [5, 18]);
    await writer.close();
  },
});

Deno.test({
  name: "gateway: demo traffic of three gateways reaches one consumer; close() reads offline",
  ...needs,
  async fn() {
    await using broker = await startMosquitto();
    const gateways: MqttGateway[] = [];
    const stops: (() => void)[] = [];
    const demoBuses: VirtualBus[] = [];
    for (const name of ["gw1", "gw2", "gw3"]) {
      const backend = new VirtualBackend(["can0"]);
      gateways.push(await MqttGateway.start({ broker: broker.url, gateway: name, backend }));
      const bus = VirtualBus.open({ channel: "can0", network: backend.network });
      demoBuses.push(bus);
      stops.push(startDemoTraffic(bus));
    }
    const consumers = await Promise.all(
      ["gw1", "gw2", "gw3"].map((g) => MqttBus.open({ channel: `${broker.url}/${g}/can0` })),
    );
    for (const consumer of consumers) {
      const frames = await collect(consumer, 20, 0);
      assert(frames.length >= 20);
      assert(frames.some((f) => f.arbitrationId === 0x0cf00400 && f.isExtendedId));
      assert(frames.some((f) => f.arbitrationId === 0x0c0));
    }
    for (const stop of stops) stop();
    for (const bus of demoBuses) await bus.close();
    await gateways[1].close();
    const status = await waitFor(() =>
      consumers[1].gatewayStatus?.online === false ? consumers[1].gatewayStatus : undefined
    );
    assert(status.channels.can0.published > 0);
    for (const g of gateways) await g.close();
    for (const c of consumers) await c.close();
  },
});

Deno.test({
  name: "gateway: status payloads parse, and a cleared retained status reads as none",
  fn() {
    assertEquals(parseStatus(new Uint8Array()), undefined);
  },
});
