// What a client writes can reach the operator's log (its error events, its
// config at debug level, the headers of a refused request): one line each,
// no terminal escapes, bounded in length and in number.
import { assert, assertEquals } from "../../_helpers/assert.ts";
import { LogBudget, logText, MAX_LOGGED_TEXT } from "../../../server/access/log_text.ts";
import { spawnServer } from "../../_helpers/cli.ts";
import { TestClient } from "../../_helpers/ws_client.ts";

Deno.test("logText: control characters escaped, long texts cut with a count", () => {
  assertEquals(
    logText("a\r\nb\tc\x1b[31m\x00\x7f\x9b\u2028"),
    "a\\r\\nb\\tc\\u001b[31m\\u0000\\u007f\\u009b\\u2028",
  );
  assertEquals(logText("plain text, ünïcode ✓"), "plain text, ünïcode ✓");
  const long = logText("y".repeat(MAX_LOGGED_TEXT + 1000));
  assertEquals(long, "y".repeat(MAX_LOGGED_TEXT) + "… (1000 more characters)");
});

Deno.test("LogBudget: a few lines per window, the rest counted for one summary", () => {
  const budget = new LogBudget(3, 1000);
  const taken = Array.from({ length: 10 }, (_, i) => budget.take(i));
  assertEquals(taken.filter(Boolean).length, 3);
  assertEquals(budget.flush(), 7);
  assertEquals(budget.flush(), 0);
  assertEquals(budget.take(1000), true, "a new window");
});

Deno.test("a client cannot forge log lines, colour the terminal or flood the log with error events", async () => {
  const server = spawnServer([]);
  const url = (await server.until(/Channel 0: (ws:\/\/\S+)/))?.[1];
  assert(url, server.output());
  const client = await TestClient.connect(url);
  const forged = "hi\n06:33:00.000 [INF] canremote·server: FORGED LINE \x1b[31mRED";
  client.sendJson({ type: "error", payload: forged });
  for (let i = 0; i < 200; i++) client.sendJson({ type: "error", payload: "z".repeat(60_000) });
  await client.close();
  await server.until(/disconnected/);
  await server.stop();
  const output = server.output();
  const lines = output.split("\n");
  assert(!lines.some((line) => line.startsWith("06:33:00.000")), output);
  assert(!output.includes("\x1b[31mRED"), "a raw escape code reached the log");
  assert(output.includes("FORGED LINE \\u001b[31mRED"), output);
  const reported = lines.filter((line) => line.includes("reported:"));
  assertEquals(reported.length, 5, reported.join("\n"));
  assert(reported.every((line) => line.length < MAX_LOGGED_TEXT + 200), "long lines were cut");
  assert(output.includes("196 more reported errors were not logged"), output);
  assert(output.length < 20_000, `${output.length} bytes of log for 201 error events`);
});
