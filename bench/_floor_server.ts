// The floor the bridge is measured against: a bare Deno.serve WebSocket
// server that sends the same pre-encoded 23-byte message to every client,
// with none of canremote's code. `deno run -A bench/_floor_server.ts PORT`;
// a client's text "go N" makes it send N messages to every other client, a
// binary message is relayed as is to every other client, and any other text
// (a bus_request) is answered with a bus_response.
const port = Number(Deno.args[0]);
const sockets = new Set<WebSocket>();
const message = new Uint8Array(23).fill(1);
message[0] = 1;

Deno.serve(
  { hostname: "127.0.0.1", port, onListen: () => console.log("Web page: ready") },
  (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.onopen = () => sockets.add(socket);
    socket.onclose = () => sockets.delete(socket);
    socket.onmessage = async (e) => {
      const targets = [...sockets].filter((s) => s !== socket);
      if (typeof e.data !== "string") {
        for (const target of targets) target.send(e.data);
        return;
      }
      if (!e.data.startsWith("go ")) {
        socket.send('{"type": "bus_response", "payload": {"channel_info": "floor"}}');
        return;
      }
      const n = Number(e.data.slice(3));
      for (let i = 0; i < n; i++) {
        for (const target of targets) target.send(message);
        if (i % 100 === 99) await new Promise((r) => setTimeout(r, 0));
      }
    };
    return response;
  },
);
