// Private: a byte sink that writes each chunk to a file before it settles.
//
// Deno's `FsFile.writable` (2.9) collects small writes in a buffer of its
// own until about 64 kB have come, so a flushed log could sit in the
// process for minutes on a slow bus and die with it; a log's flush must
// reach the kernel, which keeps it through a crash of the process.

/** A sink over `file` whose writes reach the kernel before they settle; closing closes the file. */
export function fileSink(file: Deno.FsFile): WritableStream<Uint8Array> {
  return new WritableStream({
    async write(chunk) {
      for (let at = 0; at < chunk.length;) at += await file.write(chunk.subarray(at));
    },
    close: () => file.close(),
    abort: () => file.close(),
  });
}
