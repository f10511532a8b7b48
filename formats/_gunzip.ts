// Private: gunzip for reading `.gz` log files, every member of them.
//
// The logger writes a gzip member per flush (formats/_gzip.ts), and gzip
// files may hold several anyway (RFC 1952 section 2.2, `cat a.gz b.gz`).
// DecompressionStream stops after the first member and calls the rest an
// error, as its specification says; node:zlib reads on, as zcat and
// Python's gzip module do.
import { createGunzip } from "node:zlib";

/** Names a zlib failure the way the log readers report it. */
function gzipError(error: Error): TypeError {
  return /header/.test(error.message)
    ? new TypeError("invalid gzip header", { cause: error })
    : new TypeError(`corrupt gzip stream: ${error.message}`, { cause: error });
}

/** A stream that gunzips every member of a gzip file. */
export function gunzipStream(): TransformStream<Uint8Array, Uint8Array> {
  const gunzip = createGunzip();
  let failure: TypeError | undefined;
  // Settled by the write's callback, or by the error (which may come
  // instead of the callback).
  const waiting = new Set<(error?: TypeError) => void>();
  const wait = (start: (done: () => void) => void) =>
    new Promise<void>((resolve, reject) => {
      if (failure) return reject(failure);
      const settle = (error?: TypeError) => {
        waiting.delete(settle);
        error ? reject(error) : resolve();
      };
      waiting.add(settle);
      start(() => settle(failure));
    });
  gunzip.on("error", (error: Error) => {
    failure ??= gzipError(error);
    for (const settle of [...waiting]) settle(failure);
  });
  return new TransformStream({
    start(controller) {
      gunzip.on("data", (data: Uint8Array) => controller.enqueue(new Uint8Array(data)));
    },
    transform: (chunk) => wait((done) => gunzip.write(chunk, done)),
    flush: () =>
      wait((done) => {
        gunzip.once("end", done);
        gunzip.end();
      }),
    cancel: () => void gunzip.destroy(),
  });
}
