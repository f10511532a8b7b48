// Private: gzip in front of a byte sink, for `.gz` log files.
//
// Each chunk handed to the sink becomes one complete gzip member, written
// with one write. A gzip file may hold any number of members (RFC 1952
// section 2.2; Python's gzip module, zcat and DecompressionStream read them
// as one stream), so the file on disk is whole after every write: a killed
// process leaves everything written up to its last flush readable, where one
// long member would leave a stream without its end that readers refuse. The
// writers above hand down 64 kB or a flush at a time, so the cost in
// compression is small (deflate's window is 32 kB anyway).

import { gzip } from "node:zlib";
import { promisify } from "node:util";

// node:zlib, not CompressionStream: Deno 2.9's fails now and then with
// "failed to write whole buffer" when several compress at once, and this
// one compresses off the main thread.
const member = promisify(gzip);

/** A sink that gzips each chunk into `destination` and closes it when closed. */
export function gzipSink(destination: WritableStream<Uint8Array>): WritableStream<Uint8Array> {
  const writer = destination.getWriter();
  return new WritableStream({
    async write(chunk) {
      if (chunk.length) await writer.write(await member(chunk));
    },
    close: () => writer.close(),
    abort: (reason) => writer.abort(reason),
  });
}
