// A reader in a process of its own, for tests that stop it with SIGSTOP:
// `deno run -A stall_reader.ts URL` prints, every 100 ms, one JSON line
// {frames, dropped} (frames received; frames the server reported dropping).
import { RemoteBus } from "../../client.ts";

const bus = await RemoteBus.connect(Deno.args[0]);
let frames = 0;
let dropped = 0;
bus.addEventListener("dropped", (event) => dropped = event.detail.total);
const encoder = new TextEncoder();
setInterval(() => {
  Deno.stdout.writeSync(encoder.encode(JSON.stringify({ frames, dropped }) + "\n"));
}, 100);
for await (const _ of bus) frames++;
