// Real MQTT brokers for the fleet tests: Mosquitto, and a three-node NATS
// cluster with MQTT listeners, each started on free loopback ports in a
// temporary directory and stopped (and removed) by the test.
import { MqttConnection } from "../../server/mqtt/connection.ts";

/** A running broker process. */
export interface Broker extends AsyncDisposable {
  /** `mqtt://127.0.0.1:PORT`. */
  url: string;
  port: number;
  /** Stops the process (SIGTERM, or SIGKILL with `kill`) and waits for it. */
  stop(signal?: Deno.Signal): Promise<void>;
  /** Starts it again on the same port and files. */
  restart(): Promise<void>;
  /** What the broker wrote to stderr/stdout so far. */
  log(): string;
  /** The process id, while it runs (for CPU figures from /proc). */
  pid(): number | undefined;
}

/** A free TCP port on 127.0.0.1 (closed again, so the broker can take it). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Waits until something accepts TCP connections on `port`. */
export async function waitForPort(port: number, ms = 10_000): Promise<void> {
  const end = performance.now() + ms;
  while (true) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return;
    } catch (error) {
      if (performance.now() > end) {
        throw new Error(`Nothing listens on port ${port}`, { cause: error });
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** Waits until the broker at `url` admits an MQTT session. */
export async function waitForMqtt(url: string, ms = 30_000): Promise<void> {
  const end = performance.now() + ms;
  while (true) {
    try {
      const connection = await MqttConnection.open({ broker: url, connectTimeout: 5000, env: {} });
      await connection.close();
      return;
    } catch (error) {
      if (performance.now() > end) throw error;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

class Process {
  #child: Deno.ChildProcess | undefined;
  #output: string[] = [];
  #pumps: Promise<void>[] = [];
  constructor(readonly command: string, readonly args: string[]) {}

  start(): void {
    const child = this.#child = new Deno.Command(this.command, {
      args: this.args,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    // A broker outlives a test run that ends early (a failure, --filter
    // skipping the test that stops it): kill it when the run ends.
    globalThis.addEventListener("unload", () => {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
    });
    for (const stream of [this.#child.stdout, this.#child.stderr]) {
      this.#pumps.push((async () => {
        for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
          this.#output.push(chunk);
        }
      })());
    }
  }

  async stop(signal: Deno.Signal = "SIGTERM"): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#child = undefined;
    try {
      child.kill(signal);
    } catch { /* already gone */ }
    await child.status;
    await Promise.all(this.#pumps);
    this.#pumps = [];
  }

  log(): string {
    return this.#output.join("");
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }
}

/** Options of {@linkcode startMosquitto}. */
export interface MosquittoOptions {
  /** user: password pairs; with them, anonymous clients are refused. */
  users?: Record<string, string>;
  /** An ACL file's text (mosquitto's `acl_file`). */
  acl?: string;
  /** Serve mqtts:// with this PEM certificate and key. */
  tls?: { cert: string; key: string };
}

/** Starts Mosquitto on a free loopback port. */
export async function startMosquitto(options: MosquittoOptions = {}): Promise<Broker> {
  const dir = await Deno.makeTempDir({ prefix: "canremote-mosquitto-" });
  // Started as root, mosquitto reads its password and ACL files after
  // dropping to the mosquitto user.
  await Deno.chmod(dir, 0o755);
  const port = freePort();
  const lines = [`listener ${port} 127.0.0.1`, "persistence false"];
  if (options.users) {
    const passwd = `${dir}/passwd`;
    await Deno.writeTextFile(passwd, "");
    for (const [user, password] of Object.entries(options.users)) {
      const out = await new Deno.Command("/usr/bin/mosquitto_passwd", {
        args: ["-b", passwd, user, password],
        stdout: "null",
        stderr: "piped",
      }).output();
      if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
    }
    lines.push("allow_anonymous false", `password_file ${passwd}`);
  } else {
    lines.push("allow_anonymous true");
  }
  if (options.tls) {
    await Deno.writeTextFile(`${dir}/server.pem`, options.tls.cert);
    await Deno.writeTextFile(`${dir}/server.key`, options.tls.key, { mode: 0o644 });
    lines.push(`certfile ${dir}/server.pem`, `keyfile ${dir}/server.key`);
  }
  if (options.acl !== undefined) {
    await Deno.writeTextFile(`${dir}/acl`, options.acl);
    lines.push(`acl_file ${dir}/acl`);
  }
  await Deno.writeTextFile(`${dir}/mosquitto.conf`, lines.join("\n") + "\n");
  const process = new Process("/usr/sbin/mosquitto", ["-c", `${dir}/mosquitto.conf`]);
  const start = async () => {
    process.start();
    await waitForPort(port);
  };
  await start();
  const stop = (signal?: Deno.Signal) => process.stop(signal);
  return {
    url: `${options.tls ? "mqtts" : "mqtt"}://127.0.0.1:${port}`,
    port,
    stop,
    restart: start,
    log: () => process.log(),
    pid: () => process.pid,
    async [Symbol.asyncDispose]() {
      await stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** A NATS cluster whose every node has an MQTT listener. */
export interface NatsCluster extends AsyncDisposable {
  /** The MQTT listeners, node 1 first. */
  nodes: Broker[];
}

/**
 * Starts three nats-server nodes in one cluster, each with JetStream (which
 * NATS's MQTT needs) under its own `server_name` and an MQTT listener.
 */
export async function startNatsCluster(size = 3): Promise<NatsCluster> {
  const dir = await Deno.makeTempDir({ prefix: "canremote-nats-" });
  const ports = Array.from({ length: size }, () => ({
    client: freePort(),
    cluster: freePort(),
    mqtt: freePort(),
  }));
  const routes = ports.map((p) => `nats-route://127.0.0.1:${p.cluster}`).join(", ");
  const processes = ports.map((p, i) => {
    const config = `
server_name: n${i + 1}
listen: 127.0.0.1:${p.client}
jetstream { store_dir: "${dir}/js${i + 1}", max_memory_store: 64MB, max_file_store: 256MB }
cluster { name: canremote, listen: 127.0.0.1:${p.cluster}, routes: [${routes}] }
mqtt { listen: 127.0.0.1:${p.mqtt} }
`;
    Deno.writeTextFileSync(`${dir}/n${i + 1}.conf`, config);
    return new Process("/usr/sbin/nats-server", ["-c", `${dir}/n${i + 1}.conf`]);
  });
  for (const process of processes) process.start();
  await Promise.all(ports.map((p) => waitForPort(p.mqtt, 30_000)));
  // The MQTT listeners refuse sessions until JetStream has elected its
  // leaders (the cluster's routes come first): try until each node admits one.
  for (const p of ports) await waitForMqtt(`mqtt://127.0.0.1:${p.mqtt}`);
  const nodes = ports.map((p, i): Broker => ({
    url: `mqtt://127.0.0.1:${p.mqtt}`,
    port: p.mqtt,
    stop: (signal) => processes[i].stop(signal),
    restart: async () => {
      processes[i].start();
      await waitForPort(p.mqtt, 30_000);
    },
    log: () => processes[i].log(),
    pid: () => processes[i].pid,
    [Symbol.asyncDispose]: () => processes[i].stop(),
  }));
  return {
    nodes,
    async [Symbol.asyncDispose]() {
      await Promise.all(processes.map((p) => p.stop()));
      await Deno.remove(dir, { recursive: true });
    },
  };
}
