// The Bus conformance suite against SocketCanBus on vcan0 (run in the VM:
// tests/vm/run.sh; ignored on machines without vcan0).
import { defineBusConformance } from "../_helpers/bus_conformance.ts";
import { SocketCanBus } from "../../ffi/socketcan_bus.ts";
import { needsVcan } from "./_vm.ts";

defineBusConformance(
  "SocketCanBus",
  (options) => SocketCanBus.open({ ...options, channel: "vcan0" }),
  { test: needsVcan },
);
