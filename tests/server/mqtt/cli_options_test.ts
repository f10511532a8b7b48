// The fleet flags of server.ts: parsing, and a hub and a gateway started
// from the command line.
import { assert, assertEquals, assertThrows } from "../../_helpers/assert.ts";
import { requires } from "../../_helpers/requires.ts";
import { startMosquitto } from "../../_helpers/brokers.ts";
import { spawnServer } from "../../_helpers/cli.ts";
import { mqttFlagOptions } from "../../../server/mqtt/cli_options.ts";
import { VirtualBackend } from "../../../server/backends/backend.ts";
import { MqttGateway } from "../../../server/mqtt/gateway.ts";
import { MqttBus } from "../../../server/mqtt/mqtt_bus.ts";
import { RemoteBus } from "../../../client.ts";
import { createFrame } from "../../../core/frame.ts";

Deno.test("mqttFlagOptions: keep-alive and flush interval are checked, quoting the value", () => {
  assertEquals(mqttFlagOptions({ "mqtt-keepalive": "5", "mqtt-flush": "50" }), {
    username: undefined,
    passwordFile: undefined,
    ca: undefined,
    keepalive: 5,
    flushInterval: 50,
  });
  assertThrows(() => mqttFlagOptions({ "mqtt-keepalive": "0" }), RangeError, '"0"');
  assertThrows(() => mqttFlagOptions({ "mqtt-keepalive": "70000" }), RangeError, '"70000"');
  assertThrows(() => mqttFlagOptions({ "mqtt-flush": "soon" }), RangeError, '"soon"');
});

Deno.test({
  name: "server.ts -i mqtt -c URL: a hub from the command line; --mqtt makes a gateway",
  ...requires("mosquitto"),
  async fn() {
    await using broker = await startMosquitto();
    const backend = new VirtualBackend(["can0"]);
    await using _gateway = await MqttGateway.start({ broker: broker.url, gateway: "gw1", backend });
    const hub = spawnServer(["-i", "mqtt", "-c", `${broker.url}/gw1/can0`]);
    const gateway = spawnServer(["--demo", "--mqtt", broker.url, "--gateway", "cli-gw"]);
    try {
      const url = (await hub.until(/Channel gw1\/can0: (ws:\/\/\S+)/))?.[1];
      assert(url, hub.output());
      await using client = await RemoteBus.connect(url);
      await using local = await backend.open("can0", {});
      // the hub's uplink is live once a frame makes it through
      let got;
      for (let i = 0; i < 50 && !got; i++) {
        await local.send(createFrame({ arbitrationId: 0x42, isExtendedId: false }));
        got = await client.receive({ signal: AbortSignal.timeout(100) }).catch(() => undefined);
      }
      assertEquals(got?.arbitrationId, 0x42);
      assert(await gateway.until(/Gateway cli-gw: publishing to/), gateway.output());
      await using consumer = await MqttBus.open({ channel: `${broker.url}/cli-gw/0` });
      assert((await consumer.receive({ signal: AbortSignal.timeout(5000) })).arbitrationId >= 0);
    } finally {
      await hub.stop();
      await gateway.stop();
    }
    assert(!hub.output().includes("ERR"), hub.output());
  },
});

Deno.test({
  name: "server.ts -i mqtt without channels or --mqtt-discover says what it needs",
  async fn() {
    const hub = spawnServer(["-i", "mqtt"]);
    const status = await hub.child.status;
    await hub.stop().catch(() => {});
    assertEquals(status.code, 1);
    assert(
      hub.output().includes("needs channels (mqtt://HOST:PORT/GATEWAY/CHANNEL) or --mqtt-discover"),
    );
  },
});
