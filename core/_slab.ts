// Private: small byte arrays as views into shared 8 KiB slabs, as Node's
// pooled Buffers are. Small ArrayBuffers are expensive to allocate (hundreds
// of ns each in Deno); the codecs' messages and data, and the server's
// framed messages, are made many thousand times a second. A slab is never
// written twice, so a view stays valid for as long as anyone holds it.

/** Bytes per slab; longer arrays get an ArrayBuffer of their own. */
const SLAB_SIZE = 8192;
let slab = new ArrayBuffer(SLAB_SIZE);
let slabOffset = 0;

/**
 * A zeroed view of `length` bytes, in the current slab when it fits.
 *
 * @param length The bytes wanted.
 * @returns A fresh view nobody else writes to.
 * @example
 * ```ts
 * import { allocate } from "./_slab.ts";
 * const a = allocate(3), b = allocate(3);
 * a.set([1, 2, 3]);
 * if (b.some((x) => x !== 0) || a.length !== 3) throw new Error();
 * ```
 */
export function allocate(length: number): Uint8Array<ArrayBuffer> {
  if (length > SLAB_SIZE / 8) return new Uint8Array(length);
  // byteLength is 0 once someone transferred (detached) the slab via a view's .buffer.
  if (slabOffset + length > slab.byteLength) {
    slab = new ArrayBuffer(SLAB_SIZE);
    slabOffset = 0;
  }
  const bytes = new Uint8Array(slab, slabOffset, length);
  slabOffset = (slabOffset + length + 7) & ~7;
  return bytes;
}
