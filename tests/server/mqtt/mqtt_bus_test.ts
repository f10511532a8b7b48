import { assert, assertEquals, assertRejects } from "../../_helpers/assert.ts";
import { requires } from "../../_helpers/requires.ts";
import { startMosquitto } from "../../_helpers/brokers.ts";
import { capture, waitFor } from "../../_helpers/cli.ts";
import { defineBusConformance } from "../../_helpers/bus_conformance.ts";
import { VirtualBackend } from "../../../server/backends/backend.ts";
import { createFrame } from "../../../core/frame.ts";
import { CanError } from "../../../core/errors.ts";
import { MqttGateway } from "../../../server/mqtt/gateway.ts";
import { MqttBus } from "../../../server/mqtt/mqtt_bus.ts";
import { createBus } from "../../../config/create_bus.ts";
import { main as send } from "../../../cli/send.ts";
import { main as dump } from "../../../cli/dump.ts";
import { main as logger } from "../../../cli/logger.ts";
import { main as player } from "../../../cli/player.ts";
import { readLogFile } from "../../../formats/log_file.ts";
import { collect } from "../../_helpers/bus_conformance.ts";

const needs = requires("mosquitto");

Deno.test({
  name: "mqtt interface: createBus and ~/.canrc-style keys open a gateway's channel",
  ...needs,
  async fn() {
    await using broker = await startMosquitto();
    const backend = new VirtualBackend(["can0"]);
    await using _gateway = await MqttGateway.start({ broker: broker.url, gateway: "gw1", backend });
    await using bus = await createBus({
      env: { CAN_INTERFACE: "mqtt", CAN_CHANNEL: `${broker.url}/gw1/can0` },
      configPath: [],
      config: { mqtt_keepalive: "5", can_filters: '[{"can_id": 1, "can_mask": 2047}]' },
    });
    assert(bus instanceof MqttBus);
    assertEquals(bus.channelInfo, `mqtt channel gw1/can0 on ${broker.url}`);
    await using local = await backend.open("can0", {});
    await local.send(createFrame({ arbitrationId: 2, isExtendedId: false }));
    await local.send(createFrame({ arbitrationId: 1, isExtendedId: false }));
    const frame = await bus.receive({ signal: AbortSignal.timeout(5000) });
    assertEquals(frame.arbitrationId, 1);
    // keys the interface does not take are refused, naming where they came from
    const error = await assertRejects(
      () =>
        createBus({
          interface: "mqtt",
          channel: `${broker.url}/gw1/can0`,
          configPath: [],
          env: {},
          config: { bitrate: 500000 },
        }),
      TypeError,
    );
    assert(error.message.includes("mqtt interface does not take"), error.message);
    await assertRejects(
      () => createBus({ interface: "mqtt", channel: "ws://x/gw/can0", configPath: [], env: {} }),
      RangeError,
    );
    await assertRejects(
      () => createBus({ interface: "mqtt", channel: `${broker.url}/gw1`, configPath: [], env: {} }),
      RangeError,
    );
  },
});

Deno.test({
  name: "mqtt interface: send and dump work with -i mqtt",
  ...needs,
  async fn() {
    await using broker = await startMosquitto();
    const backend = new VirtualBackend(["can0"]);
    await using _gateway = await MqttGateway.start({
      broker: broker.url,
      gateway: "gw1",
      backend,
      tx: true,
    });
    const channel = `${broker.url}/gw1/can0`;
    await using bus = await backend.open("can0", {});
    const err = capture();
    const code = await send(["-i", "mqtt", "-c", channel, "123#DEADBEEF"], {
      stderr: err.stream,
      env: {},
      configPath: [],
    });
    assertEquals(code, 0, err.text());
    const frame = await bus.receive({ signal: AbortSignal.timeout(5000) });
    assertEquals([frame.arbitrationId, [...frame.data]], [0x123, [0xde, 0xad, 0xbe, 0xef]]);
    const out = capture();
    const stop = new AbortController();
    const dumping = dump(["-i", "mqtt", "-c", channel], {
      stdout: out.stream,
      stderr: capture().stream,
      env: {},
      configPath: [],
      signal: stop.signal,
    });
    let sent = 0;
    try {
      await waitFor(() => {
        bus.send(createFrame({ arbitrationId: 0x42, isExtendedId: false, data: [sent++ & 0xff] }));
        return out.text().includes("042");
      }, "dump to print a frame from the gateway");
    } finally {
      stop.abort();
    }
    assertEquals(await dumping, 0);
    assert(/gw1\/can0\s+042\s+\[1\]/.test(out.text()), out.text());
  },
});

Deno.test({
  name: "mqtt interface: logger records a gateway's channel and player replays it onto the bus",
  ...needs,
  async fn() {
    await using broker = await startMosquitto();
    const backend = new VirtualBackend(["can0"]);
    await using _gateway = await MqttGateway.start({
      broker: broker.url,
      gateway: "gw1",
      backend,
      tx: true,
    });
    const channel = `${broker.url}/gw1/can0`;
    const dir = await Deno.makeTempDir();
    try {
      const file = `${dir}/trace.log`;
      await using bus = await backend.open("can0", {});
      const stop = new AbortController();
      const logging = logger(["-i", "mqtt", "-c", channel, "-f", file], {
        stderr: capture().stream,
        env: {},
        configPath: [],
        signal: stop.signal,
        isTerminal: false,
      });
      const ids = [0x100, 0x1fffffff, 0x7ff];
      try {
        // the logger subscribes once it runs: a burst every 50 ms for a second
        for (let i = 0; i < 20; i++) {
          await new Promise((r) => setTimeout(r, 50));
          for (const id of ids) {
            bus.send(createFrame({ arbitrationId: id, isExtendedId: id > 0x7ff, data: [1, 2] }));
          }
        }
        await new Promise((r) => setTimeout(r, 100));
      } finally {
        stop.abort();
      }
      assertEquals(await logging, 0);
      const recorded = (await Array.fromAsync(readLogFile(file))).map((f) => f.arbitrationId);
      assert(recorded.length >= 30, `${recorded}`);
      assertEquals([...new Set(recorded)].sort(), [...ids].sort());
      await using listener = await backend.open("can0", {});
      const code = await player(["-i", "mqtt", "-c", channel, "--ignore-timestamps", file], {
        stderr: capture().stream,
        env: {},
        configPath: [],
      });
      assertEquals(code, 0);
      const replayed = await collect(listener, recorded.length);
      assertEquals(replayed.map((f) => f.arbitrationId), recorded);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "mqtt interface: wrong credentials are refused with a clear message that holds no password",
  ...needs,
  async fn() {
    await using broker = await startMosquitto({ users: { reader: "s3cret-reader" } });
    const error = await assertRejects(
      () =>
        MqttBus.open({
          channel: `mqtt://reader@127.0.0.1:${broker.port}/gw1/can0`,
          password: "wrong-password",
        }),
      CanError,
    ) as CanError;
    assertEquals(error.code, "EACCES");
    assertEquals(
      error.message,
      `MQTT broker mqtt://127.0.0.1:${broker.port} refused the connection as user "reader": not authorized (wrong user name or password, or a user the broker does not admit)`,
    );
    // from the environment variable, as the tools read it
    await using bus = await MqttBus.open({
      channel: `mqtt://reader@127.0.0.1:${broker.port}/gw1/can0`,
      env: { CANREMOTE_MQTT_PASSWORD: "s3cret-reader" },
    });
    assert(bus.connected);
    const anonymous = await assertRejects(
      () => MqttBus.open({ channel: `${broker.url}/gw1/can0`, env: {} }),
      CanError,
    ) as CanError;
    assert(/not authorized|bad user name/.test(anonymous.message), anonymous.message);
    await assertRejects(
      () => MqttBus.open({ channel: `mqtt://reader:pw@127.0.0.1:${broker.port}/gw1/can0` }),
      RangeError,
      "Do not put the MQTT password in the URL",
    );
  },
});

Deno.test({
  name: "mqtt interface: a consumer without tx rights (mosquitto ACL) cannot send; an operator can",
  ...needs,
  async fn() {
    await using broker = await startMosquitto({
      users: { gateway: "gw-pass", reader: "reader-pass", operator: "op-pass" },
      acl: [
        "user gateway",
        "topic readwrite canremote/#",
        "user reader",
        "topic read canremote/#",
        "user operator",
        "topic read canremote/#",
        "topic write canremote/v1/+/+/tx",
        "",
      ].join("\n"),
    });
    const backend = new VirtualBackend(["can0"]);
    await using bus = await backend.open("can0", {});
    await using _gateway = await MqttGateway.start({
      broker: broker.url,
      username: "gateway",
      password: "gw-pass",
      gateway: "gw1",
      backend,
      tx: true,
    });
    const channel = `${broker.url}/gw1/can0`;
    await using reader = await MqttBus.open({
      channel,
      username: "reader",
      password: "reader-pass",
    });
    await using operator = await MqttBus.open({
      channel,
      username: "operator",
      password: "op-pass",
    });
    // the reader reads
    await bus.send(createFrame({ arbitrationId: 0x77, isExtendedId: false }));
    assertEquals((await reader.receive({ signal: AbortSignal.timeout(5000) })).arbitrationId, 0x77);
    // MQTT 3.1.1 drops a forbidden publish silently: nothing reaches the bus
    await reader.send(createFrame({ arbitrationId: 0x666, isExtendedId: false }));
    await operator.send(createFrame({ arbitrationId: 0x100, isExtendedId: false }));
    const frame = await bus.receive({ signal: AbortSignal.timeout(5000) });
    assertEquals(frame.arbitrationId, 0x100);
    await assertRejects(() => bus.receive({ signal: AbortSignal.timeout(300) }), DOMException);
  },
});

// Every consumer of a channel is a node on the gateway's bus: one broker and
// one gateway for the whole suite, closed by its last test.
const suite = needs.ignore ? undefined : await (async () => {
  const broker = await startMosquitto();
  const backend = new VirtualBackend(["can0"]);
  const gateway = await MqttGateway.start({
    broker: broker.url,
    gateway: "suite",
    backend,
    tx: true,
  });
  return { broker, gateway };
})();
defineBusConformance(
  "MqttBus through mosquitto",
  async (options) => {
    const bus = await MqttBus.open({ ...options, channel: `${suite!.broker.url}/suite/can0` });
    while (!bus.gatewayStatus) await new Promise((r) => setTimeout(r, 10));
    return bus;
  },
  { test: { ...needs } },
);
Deno.test({
  name: "MqttBus through mosquitto: (the suite's broker and gateway stop)",
  ...needs,
  async fn() {
    await suite!.gateway.close();
    await suite!.broker[Symbol.asyncDispose]();
  },
});
