import { assert, assertEquals, assertRejects } from "../../_helpers/assert.ts";
import { requires } from "../../_helpers/requires.ts";
import { startMosquitto } from "../../_helpers/brokers.ts";
import { makePki } from "../../_helpers/pki.ts";
import { CanError } from "../../../core/errors.ts";
import { MqttConnection } from "../../../server/mqtt/connection.ts";
import { VirtualBackend } from "../../../server/backends/backend.ts";
import { MqttGateway } from "../../../server/mqtt/gateway.ts";
import { MqttBus } from "../../../server/mqtt/mqtt_bus.ts";
import { createFrame } from "../../../core/frame.ts";

Deno.test({
  name: "connection: mqtts:// with a private CA; without it the certificate is refused",
  ...requires("mosquitto", "openssl"),
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const pki = await makePki(dir, { broker: "DNS:localhost,IP:127.0.0.1" });
      await using broker = await startMosquitto({ tls: pki.leaves.broker });
      assert(broker.url.startsWith("mqtts://"));
      const backend = new VirtualBackend(["can0"]);
      await using _gateway = await MqttGateway.start({
        broker: broker.url,
        ca: pki.ca,
        gateway: "gw",
        backend,
      });
      await using consumer = await MqttBus.open({
        channel: `mqtts://localhost:${broker.port}/gw/can0`,
        ca: pki.ca,
      });
      await using local = await backend.open("can0", {});
      await local.send(createFrame({ arbitrationId: 0x55, isExtendedId: false }));
      assertEquals(
        (await consumer.receive({ signal: AbortSignal.timeout(5000) })).arbitrationId,
        0x55,
      );
      const error = await assertRejects(
        () => MqttConnection.open({ broker: broker.url, env: {} }),
        CanError,
      ) as CanError;
      assertEquals(error.code, "ECONNREFUSED");
      assert(/certificate|UnknownIssuer|issuer/i.test(error.message), error.message);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "connection: an unreachable broker is a clear error, not a retry loop",
  async fn() {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    const error = await assertRejects(
      () => MqttConnection.open({ broker: `mqtt://127.0.0.1:${port}`, env: {} }),
      CanError,
    ) as CanError;
    assertEquals(error.code, "ECONNREFUSED");
    assert(error.message.startsWith(`Cannot reach MQTT broker mqtt://127.0.0.1:${port}`));
  },
});

Deno.test("connection: only mqtt:// and mqtts:// URLs, never with a password", async () => {
  await assertRejects(() => MqttConnection.open({ broker: "ws://127.0.0.1:1" }), RangeError);
  await assertRejects(() => MqttConnection.open({ broker: "not a url" }), SyntaxError);
  await assertRejects(
    () => MqttConnection.open({ broker: "mqtt://u:secret@127.0.0.1:1" }),
    RangeError,
    "Do not put the MQTT password in the URL",
  );
});
