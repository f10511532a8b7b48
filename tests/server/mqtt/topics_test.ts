import { assertEquals, assertThrows } from "../../_helpers/assert.ts";
import {
  checkTopicName,
  parseFleetUrl,
  rxTopic,
  statusGateway,
  statusTopic,
  txTopic,
} from "../../../server/mqtt/topics.ts";

Deno.test("parseFleetUrl: broker, gateway and channel, with default ports", () => {
  assertEquals(parseFleetUrl("mqtt://broker/gw1/can0"), {
    broker: "mqtt://broker:1883",
    gateway: "gw1",
    channel: "can0",
  });
  assertEquals(
    parseFleetUrl("mqtts://reader@broker/gw1/vcan%201").broker,
    "mqtts://reader@broker:8883",
  );
  assertEquals(parseFleetUrl("mqtts://reader@broker/gw1/vcan%201").channel, "vcan 1");
  for (const bad of ["mqtt://broker/gw1", "mqtt://broker/gw1/can0/x", "mqtt://broker//can0"]) {
    assertThrows(() => parseFleetUrl(bad), RangeError, "mqtt://HOST:PORT/GATEWAY/CHANNEL");
  }
  assertThrows(() => parseFleetUrl("mqtt://broker/gw%2B/can0"), RangeError, '"gw+"');
  assertThrows(() => parseFleetUrl("http://broker/gw/can0"), RangeError, "mqtt:// or mqtts://");
  assertThrows(() => parseFleetUrl("::"), SyntaxError);
});

Deno.test("topics: rx, tx and status, and the gateway of a status topic", () => {
  assertEquals(rxTopic("gw", "can0"), "canremote/v1/gw/can0/rx");
  assertEquals(txTopic("gw", "can0"), "canremote/v1/gw/can0/tx");
  assertEquals(statusTopic("gw"), "canremote/v1/gw/status");
  assertEquals(statusGateway("canremote/v1/gw/status"), "gw");
  assertEquals(statusGateway("canremote/v2/gw/status"), undefined);
  assertEquals(statusGateway("canremote/v1/gw/can0/status"), undefined);
  for (const bad of ["", "a/b", "#", "x+", "\u0000"]) {
    assertThrows(() => checkTopicName("gateway", bad), RangeError);
  }
});
