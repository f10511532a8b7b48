// Private: gzip in front of a byte sink, for `.gz` log files.

/** A sink that gzips into `destination` and closes it when closed. */
export function gzipSink(destination: WritableStream<Uint8Array>): WritableStream<Uint8Array> {
  const gzip = new CompressionStream("gzip");
  const piping = gzip.readable.pipeTo(destination);
  const writer = gzip.writable.getWriter();
  return new WritableStream({
    write: (chunk) => writer.write(chunk as Uint8Array<ArrayBuffer>),
    async close() {
      await writer.close();
      await piping;
    },
    async abort(reason) {
      await writer.abort(reason);
      await piping.catch(() => {});
    },
  });
}
