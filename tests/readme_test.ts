// Every shell command in the README and docs/ runs as written: each `deno
// task` names a task of deno.json, each tool or server command only flags
// its --help lists. Commands of other programs must be ones the docs mean
// to show (apt, ip, can-utils, openssl, ...).
import { assertEquals } from "./_helpers/assert.ts";
import { USAGE as SERVER_USAGE } from "../server/cli.ts";
import { USAGE as LOGGER_USAGE } from "../cli/logger.ts";
import { USAGE as PLAYER_USAGE } from "../cli/player.ts";
import { USAGE as SEND_USAGE } from "../cli/send.ts";
import { USAGE as DUMP_USAGE } from "../cli/dump.ts";

const ROOT = new URL("../", import.meta.url);
const TASKS: Record<string, string> = JSON.parse(
  await Deno.readTextFile(new URL("deno.json", ROOT)),
).tasks;

// The entry points and their usage texts, by module path and JSR name.
const USAGES: Record<string, string> = {
  "server.ts": SERVER_USAGE,
  "cli/logger.ts": LOGGER_USAGE,
  "cli/player.ts": PLAYER_USAGE,
  "cli/send.ts": SEND_USAGE,
  "cli/dump.ts": DUMP_USAGE,
};
const JSR: Record<string, string> = {
  "jsr:@canremote/server": "server.ts",
  "jsr:@canremote/server/logger": "cli/logger.ts",
  "jsr:@canremote/server/player": "cli/player.ts",
  "jsr:@canremote/server/send": "cli/send.ts",
  "jsr:@canremote/server/dump": "cli/dump.ts",
};
// Other programs the docs show on purpose.
const OTHER_COMMANDS = new Set([
  "sudo",
  "cansend",
  "candump",
  "openssl",
  "install",
  "printf",
  "kill",
  "python3",
  "npm",
]);

/** The commands of the ```sh blocks: continuation lines joined, comments dropped. */
export function shellCommands(markdown: string): string[] {
  const commands: string[] = [];
  const blocks = markdown.matchAll(/^```sh\n([\s\S]*?)^```/gm);
  for (const [, body] of blocks) {
    const joined = body.replace(/\s*\\\n\s*/g, " ");
    for (let line of joined.split("\n")) {
      line = line.replace(/(^|\s)#(\s.*)?$/, "").trim();
      if (line) commands.push(line.split(" | ")[0].trim());
    }
  }
  return commands;
}

function words(command: string): string[] {
  return [...command.matchAll(/'[^']*'|"[^"]*"|\S+/g)].map((m) => m[0]);
}

function hasFlag(usage: string, flag: string): boolean {
  const escaped = flag.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(^|[\\s,\\[(])${escaped}(?=[\\s=,\\])]|$)`, "m").test(usage);
}

/** What is wrong with one command, or nothing. */
export function checkCommand(command: string): string[] {
  let w = words(command);
  if (w[0] === "npx" && w[1] === "-y" && /^deno@/.test(w[2])) w = ["deno", ...w.slice(3)];
  if (w[0] !== "deno") {
    return OTHER_COMMANDS.has(w[0]) ? [] : [`${command}: unknown command ${w[0]}`];
  }
  let script: string | undefined;
  let args: string[] = [];
  if (w[1] === "task") {
    const task = TASKS[w[2]];
    if (task === undefined) return [`${command}: no task "${w[2]}" in deno.json`];
    const run = /^deno run -A (\S+\.ts)(.*)$/.exec(task);
    if (run && USAGES[run[1]]) {
      script = run[1];
      args = [...words(run[2]), ...w.slice(3)];
    }
  } else if (w[1] === "run") {
    const target = w.slice(2).find((word) => !word.startsWith("-"));
    if (target === undefined) return [`${command}: no module to run`];
    script = JSR[target] ?? target;
    if (!USAGES[script]) return [`${command}: ${target} is not the server or a tool`];
    args = w.slice(w.indexOf(target) + 1);
  } else if (w[1] === "compile") {
    const target = w.at(-1)!;
    return JSR[target] ? [] : [`${command}: ${target} is not a published entry point`];
  } else {
    return [];
  }
  if (script === undefined) return [];
  const usage = USAGES[script];
  const problems: string[] = [];
  for (const arg of args) {
    if (arg === "--") break;
    if (!arg.startsWith("-") || arg === "-") continue;
    const flag = arg.split("=")[0];
    // The tools pass --KEY=VALUE on to the interface, as python-can does.
    if (arg.includes("=") && !hasFlag(usage, flag) && usage.includes("--KEY=VALUE")) continue;
    if (!hasFlag(usage, flag)) problems.push(`${command}: ${script} has no flag ${flag}`);
  }
  return problems;
}

const FILES = [
  "README.md",
  ...[...Deno.readDirSync(new URL("docs/", ROOT))]
    .filter((entry) => entry.name.endsWith(".md"))
    .map((entry) => `docs/${entry.name}`),
];

Deno.test("README and docs/: every shell command names an existing task, tool and flag", async () => {
  const problems: string[] = [];
  let checked = 0;
  for (const file of FILES) {
    for (const command of shellCommands(await Deno.readTextFile(new URL(file, ROOT)))) {
      checked++;
      problems.push(...checkCommand(command).map((p) => `${file}: ${p}`));
    }
  }
  assertEquals(problems, []);
  // the README alone shows dozens of commands: the check saw them
  const readme = shellCommands(await Deno.readTextFile(new URL("README.md", ROOT)));
  assertEquals(readme.length >= 15 && checked > readme.length, true, `${checked}`);
});

Deno.test("the README check catches a missing task, an unknown flag and an unknown tool", () => {
  const text = "```sh\ndeno task nosuch\nnpx -y deno@2.9.6 task send --nope 123#00\n" +
    "deno run -A jsr:@canremote/server -i virtual \\\n  --colour red   # comment\n" +
    "deno task dump --receive_own_messages=True\nfrobnicate now\n```\n";
  const problems = shellCommands(text).flatMap(checkCommand);
  assertEquals(problems, [
    'deno task nosuch: no task "nosuch" in deno.json',
    "npx -y deno@2.9.6 task send --nope 123#00: cli/send.ts has no flag --nope",
    "deno run -A jsr:@canremote/server -i virtual --colour red: server.ts has no flag --colour",
    "frobnicate now: unknown command frobnicate",
  ]);
});
