// CAN FD on real controller drivers: two CTU CAN FD cores (qemu ctucan_pci,
// driver ctucanfd built by run-in-can-vm.sh) as can0 and can1, DOWN at boot
// (VCANVM_HW=ctucan tests/vm/run.sh tests/vm/ctucan_test.ts; ignored elsewhere).
// qemu's model never raises the fault-confinement interrupt, so the driver
// reports STOPPED while frames flow: the test expects "stopped", not error-active.
import { assert, assertEquals } from "../_helpers/assert.ts";
import { serve } from "../../server.ts";
import { RemoteBus } from "../../client.ts";
import { createFrame } from "../../core/frame.ts";
import { Candump, needsCtucan, resetControllers, run } from "./_vm.ts";

const assertMatch = (text: string, pattern: RegExp) =>
  assert(pattern.test(text), `${pattern} not in:\n${text}`);

Deno.test({
  name:
    "ctucan: --fd --data-bitrate bring can0 up as CAN FD (MTU 72, dbitrate) and FD frames cross to can1",
  ...needsCtucan,
  fn: async () => {
    await resetControllers();
    await run(
      "ip",
      "link",
      "set",
      "can1",
      "type",
      "can",
      "bitrate",
      "500000",
      "dbitrate",
      "2000000",
      "fd",
      "on",
    );
    await run("ip", "link", "set", "can1", "up");
    await using server = await serve({
      port: 0,
      interface: "socketcan",
      channels: ["can0"],
      bitrate: 500000,
      socketcan: { fd: true, dataBitrate: 2000000 },
    });
    const details = await run("ip", "-details", "link", "show", "can0");
    assertMatch(details, /<[^>]*,UP,[^>]*> mtu 72/); // carrier follows later on ctucan
    assertMatch(details, /can <FD> state STOPPED/);
    assertMatch(details, /bitrate 500000 sample-point 0\.875/);
    assertMatch(details, /dbitrate 2000000/);
    const [channel] = (await (await fetch(server.httpUrl + "api/channels")).json()).channels;
    assertEquals(channel.bitrate, 500000);
    assertEquals(channel.dataBitrate, 2000000);
    assertEquals(channel.state, "stopped"); // qemu's model: see the header
    await using bus = await RemoteBus.connect(server.url);
    await using candump = new Candump("can1");
    await candump.ready();
    const data = Array.from({ length: 64 }, (_, i) => i);
    await bus.send(
      createFrame({
        arbitrationId: 0x321,
        isExtendedId: false,
        isFd: true,
        bitrateSwitch: true,
        data,
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    const lines = await candump.until();
    const hex = data.map((b) => b.toString(16).padStart(2, "0").toUpperCase()).join("");
    // Flags 1 (BRS), or 5 where the driver also marks CANFD_FDF (ctucanfd does).
    assertEquals(lines.map((l) => l.split(" ").slice(1).join(" ").replace("##5", "##1")), [
      `can1 321##1${hex}`,
    ]);
  },
});
