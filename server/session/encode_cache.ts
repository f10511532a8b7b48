// Each frame is encoded once per wire format, however many clients receive
// it. Bus backends hand the same frame object to every client's bus, and the
// server relays it to each of them synchronously (Bus.subscribe), one client
// after the other: remembering the last frame per format catches every
// repeat, with no table to grow or collect.
import type { CanFrame } from "../../core/frame.ts";
import { encodeBinary } from "../../core/codec_binary.ts";
import { encodeJson } from "../../core/codec_json.ts";

let binaryFrame: CanFrame | undefined;
let binaryBytes: Uint8Array | undefined;
let jsonFrame: CanFrame | undefined;
let jsonText: string | undefined;

/** The wire form of a `message` event for `frame`, reused when the previous call had the same frame. */
export function encodeForProtocol(frame: CanFrame, isBinary: boolean): Uint8Array | string {
  if (isBinary) {
    if (frame !== binaryFrame) {
      binaryBytes = encodeBinary(frame);
      binaryFrame = frame;
    }
    return binaryBytes!;
  }
  if (frame !== jsonFrame) {
    jsonText = encodeJson({ type: "message", frame });
    jsonFrame = frame;
  }
  return jsonText!;
}
