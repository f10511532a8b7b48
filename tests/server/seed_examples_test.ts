// The seed's (python-can-remote's README) client example, as python-can 4.1
// builds it, against our server: python-can resolves the keyword arguments
// and the user's ~/.canrc (values stay text: receive_own_messages = False
// arrives as "False"), and the bus_request is the text python-can-remote's
// client writes for that config (json.dumps, as recorded in
// ../shared/conformance/events.json). python-can-remote itself is not
// installable here, so its client is its recorded bytes.
import { serve } from "../../server.ts";
import { RemoteBus } from "../../client.ts";
import { createFrame } from "../../core/frame.ts";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { python } from "../_helpers/cli.ts";
import { requires } from "../_helpers/requires.ts";
import { TestClient } from "../_helpers/ws_client.ts";

// can.interface.Bus('ws://192.168.0.10:54701/', bustype='remote', bitrate=500000,
//                   can_filters=[{'can_id': 0x11}, {'can_mask': 0xff}])
const SCRIPT = `
import json, os, sys
import can.util
job = json.load(sys.stdin)
os.environ["HOME"] = job["home"]
for key in [k for k in os.environ if k.startswith("CAN_")]:
    del os.environ[key]
can.util.VALID_INTERFACES = frozenset(set(can.util.VALID_INTERFACES) | {"remote"})
config = can.util.load_config(config={"channel": job["url"], "bustype": "remote",
    "bitrate": 500000, "can_filters": [{"can_id": 0x11}, {"can_mask": 0xff}]})
# python-can-remote's RemoteBus(channel, **config): everything but channel and interface
config.pop("channel"); config.pop("interface")
json.dump(json.dumps({"type": "bus_request", "payload": {"config": config}}), sys.stdout)
`;

const std = (id: number) => createFrame({ arbitrationId: id, isExtendedId: false, data: [1] });

Deno.test(
  "the seed's client example, with the README's ~/.canrc, through python-can 4.1",
  requires("python3-can"),
  async () => {
    await using server = await serve({ port: 0 });
    const home = await Deno.makeTempDir({ prefix: "seed_" });
    try {
      await Deno.writeTextFile(`${home}/.canrc`, "[default]\nreceive_own_messages = False\n");
      const text = await python(SCRIPT, { home, url: server.url }) as string;
      // what python-can hands python-can-remote: the file's text, and the seed's filters
      assert(text.includes('"receive_own_messages": "False"'), text);
      assert(text.includes('{"can_id": 17}, {"can_mask": 255}'), text);
      const client = await TestClient.open(server.url);
      try {
        client.send(text);
        const response = await client.nextEvent();
        assertEquals(response.type, "bus_response", JSON.stringify(response));
        await using other = await RemoteBus.connect(server.url);
        for (const id of [0x12, 0x11, 0x111, 0x200]) await other.send(std(id));
        const ids = [];
        for (let i = 0; i < 2; i++) {
          const event = await client.nextEvent();
          assert(event.type === "message");
          ids.push(event.frame.arbitrationId);
        }
        assertEquals(ids, [0x11, 0x200]); // id 0x11 exactly; ids whose low byte is 0
        // receive_own_messages "False" is false: its own frame does not come back
        client.sendJson({
          type: "message",
          payload: { arbitration_id: 0x300, extended_id: false, data: [] },
        });
        await other.send(std(0x400));
        const next = await client.nextEvent();
        assert(next.type === "message" && next.frame.arbitrationId === 0x400, JSON.stringify(next));
        const seen = await other.receive({ signal: AbortSignal.timeout(2000) });
        assertEquals([seen.arbitrationId, seen.isExtendedId], [0x300, false]);
      } finally {
        await client.close();
      }
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  },
);
