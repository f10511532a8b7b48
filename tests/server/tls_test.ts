// wss:// and https:// with a throw-away CA made by openssl: the client
// verifies the certificate by default, trusts a private CA given per
// connection (Deno.createHttpClient) or per process (DENO_CERT), refuses a
// certificate for another name, and tokens and the origin check work over TLS.
import { assert, assertEquals, assertRejects } from "../_helpers/assert.ts";
import { requires } from "../_helpers/requires.ts";
import { spawnServer } from "../_helpers/cli.ts";
import { makePki } from "../_helpers/pki.ts";
import { serve } from "../../server.ts";
import { RemoteBus } from "../../client.ts";
import { RemoteError } from "../../core/errors.ts";
import { createFrame } from "../../core/frame.ts";
import { CloseCode } from "../../core/protocol.ts";

const TOKEN = "tls-token-4b7e19c2d8a0";

const needs = requires("openssl");
/** A CA and two server certificates: localhost/127.0.0.1, and other.invalid. */
const pki = needs.ignore ? undefined : await makePki(
  await Deno.makeTempDir({ prefix: "canremote-tls-" }),
  { server: "DNS:localhost,IP:127.0.0.1", other: "DNS:other.invalid" },
);

Deno.test({
  name: "wss: certificates are verified by default; a private CA is trusted when given",
  ...needs,
  fn: async () => {
    const { ca, leaves: { server: { cert, key } } } = pki!;
    await using server = await serve({ port: 0, cert, key, tokens: [TOKEN] });
    assert(server.url.startsWith("wss://127.0.0.1:"), server.url);
    const untrusted = await assertRejects(
      () => RemoteBus.connect(server.url, { token: TOKEN }),
      RemoteError,
      "certificate",
    ) as RemoteError;
    assertEquals(untrusted.code, 1006);
    using httpClient = Deno.createHttpClient({ caCerts: [ca] });
    await using a = await RemoteBus.connect(server.url, { token: TOKEN, httpClient });
    await using b = await RemoteBus.connect(server.url.replace("127.0.0.1", "localhost"), {
      config: { token: TOKEN },
      httpClient,
    });
    await a.send(createFrame({ arbitrationId: 0x123, isExtendedId: false, data: [1, 2] }));
    const frame = await b.receive({ signal: AbortSignal.timeout(2000) });
    assertEquals([frame.arbitrationId, [...frame.data]], [0x123, [1, 2]]);
    // the token is checked over TLS as over plain WebSockets
    const refused = await assertRejects(
      () => RemoteBus.connect(server.url, { token: "not-the-token-1234", httpClient }),
      RemoteError,
    ) as RemoteError;
    assertEquals(refused.code, CloseCode.UNAUTHORIZED);
    // https:// serves the page and the channel list
    const response = await fetch(server.httpUrl + "api/channels", { client: httpClient });
    assertEquals((await response.json()).tokenRequired, true);
  },
});

Deno.test({
  name: "wss: a certificate for another name is refused even from a trusted CA",
  ...needs,
  fn: async () => {
    const { ca, leaves: { other } } = pki!;
    await using server = await serve({ port: 0, ...other });
    using httpClient = Deno.createHttpClient({ caCerts: [ca] });
    const error = await assertRejects(
      () => RemoteBus.connect(server.url, { httpClient }),
      RemoteError,
    ) as RemoteError;
    assertEquals(error.code, 1006);
    assert(/certificate|name/i.test(error.message), error.message);
  },
});

/** The status line of an upgrade sent over TLS (HTTP/1.1) with the given headers. */
async function tlsUpgradeStatus(port: number, ca: string, headers: Record<string, string>) {
  const conn = await Deno.connectTls({
    hostname: "localhost",
    port,
    caCerts: [ca],
    alpnProtocols: ["http/1.1"],
  });
  const lines = Object.entries({
    Host: `localhost:${port}`,
    Upgrade: "websocket",
    Connection: "Upgrade",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version": "13",
    ...headers,
  }).map(([k, v]) => `${k}: ${v}\r\n`).join("");
  await conn.write(new TextEncoder().encode(`GET / HTTP/1.1\r\n${lines}\r\n`));
  const buffer = new Uint8Array(4096);
  const n = await conn.read(buffer);
  conn.close();
  return new TextDecoder().decode(buffer.subarray(0, n ?? 0)).split("\r\n")[0];
}

Deno.test({
  name: "wss: the origin check and the Bearer check over TLS",
  ...needs,
  fn: async () => {
    const { ca, leaves: { server: { cert, key } } } = pki!;
    await using server = await serve({ port: 0, cert, key, tokens: [TOKEN] });
    const port = server.addr.port;
    const status = (headers: Record<string, string>) => tlsUpgradeStatus(port, ca, headers);
    const bearer = { Authorization: `Bearer ${TOKEN}` };
    assertEquals(
      await status({ ...bearer, Origin: `https://localhost:${port}` }),
      "HTTP/1.1 101 Switching Protocols",
    );
    // the page's scheme is part of its origin: http:// is another site
    assertEquals(
      await status({ ...bearer, Origin: `http://localhost:${port}` }),
      "HTTP/1.1 403 Forbidden",
    );
    assertEquals(
      await status({ Authorization: "Bearer wrong-token-000000" }),
      "HTTP/1.1 401 Unauthorized",
    );
  },
});

Deno.test({
  name: "wss: DENO_CERT trusts the CA for a whole process (the environment variable way)",
  ...needs,
  fn: async () => {
    const { dir, leaves: { server: { cert, key } } } = pki!;
    await using server = await serve({ port: 0, cert, key, tokens: [TOKEN] });
    const script = `
      import { RemoteBus } from ${JSON.stringify(new URL("../../client.ts", import.meta.url).href)};
      const bus = await RemoteBus.connect(Deno.args[0], { token: Deno.args[1] });
      console.log(bus.channelInfo);
      await bus.close();
    `;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--ext=ts", script, server.url, TOKEN],
      env: { DENO_CERT: `${dir}/ca.pem`, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert(out.success, text);
    assertEquals(text.trim(), `virtual channel 0 on ${server.url}`);
  },
});

Deno.test({
  name: "the command line serves wss:// with --cert and --key",
  ...needs,
  fn: async () => {
    const { dir, ca } = pki!;
    const server = spawnServer([
      "--cert",
      `${dir}/server.pem`,
      "--key",
      `${dir}/server.key`,
      "--token",
      TOKEN,
    ]);
    const url = (await server.until(/Channel 0: (wss:\/\/\S+)/))?.[1];
    try {
      assert(url, server.output());
      assert(
        server.output().includes("access tokens required (1 read-write, 0 read-only), TLS"),
        server.output(),
      );
      using httpClient = Deno.createHttpClient({ caCerts: [ca] });
      await (await RemoteBus.connect(url, { token: TOKEN, httpClient })).close();
    } finally {
      await server.stop();
    }
    assert(!server.output().includes(TOKEN), server.output());
  },
});

if (pki) {
  globalThis.addEventListener("unload", () => Deno.removeSync(pki.dir, { recursive: true }));
}
