import { DEMO_DBC, startDemoTraffic } from "../../../server/backends/demo.ts";
import { parseDbc } from "../../../core/dbc/parse.ts";
import { VirtualBus, VirtualNetwork } from "../../../core/virtual_bus.ts";
import { assert, assertEquals } from "../../_helpers/assert.ts";

Deno.test("the demo DBC names every id of the demo traffic and its values stay in range", async () => {
  const db = parseDbc(DEMO_DBC.text);
  const network = new VirtualNetwork();
  await using sender = VirtualBus.open({ channel: "0", network });
  await using listener = VirtualBus.open({ channel: "0", network });
  const stop = startDemoTraffic(sender);
  const seen = new Set<string>();
  try {
    // Every message but the remote request, which decodes to nothing.
    const wanted = db.messages.filter((m) => m.signals.length > 0).map((m) => m.name);
    while (!wanted.every((name) => seen.has(name))) {
      const frame = await listener.receive({ signal: AbortSignal.timeout(10_000) });
      const message = db.messageFor(frame);
      assert(message, `no message for ${frame.arbitrationId.toString(16)}`);
      const decoded = db.decode(frame);
      if (frame.isRemoteFrame) {
        assertEquals(decoded, undefined);
        continue;
      }
      assert(decoded);
      seen.add(decoded.name);
      assertEquals(Object.keys(decoded.signals), message.signals.map((s) => s.name));
      for (const signal of message.signals) {
        const { value } = decoded.signals[signal.name];
        assert(
          value >= signal.minimum && value <= signal.maximum,
          `${decoded.name}.${signal.name} = ${value}, outside ${signal.minimum}-${signal.maximum}`,
        );
      }
    }
  } finally {
    stop();
  }
  const eec1 = db.getMessage("EEC1")!;
  assertEquals([eec1.isExtendedId, eec1.isJ1939, eec1.cycleTime], [true, true, 20]);
  assertEquals(db.getMessage("SensorBlock")!.isFd, true);
});
