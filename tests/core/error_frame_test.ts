import { assertEquals } from "../_helpers/assert.ts";
import { describeErrorFrame } from "../../core/error_frame.ts";
import { createFrame } from "../../core/frame.ts";

// can-utils' own output for one error frame of every class and detail bit,
// recorded with candump -e in the VM (tests/vm/error_frame_test.ts checks it live).
const RECORDED = new URL("../_data/candump_e_2020.11.txt", import.meta.url);

interface Recorded {
  id: number;
  data: number[];
  lines: string[];
}

function parse(text: string): Recorded[] {
  const frames: Recorded[] = [];
  for (const line of text.split("\n")) {
    const head = /^\s+\S+\s+([0-9A-F]{8})\s+\[8\]\s+((?:[0-9A-F]{2} ?){8})\s+ERRORFRAME$/.exec(
      line,
    );
    if (head) {
      frames.push({
        id: parseInt(head[1], 16),
        data: head[2].trim().split(" ").map((b) => parseInt(b, 16)),
        lines: [],
      });
    } else if (line.startsWith("\t") && frames.length) {
      // candump 2020.11 starts the counters of a CAN_ERR_CNT-only frame with an empty line.
      if (line.trim()) frames.at(-1)!.lines.push(line.trim());
    }
  }
  return frames;
}

Deno.test("describeErrorFrame: candump -e's words for every class of linux/can/error.h", async () => {
  const recorded = parse(await Deno.readTextFile(RECORDED));
  // Classes above CAN_ERR_CNT candump calls invalid and leaves undescribed.
  const valid = recorded.filter((r) => (r.id & 0x1fffffff) <= 0x3ff && r.id !== 0x200003ff);
  assertEquals(valid.length, 58);
  const classes = new Set<number>();
  for (const { id, data, lines } of valid) {
    const frame = createFrame({
      arbitrationId: id & 0x7ff,
      isExtendedId: false,
      isErrorFrame: true,
      data,
    });
    assertEquals(describeErrorFrame(frame), lines, `error frame ${id.toString(16)}`);
    for (let bit = 0; bit < 10; bit++) if (id & (1 << bit)) classes.add(bit);
  }
  assertEquals(classes.size, 10, "every error class of linux/can/error.h is covered");
});

Deno.test("describeErrorFrame: a data frame has no error words; unknown classes are named", () => {
  assertEquals(describeErrorFrame(createFrame({ arbitrationId: 0x4, data: [0, 4] })), []);
  const unknown = createFrame({ arbitrationId: 0x440, isExtendedId: false, isErrorFrame: true });
  assertEquals(describeErrorFrame(unknown), ["bus-off", "unknown-error-class-0x400"]);
});
