// parseBusConfig(): what a bus_request config may hold. python-can passes a
// ~/.canrc's values on as text, so text booleans and numbers are read as
// configparser reads them; filters may leave out can_mask or can_id.
import { parseBusConfig } from "../../../server/session/bus_config.ts";
import { assertEquals, assertThrows } from "../../_helpers/assert.ts";

const SERVED = { interfaceName: "virtual", channel: "0" };

Deno.test("parseBusConfig: configparser's boolean words, in any case, and 1/0", () => {
  for (const word of ["True", "true", "TRUE", "1", "yes", "Yes", "on", "ON", true, 1]) {
    const { options } = parseBusConfig({ receive_own_messages: word }, SERVED);
    assertEquals(options.receiveOwnMessages, true, JSON.stringify(word));
  }
  for (const word of ["False", "false", "0", "no", "NO", "off", " Off ", false, 0]) {
    const { options, batches } = parseBusConfig(
      { receive_own_messages: word, preserve_timestamps: word, message_batches: word },
      SERVED,
    );
    assertEquals(options.receiveOwnMessages, false, JSON.stringify(word));
    assertEquals(options.preserveTimestamps, false, JSON.stringify(word));
    assertEquals(batches, false, JSON.stringify(word));
  }
});

Deno.test("parseBusConfig: other values are refused, quoting them", () => {
  assertThrows(
    () => parseBusConfig({ receive_own_messages: "maybe" }, SERVED),
    TypeError,
    'receive_own_messages must be true or false (or yes/no, on/off, 1/0), got "maybe"',
  );
  assertThrows(() => parseBusConfig({ fd: 2 }, SERVED), TypeError, "fd must be true or false");
});

Deno.test("parseBusConfig: bit rates as numbers, digits or k/M; the same words as the tools", () => {
  for (const value of [500000, "500000", " 500000 ", "500k", "0.5M"]) {
    parseBusConfig({ bitrate: value, data_bitrate: value }, SERVED);
  }
  for (const value of ["fast", 0, "0", -1, 1.5, "9007199254740993"]) {
    const error = assertThrows(
      () => parseBusConfig({ bitrate: value }, SERVED),
      RangeError,
      "bitrate must be a bit rate in bit/s, such as 500000 or 500k, got ",
    );
    assertEquals(error.message.includes("9007199254740991"), false);
  }
});

Deno.test("parseBusConfig: the seed's filters, without can_mask or can_id, with a note each", () => {
  const parsed = parseBusConfig({ can_filters: [{ can_id: 0x11 }, { can_mask: 0xff }] }, SERVED);
  assertEquals(parsed.options.canFilters, [
    { canId: 0x11, canMask: 0x1fffffff },
    { canId: 0, canMask: 0xff },
  ]);
  assertEquals(parsed.notes, [
    "filter 0 has no can_mask: id 0x11 exactly",
    "filter 1 has no can_id: id 0",
  ]);
  assertEquals(parseBusConfig({ can_filters: [{ can_id: 1, can_mask: 1 }] }, SERVED).notes, []);
});

Deno.test("parseBusConfig: filter values of the wrong type or range are still refused", () => {
  assertThrows(
    () => parseBusConfig({ can_filters: [{ can_id: "0x11" }] }, SERVED),
    RangeError,
    'Filter 0: can_id must be an integer 0-0xFFFFFFFF, got "0x11"',
  );
  assertThrows(
    () => parseBusConfig({ can_filters: [{ can_mask: -1 }] }, SERVED),
    RangeError,
    "Filter 0: can_mask must be an integer 0-0xFFFFFFFF, got -1",
  );
});

Deno.test("parseBusConfig: no config at all is named, not shown as null", () => {
  assertThrows(() => parseBusConfig(42, SERVED), TypeError, "config must be an object, got 42");
});
