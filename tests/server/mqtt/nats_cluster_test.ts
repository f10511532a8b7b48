// A three-node NATS cluster with MQTT listeners: a gateway publishes
// through node 1, a consumer and a hub read from node 3.
import { assert, assertEquals } from "../../_helpers/assert.ts";
import { requires } from "../../_helpers/requires.ts";
import { startNatsCluster } from "../../_helpers/brokers.ts";
import { collect } from "../../_helpers/bus_conformance.ts";
import { serve, VirtualBackend } from "../../../server.ts";
import { RemoteBus } from "../../../client.ts";
import { createFrame } from "../../../core/frame.ts";
import { MqttGateway } from "../../../server/mqtt/gateway.ts";
import { MqttBus } from "../../../server/mqtt/mqtt_bus.ts";
import { MqttBackend } from "../../../server/backends/mqtt.ts";

Deno.test({
  name:
    "nats cluster: a gateway on node 1 reaches a consumer and a hub on node 3, and tx goes back",
  ...requires("nats-server"),
  async fn() {
    await using cluster = await startNatsCluster();
    const [node1, , node3] = cluster.nodes;
    const backend = new VirtualBackend(["can0"]);
    await using onGateway = await backend.open("can0", {});
    await using _gateway = await MqttGateway.start({
      broker: node1.url,
      gateway: "gw1",
      backend,
      tx: true,
    });
    await using consumer = await MqttBus.open({ channel: `${node3.url}/gw1/can0` });
    await using hub = await MqttBackend.create({ channels: [`${node3.url}/gw1/can0`] });
    await using server = await serve({ port: 0, backend: hub });
    await using client = await RemoteBus.connect(server.url);
    // the retained status crosses the cluster too
    for (let i = 0; i < 500 && !consumer.gatewayStatus; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assertEquals(consumer.gatewayStatus?.online, true);
    // route interest between nodes settles after the subscription: send until it flows
    let id = 0;
    while (true) {
      await onGateway.send(
        createFrame({ arbitrationId: 0x300, isExtendedId: false, data: [id++] }),
      );
      try {
        await consumer.receive({ signal: AbortSignal.timeout(100) });
        break;
      } catch (error) {
        if (id > 100) throw error;
      }
    }
    for (let i = 0; i < 200; i++) {
      await onGateway.send(createFrame({ arbitrationId: i, isExtendedId: true, data: [i & 0xff] }));
    }
    const frames = (await collect(consumer, 200)).filter((f) => f.arbitrationId !== 0x300);
    assertEquals(frames.map((f) => f.arbitrationId), Array.from({ length: 200 }, (_, i) => i));
    const viaHub = (await collect(client, 200)).filter((f) => f.arbitrationId !== 0x300);
    assertEquals(viaHub.length, 200);
    // and back: a hub client's frame reaches the gateway's bus through the cluster
    await client.send(createFrame({ arbitrationId: 0x7e8, isExtendedId: false, data: [1] }));
    while (true) {
      const frame = await onGateway.receive({ signal: AbortSignal.timeout(5000) });
      if (frame.arbitrationId === 0x7e8) break;
    }
    assert(true);
  },
});
