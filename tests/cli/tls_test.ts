// The tools against a wss:// server whose certificate comes from a private
// CA (a throw-away one made by openssl): they trust it with --ca FILE or
// DENO_CERT, refuse it without, and point python-style certificate flags
// (--ca_file=...) at --ca instead of passing them to the server as config keys.
import { main as dump } from "../../cli/dump.ts";
import { main as logger } from "../../cli/logger.ts";
import { main as player } from "../../cli/player.ts";
import { main as send } from "../../cli/send.ts";
import { serve, VirtualBackend } from "../../server.ts";
import { VirtualBus, VirtualNetwork } from "../../core/virtual_bus.ts";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { capture, denoEnv } from "../_helpers/cli.ts";
import { makePki } from "../_helpers/pki.ts";
import { requires } from "../_helpers/requires.ts";

const SEND = new URL("../../cli/send.ts", import.meta.url).pathname;

Deno.test({
  name: "a tool trusts a private CA through DENO_CERT, and refuses the server without it",
  ...requires("openssl"),
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "canremote-cli-tls-" });
    try {
      const network = new VirtualNetwork();
      await using server = await serve({
        port: 0,
        backend: new VirtualBackend(["0"], network),
        ...(await makePki(dir, { server: "IP:127.0.0.1" })).leaves.server,
      });
      assert(server.url.startsWith("wss://127.0.0.1:"), server.url);
      await using peer = VirtualBus.open({ channel: "0", network });
      const run = (env: Record<string, string>) =>
        new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", SEND, "-i", "remote", "-c", server.url, "123#CAFE"],
          env: { ...denoEnv(dir), ...env },
          stdout: "null",
          stderr: "piped",
        }).output();
      const refused = await run({});
      const why = new TextDecoder().decode(refused.stderr);
      assertEquals(refused.code, 1, why);
      assert(why.startsWith("send: ") && why.includes("certificate"), why);

      const trusted = await run({ DENO_CERT: `${dir}/ca.pem` });
      assertEquals(trusted.code, 0, new TextDecoder().decode(trusted.stderr));
      const frame = await peer.receive({ signal: AbortSignal.timeout(2000) });
      assertEquals([frame.arbitrationId, [...frame.data]], [0x123, [0xca, 0xfe]]);

      // --ca, in-process: the HTTP client it makes is closed with the bus (sanitizers on)
      const err = capture();
      const code = await send(
        ["-i", "remote", "-c", server.url, "--ca", `${dir}/ca.pem`, "7FF#01"],
        {
          stderr: err.stream,
          env: {},
          configPath: [],
        },
      );
      assertEquals(code, 0, err.text());
      assertEquals(
        (await peer.receive({ signal: AbortSignal.timeout(2000) })).arbitrationId,
        0x7ff,
      );
      const bad = capture();
      assertEquals(
        await send(["-i", "remote", "-c", server.url, "--ca", `${dir}/server.key`, "7FF#01"], {
          stderr: bad.stream,
          env: {},
          configPath: [],
        }),
        2,
      );
      assert(bad.text().includes("holds no PEM certificate"), bad.text());
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("python-style certificate flags point at --ca instead of going to the server", async () => {
  const tools = [["send", send, ["123#01"]], ["dump", dump, []], ["logger", logger, []], [
    "player",
    player,
    ["x.log"],
  ]] as const;
  for (const [name, main, rest] of tools) {
    for (const flag of ["--ca_file=ca.pem", "--ca-certs=ca.pem", "--ssl_context"]) {
      const err = capture();
      const code = await main(["-i", "remote", "-c", "wss://127.0.0.1:1/", flag, ...rest], {
        stderr: err.stream,
        env: {},
        configPath: [],
      });
      assertEquals(code, 2, `${name} ${flag}`);
      const text = err.text();
      assert(
        text.startsWith(`${name}: ${flag.split("=")[0]}: `) && text.includes("--ca FILE"),
        text,
      );
    }
  }
});
