// Each frame is encoded once per wire format, however many clients receive
// it: bus backends hand the same frame object to every client's bus.
import type { CanFrame } from "../frame.ts";
import { encodeBinary } from "../codec_binary.ts";
import { encodeJson } from "../codec_json.ts";

const binary = new WeakMap<CanFrame, Uint8Array>();
const json = new WeakMap<CanFrame, string>();

/** The wire form of a `message` event for `frame`, from the cache when another client needed it. */
export function encodeForProtocol(frame: CanFrame, isBinary: boolean): Uint8Array | string {
  if (isBinary) {
    let bytes = binary.get(frame);
    if (!bytes) binary.set(frame, bytes = encodeBinary(frame));
    return bytes;
  }
  let text = json.get(frame);
  if (!text) json.set(frame, text = encodeJson({ type: "message", frame }));
  return text;
}
