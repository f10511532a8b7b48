// A logger process killed with SIGKILL (a crash, an OOM kill) while writing
// a plain or a gzipped recording: python-can reads every frame the logger had about a
// second before, also across size rotation, and the files are valid gzip.
import { readLogFile } from "../../formats/log_file.ts";
import { createFrame } from "../../core/frame.ts";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { denoEnv, python, READ_WITH_PYTHON, startServer, waitFor } from "../_helpers/cli.ts";
import { requires } from "../_helpers/requires.ts";

const LOGGER = new URL("../../cli/logger.ts", import.meta.url).pathname;

const frame = (i: number) =>
  createFrame({ arbitrationId: i % 0x800, isExtendedId: false, data: [i & 0xff, i >> 8] });

Deno.test(
  "a logger killed with SIGKILL leaves .log.gz and .asc.gz files python-can reads up to a second before",
  requires("python3-can"),
  async () => {
    await using test = await startServer();
    const dir = await Deno.makeTempDir();
    try {
      // The third one rotates every 4 kB of text: the full files are closed,
      // the one being written when the kill comes is not.
      const cases = [["kill.log"], ["kill.log.gz"], ["kill.asc.gz"], ["rot.log.gz", "-s", "4k"]];
      const children = cases.map(([name, ...more]) =>
        new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "-A",
            LOGGER,
            "-i",
            "remote",
            "-c",
            test.url,
            "-f",
            `${dir}/${name}`,
            "--status",
            ...more,
          ],
          env: denoEnv(dir),
          stdout: "null",
          stderr: "piped",
        }).spawn()
      );
      const stderr = children.map(() => ({ text: "" }));
      const reading = children.map(async (child, i) => {
        for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
          stderr[i].text += chunk;
        }
      });
      await test.clients(children.length);
      await using peer = test.peer();
      const before = 1000;
      for (let i = 0; i < before; i++) await peer.send(frame(i));
      for (const [i] of cases.entries()) {
        await waitFor(
          () => stderr[i].text.includes(`${before} frames `),
          `logger ${i} to have ${before} frames`,
          10_000,
        );
      }
      // Longer than the second a .gz flush may wait, with room for a busy machine.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      // Mid-write: frames keep coming while the loggers are killed.
      let sent = before;
      for (; sent < before + 300; sent++) await peer.send(frame(sent));
      for (const child of children) child.kill("SIGKILL");
      for (; sent < before + 400; sent++) await peer.send(frame(sent));
      for (const [i, child] of children.entries()) {
        assertEquals((await child.status).signal, "SIGKILL");
        await reading[i];
      }

      const files = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.startsWith("rot"))
        .sort();
      const rotated = files.filter((name) => name.startsWith("rot_"));
      assert(rotated.length >= 3, files.join(" "));
      const groups = [[`${dir}/kill.log`], [`${dir}/kill.log.gz`], [`${dir}/kill.asc.gz`], [
        ...rotated.map((name) => `${dir}/${name}`),
        `${dir}/rot.log.gz`,
      ]];
      const paths = groups.flat();
      const theirs = await python(READ_WITH_PYTHON, paths) as { data: string }[][];
      for (const group of groups) {
        const pythons = group.flatMap((path) => theirs[paths.indexOf(path)]);
        const ours = [];
        for (const path of group) {
          // The file rotation had just started may hold nothing yet.
          if (Deno.statSync(path).size === 0) continue;
          ours.push(...await Array.fromAsync(readLogFile(path)));
        }
        // Every frame before the pause, in order, and nothing but what was sent.
        assert(pythons.length >= before && pythons.length <= sent, `${group}: ${pythons.length}`);
        assertEquals(
          pythons.map(({ data }) =>
            parseInt(data.slice(0, 2), 16) | parseInt(data.slice(2), 16) << 8
          ),
          Array.from({ length: pythons.length }, (_, k) => k),
          group.join(" "),
        );
        assertEquals(ours.length, pythons.length, group.join(" "));
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
