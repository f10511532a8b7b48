// loadConfig() against the real python-can 4.1 load_config(): the same files
// and variables give the same configuration, and a file python-can refuses is
// refused here too, with the file, line and problem named.
import {
  CONFIG_FILES,
  configOrigin,
  IniConfig,
  loadConfig,
  loadEnvironmentConfig,
  loadFileConfig,
  rc,
} from "../../config/canrc.ts";
import { assert, assertEquals, assertThrows } from "../_helpers/assert.ts";
import { python as runPython } from "../_helpers/cli.ts";
import { requires } from "../_helpers/requires.ts";

// For each case: HOME and CAN_* from the case, then can.util.load_config().
// python-can-remote is not installed, so "remote" is added to the known interfaces.
const SCRIPT = `
import json, os, sys
import can.util
can.util.VALID_INTERFACES = frozenset(set(can.util.VALID_INTERFACES) | {"remote"})
out = []
for case in json.load(sys.stdin):
    for key in [k for k in os.environ if k.startswith("CAN_")]:
        del os.environ[key]
    os.environ.update(case["env"])
    try:
        out.append({"config": can.util.load_config(config=case["given"], context=case["context"])})
    except Exception as e:
        out.append({"error": type(e).__name__})
json.dump(out, sys.stdout)
`;

interface Case {
  name: string;
  files: Record<string, string>;
  env?: Record<string, string>;
  given?: Record<string, unknown>;
  context?: string;
}

const CASES: Case[] = [
  {
    name: "remote server in ~/.canrc",
    files: { ".canrc": "[default]\ninterface = remote\nchannel = ws://myhostname:54701/\n" },
  },
  {
    name: "a later file replaces and adds",
    files: {
      "can.conf": "[default]\ninterface = virtual\nchannel = a\nbitrate = 250000\n",
      ".can": "[default]\nchannel = b\n",
      ".canrc": "[default]\nchannel = c\nreceive_own_messages = True\n",
    },
  },
  {
    name: "the context section ranks above [default]",
    files: {
      ".can": "[bench]\ninterface = socketcan\nchannel = vcan0\n",
      ".canrc": "[default]\ninterface = remote\nchannel = ws://pi:54701/\nbitrate = 500000\n",
    },
    context: "bench",
  },
  {
    name: "variables rank above files, the context ones first",
    files: { ".canrc": "[default]\ninterface = socketcan\nchannel = can0\nbitrate = 125000\n" },
    env: {
      CAN_INTERFACE: "virtual",
      CAN_CHANNEL: "plain",
      CAN_CHANNEL_lab: "lab",
      CAN_BITRATE: "1000000",
      CAN_CONFIG: '{"receive_own_messages": true, "channel": "json", "fd": "no"}',
      CAN_CONFIG_lab: '{"data_bitrate": "2000000"}',
    },
    context: "lab",
  },
  {
    name: "given options rank above everything",
    files: { ".canrc": "[default]\ninterface = socketcan\nchannel = can0\n" },
    env: { CAN_CHANNEL: "vcan1" },
    given: { interface: "remote", channel: "ws://127.0.0.1:54701/", bitrate: "250_000" },
  },
  {
    name: "configparser syntax: DEFAULT, references, continuations, comments, bustype",
    files: {
      ".canrc": [
        "# comment",
        "; another",
        "[DEFAULT]",
        "host = pi.local",
        "[default]",
        "bustype = remote",
        "channel: ws://%(host)s:54701/",
        'can_filters = [{"can_id": 256,',
        '    "can_mask": 1792}]',
        "",
        "note = 100%% sure",
        "fd = False",
        "[named]",
        "interface = virtual",
        "",
      ].join("\r\n"),
    },
  },
  {
    name: "an empty variable counts as unset; fd is true unless 0/False/false",
    files: { ".canrc": "[default]\ninterface = virtual\nchannel = f\nfd = off\n" },
    env: { CAN_CHANNEL: "" },
  },
  { name: "nothing configured", files: {} },
  { name: "an unknown interface", files: { ".canrc": "[default]\ninterface = nosuchbus\n" } },
  {
    name: "a bad bitrate",
    files: { ".canrc": "[default]\ninterface = virtual\nbitrate = 500k\n" },
  },
];

const BAD_FILES: [string, string, string][] = [
  ["interface = remote\n", ":1:", "before any [section] header"],
  ["[default]\ninterface = remote\njust words\n", ":3:", 'is not "key = value"'],
  ["[default]\ninterface = remote\ninterface = virtual\n", ":3:", 'key "interface" appears twice'],
  ["[default]\na = 1\n[other]\n[default]\n", ":4:", "section [default] appears twice"],
  ["[default]\ninterface = virtual\n= 5\n", ":3:", "has no key"],
  ["[default]\ninterface = virtual\nchannel = 50%\n", ":3:", '"%" must be followed by'],
  ["[default]\ninterface = virtual\nchannel = %(nope)s\n", ":3:", "%(nope)s names a key"],
  ["[default]\ninterface = virtual\na = %(b)s\nb = %(a)s\n", ":3:", "more than 10 deep"],
];

function sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sorted);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value).sort().map((k) => [k, sorted((value as never)[k])]),
    );
  }
  return value;
}

async function makeHome(files: Record<string, string>): Promise<string> {
  const home = await Deno.makeTempDir({ prefix: "canrc_" });
  for (const [name, text] of Object.entries(files)) {
    await Deno.writeTextFile(`${home}/${name}`, text);
  }
  return home;
}

function ours(home: string, c: Case): unknown {
  try {
    return {
      config: sorted(
        loadConfig({ env: { HOME: home, ...c.env }, config: c.given, context: c.context }),
      ),
    };
  } catch (error) {
    return { error: (error as Error).name };
  }
}

// Python's exception names for the refusals; ours are built-in errors.
const ERROR_NAMES: Record<string, string> = {
  CanInterfaceNotImplementedError: "RangeError",
  ValueError: "RangeError",
  MissingSectionHeaderError: "SyntaxError",
  ParsingError: "SyntaxError",
  DuplicateOptionError: "SyntaxError",
  DuplicateSectionError: "SyntaxError",
  InterpolationSyntaxError: "SyntaxError",
  InterpolationMissingOptionError: "SyntaxError",
  InterpolationDepthError: "SyntaxError",
};

async function python(jobs: { env: Record<string, string>; given: unknown; context: unknown }[]) {
  return (await runPython(SCRIPT, jobs) as Record<string, unknown>[]).map((r) =>
    r.error ? { error: ERROR_NAMES[r.error as string] ?? r.error } : { config: sorted(r.config) }
  );
}

Deno.test(
  "loadConfig gives what python-can's load_config gives, and refuses what it refuses",
  requires("python3-can"),
  async () => {
    const homes: string[] = [];
    try {
      const cases: Case[] = [
        ...CASES,
        ...BAD_FILES.map(([text], i) => ({ name: `bad file ${i}`, files: { ".canrc": text } })),
      ];
      for (const c of cases) homes.push(await makeHome(c.files));
      const expected = await python(cases.map((c, i) => ({
        env: { HOME: homes[i], ...c.env },
        given: c.given ?? {},
        context: c.context ?? null,
      })));
      for (const [i, c] of cases.entries()) assertEquals(ours(homes[i], c), expected[i], c.name);
      // Spot checks that the comparison compares something.
      assertEquals(expected[0], {
        config: { channel: "ws://myhostname:54701/", interface: "remote" },
      });
      assertEquals((expected[3] as { config: Record<string, unknown> }).config.channel, "lab");
    } finally {
      for (const home of homes) await Deno.remove(home, { recursive: true });
    }
  },
);

Deno.test("a malformed file is named with its line and problem", async () => {
  for (const [text, line, problem] of BAD_FILES) {
    const home = await makeHome({ ".canrc": text });
    try {
      const error = assertThrows(() => loadConfig({ env: { HOME: home } }), SyntaxError, problem);
      assert(error.message.startsWith(`${home}/.canrc${line} `), error.message);
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  }
});

Deno.test("errors about values name where the value came from", async () => {
  const home = await makeHome({ ".canrc": "[default]\ninterface = nosuchbus\n" });
  try {
    assertThrows(
      () => loadConfig({ env: { HOME: home } }),
      RangeError,
      `Unknown interface "nosuchbus" (from ${home}/.canrc:2 [default]): use remote, virtual, socketcan, mqtt`,
    );
    assertThrows(
      () => loadConfig({ env: { HOME: home, CAN_INTERFACE: "virtual", CAN_BITRATE: "fast" } }),
      RangeError,
      'bitrate must be a bit rate in bit/s, such as 500000, got "fast" (from CAN_BITRATE)',
    );
    assertThrows(
      () => loadConfig({ env: {}, path: [] }),
      RangeError,
      "No CAN interface configured",
    );
    assertThrows(
      () => loadConfig({ env: { CAN_CONFIG: "{nope" }, path: [] }),
      SyntaxError,
      "CAN_CONFIG is not valid JSON",
    );
    assertThrows(
      () => loadConfig({ env: { CAN_CONFIG: "[1]" }, path: [] }),
      TypeError,
      "CAN_CONFIG must be a JSON object",
    );
    const config = loadConfig({ env: { HOME: home, CAN_INTERFACE: "virtual" } });
    assertEquals(configOrigin(config, "interface"), "CAN_INTERFACE");
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("rc ranks below the given options and above the environment", () => {
  rc.interface = "virtual";
  rc.channel = "from-rc";
  rc.bitrate = 250000;
  try {
    const config = loadConfig({
      config: { channel: "given" },
      env: { CAN_INTERFACE: "socketcan", CAN_BITRATE: "500000" },
      path: [],
    });
    assertEquals(config, { interface: "virtual", channel: "given", bitrate: 250000 });
    assertEquals(configOrigin(config, "bitrate"), "rc");
  } finally {
    for (const key of Object.keys(rc)) delete rc[key];
  }
});

Deno.test("an explicit path replaces the search list; missing files are skipped", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/bench.ini`;
    await Deno.writeTextFile(path, "[default]\ninterface = virtual\n[rig]\nchannel = rig0\n");
    assertEquals(loadFileConfig({ path }), { interface: "virtual" });
    assertEquals(loadFileConfig({ path: [path, `${dir}/missing.ini`], section: "rig" }), {
      channel: "rig0",
    });
    assertEquals(loadFileConfig({ path, section: "none" }), {});
    assertEquals(loadConfig({ path, context: "rig", env: {} }), {
      interface: "virtual",
      channel: "rig0",
    });
    assertEquals(CONFIG_FILES, ["~/can.conf", "/etc/can.conf", "~/.can", "~/.canrc"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("environment variables: CAN_CONFIG first, the named ones over it", () => {
  assertEquals(
    loadEnvironmentConfig(undefined, {
      CAN_CONFIG: '{"interface": "socketcan", "bitrate": 125000}',
      CAN_INTERFACE: "virtual",
      CAN_CHANNEL: "",
    }),
    { interface: "virtual", bitrate: 125000 },
  );
  assertEquals(loadEnvironmentConfig("x", { CAN_INTERFACE: "virtual" }), {});
});

Deno.test("IniConfig: DEFAULT inheritance, multi-line values, merging", () => {
  const ini = new IniConfig();
  ini.read("[DEFAULT]\nbitrate = 1\n[a]\nlong = one\n  two\n\n  three\n\nafter = x\n", "one");
  ini.read("[a]\nafter = y\n[b]\n", "two");
  assertEquals(ini.sections(), ["a", "b"]);
  assert(!ini.hasSection("DEFAULT"));
  assertEquals(ini.items("a"), { bitrate: "1", long: "one\ntwo\n\nthree", after: "y" });
  assertEquals(ini.items("b"), { bitrate: "1" });
  assertEquals(ini.items("c"), undefined);
});

Deno.test("config files the process may not read are skipped without a prompt", async () => {
  const home = await makeHome({ ".canrc": "[default]\ninterface = socketcan\nchannel = can0\n" });
  try {
    const script = `import { loadConfig } from ${
      JSON.stringify(new URL("../../config/canrc.ts", import.meta.url).href)
    };
console.log(JSON.stringify(loadConfig({ config: { interface: "virtual" } })));`;
    const file = `${home}/probe.ts`;
    await Deno.writeTextFile(file, script);
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", file],
      env: {
        HOME: home,
        NO_COLOR: "1",
        DENO_DIR: Deno.env.get("DENO_DIR") ??
          `${Deno.env.get("XDG_CACHE_HOME") ?? `${Deno.env.get("HOME")}/.cache`}/deno`,
      },
      clearEnv: true,
    }).output();
    assertEquals(code, 0, new TextDecoder().decode(stderr));
    assertEquals(JSON.parse(new TextDecoder().decode(stdout)), {
      interface: "virtual",
      channel: null,
    });
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
