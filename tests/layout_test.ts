// The tree says where code runs (STYLE.md "Layout"): core/ and client/ are
// universal, so they never touch Deno.* or import the Deno-only folders; the
// project's modules import no cycle; both packages keep every public export.
import { assert, assertEquals } from "./_helpers/assert.ts";

const ROOT = new URL("../", import.meta.url);

async function* sourceFiles(dir: URL): AsyncGenerator<URL> {
  for await (const entry of Deno.readDir(dir)) {
    const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
    if (entry.isDirectory) yield* sourceFiles(url);
    else if (entry.name.endsWith(".ts")) yield url;
  }
}

/** Code with comments removed, so a doc comment that names `Deno.HttpClient` is not a use. */
function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:])\/\/.*$/gm, "$1");
}

const IMPORT = /(?:from|import)\s*\(?\s*["']([^"']+)["']/g;

Deno.test("core/ and client/ use no Deno.* and import nothing Deno-only", async () => {
  const offences: string[] = [];
  let files = 0;
  for (const folder of ["core/", "client/"]) {
    for await (const file of sourceFiles(new URL(folder, ROOT))) {
      files++;
      const name = file.href.slice(ROOT.href.length);
      const code = withoutComments(await Deno.readTextFile(file));
      if (/\bDeno\./.test(code)) offences.push(`${name} uses Deno.*`);
      for (const [, specifier] of code.matchAll(IMPORT)) {
        if (specifier.startsWith("node:")) offences.push(`${name} imports ${specifier}`);
        if (!specifier.startsWith(".")) continue;
        const target = new URL(specifier, file).href.slice(ROOT.href.length);
        if (/^(server|ffi|cli|config|formats|web)\//.test(target) || target === "server.ts") {
          offences.push(`${name} imports ${target}`);
        }
      }
    }
  }
  assert(files > 20, `only ${files} files found under core/ and client/`);
  assertEquals(offences, []);
});

async function docJson(entry: string): Promise<{ symbols: { name: string }[] }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", entry],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  const doc = JSON.parse(new TextDecoder().decode(out.stdout));
  return doc.nodes[new URL(entry, ROOT).href];
}

interface Dependency {
  code?: { specifier?: string };
  type?: { specifier?: string };
  isDynamic?: boolean;
}

/** The module graph of `entry` as `deno info --json` gives it. */
async function moduleGraph(
  entry: string,
): Promise<{ modules: { specifier: string; dependencies?: Dependency[] }[] }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

async function localGraph(entries: string[]): Promise<Map<string, Set<string>>> {
  const edges = new Map<string, Set<string>>();
  for (const entry of entries) {
    const info = await moduleGraph(entry);
    for (const module of info.modules) {
      if (!module.specifier.startsWith(ROOT.href)) continue;
      const targets = edges.get(module.specifier) ?? new Set<string>();
      for (const dependency of module.dependencies ?? []) {
        for (const side of [dependency.code, dependency.type]) {
          if (side?.specifier?.startsWith(ROOT.href)) targets.add(side.specifier);
        }
      }
      edges.set(module.specifier, targets);
    }
  }
  return edges;
}

/** Strongly connected components of more than one module (Tarjan). */
function cycles(edges: Map<string, Set<string>>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w.slice(ROOT.href.length));
    } while (w !== v);
    if (component.length > 1 || edges.get(v)?.has(v)) found.push(component.sort());
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return found;
}

/** Every public name of every JSR entry point before the layout move; none may disappear. */
const EXPORTS: Record<string, string[]> = {
  "mod.ts": [
    "BINARY_BATCH_TYPE",
    "BINARY_HEADER_LENGTH",
    "BINARY_MESSAGE_TYPE",
    "BINARY_PROTOCOL",
    "BinaryFlag",
    "Bus",
    "BusClosedError",
    "BusOptions",
    "CAMEL_CASE_NAMES",
    "CANFD_LENGTHS",
    "CAN_EFF_MASK",
    "CAN_SFF_MASK",
    "CanError",
    "CanEvent",
    "CanEventOf",
    "CanFilter",
    "CanFrame",
    "CanFrameInit",
    "CloseCode",
    "DEFAULT_CANDUMP_CHANNEL",
    "DEFAULT_PORT",
    "DroppedDetail",
    "EVENT_TYPES",
    "EventType",
    "JSON_PROTOCOL",
    "MAX_CLOSE_REASON_BYTES",
    "MAX_DATA_LENGTH",
    "MAX_FILTERS",
    "PeriodicOptions",
    "PeriodicTask",
    "ReceiveOptions",
    "ReconnectOptions",
    "RemoteBus",
    "RemoteBusEventMap",
    "RemoteBusOptions",
    "RemoteBusState",
    "RemoteError",
    "SUBPROTOCOLS",
    "StateChangeDetail",
    "TOKEN_PROTOCOL_PREFIX",
    "TokenTransport",
    "UnknownEventTypeError",
    "VirtualBus",
    "VirtualBusOptions",
    "VirtualNetwork",
    "WIRE_NAMES",
    "checkEncodable",
    "checkFilters",
    "createFrame",
    "decodeBinary",
    "decodeBinaryBatch",
    "decodeEvent",
    "decodeJson",
    "defaultNetwork",
    "dlcToLength",
    "encodeBinary",
    "encodeBinaryBatch",
    "encodeEvent",
    "encodeFramesBatch",
    "encodeJson",
    "filtersFromJson",
    "framesEqual",
    "joinJsonMessages",
    "lengthToDlc",
    "matchesFilters",
    "messageFromJson",
    "messageToJson",
    "parseCandump",
    "parseCansend",
    "stringifyCandump",
    "stringifyCansend",
    "tokenProtocol",
    "truncateCloseReason",
    "validateFrame",
  ],
  "server.ts": [
    "Backend",
    "Bus",
    "BusOptions",
    "CanFilter",
    "CanFrame",
    "CanServer",
    "DEFAULT_LIMITS",
    "IdRange",
    "Limits",
    "MqttBackend",
    "MqttBus",
    "MqttGateway",
    "PeriodicOptions",
    "PeriodicTask",
    "ReceiveOptions",
    "Role",
    "ServeOptions",
    "TokenEntry",
    "VirtualBackend",
    "VirtualBus",
    "VirtualNetwork",
    "parseIdRange",
    "serve",
  ],
  "cli/logger.ts": [
    "Environment",
    "ToolIo",
    "USAGE",
    "VirtualNetwork",
    "main",
  ],
  "cli/player.ts": [
    "Environment",
    "ToolIo",
    "USAGE",
    "VirtualNetwork",
    "main",
  ],
  "cli/send.ts": [
    "Environment",
    "ToolIo",
    "USAGE",
    "VirtualNetwork",
    "main",
  ],
  "cli/dump.ts": [
    "Environment",
    "ToolIo",
    "USAGE",
    "VirtualNetwork",
    "main",
  ],
  "config/create_bus.ts": [
    "AnyBus",
    "Bus",
    "BusOptions",
    "CanFilter",
    "CanFrame",
    "CreateBusOptions",
    "DroppedDetail",
    "Environment",
    "PeriodicOptions",
    "PeriodicTask",
    "ReceiveOptions",
    "ReconnectOptions",
    "RemoteBus",
    "RemoteBusEventMap",
    "RemoteBusState",
    "SocketCanBus",
    "StateChangeDetail",
    "TokenTransport",
    "VirtualBus",
    "VirtualNetwork",
    "createBus",
    "rc",
  ],
  "config/canrc.ts": [
    "BusConfig",
    "CONFIG_FILES",
    "Environment",
    "IniConfig",
    "InterfaceName",
    "LoadConfigOptions",
    "LoadFileConfigOptions",
    "VALID_INTERFACES",
    "configOrigin",
    "loadConfig",
    "loadEnvironmentConfig",
    "loadFileConfig",
    "rc",
  ],
};

Deno.test("no import cycles among the project's modules", async () => {
  const graph = await localGraph([...Object.keys(EXPORTS), "web/app.ts"]);
  assert(graph.size > 100, `only ${graph.size} modules in the graph`);
  assertEquals(cycles(graph), []);
});

Deno.test("the server loads MQTT.js only when it connects to a broker, not at start-up", async () => {
  // A static import would load it at every start (docs/benchmark.md); a
  // dynamic one with a string literal keeps it in the graph, so deno compile
  // embeds it. Type imports are fine.
  const loads = (await moduleGraph("server.ts")).modules.flatMap((module) =>
    (module.dependencies ?? [])
      .filter((dependency) => dependency.code?.specifier?.startsWith("npm:mqtt@"))
      .map((dependency) => ({ from: module.specifier, dynamic: dependency.isDynamic === true }))
  );
  assert(loads.length > 0, "MQTT.js is not in the server's module graph");
  assertEquals(loads.filter((load) => !load.dynamic), []);
});

for (const [entry, names] of Object.entries(EXPORTS)) {
  Deno.test(`${entry} keeps its public exports`, async () => {
    const have = new Set((await docJson(entry)).symbols.map((s) => s.name));
    assertEquals(names.filter((name) => !have.has(name)), []);
  });
}

Deno.test("deno.json and client.jsonc publish these entry points and folders", async () => {
  const server = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  const entries = Object.values(server.exports as Record<string, string>).map((p) => p.slice(2));
  for (const entry of Object.keys(EXPORTS).filter((e) => e !== "mod.ts")) {
    assert(entries.includes(entry), `deno.json exports lacks ${entry}`);
  }
  const client = await Deno.readTextFile(new URL("client.jsonc", ROOT));
  for (const item of ['"mod.ts"', '"client.ts"', '"core/"', '"client/"']) {
    assert(client.includes(item), `client.jsonc does not publish ${item}`);
  }
});
