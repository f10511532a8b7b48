// Each frame is encoded once per wire format, however many clients receive
// it, and framed as a WebSocket message once per format for the clients
// whose sockets take whole frames (server/http/ws_socket.ts). Bus backends
// hand the same frame object to every client's bus, and the server relays it
// to each of them synchronously (Bus.subscribe), one client after the other:
// remembering the last frame per format catches every repeat, with no table
// to grow or collect.
import type { CanFrame } from "../../core/frame.ts";
import { encodeBinary } from "../../core/codec_binary.ts";
import { encodeJson } from "../../core/codec_json.ts";
import { frameMessage } from "../http/ws_frame.ts";

let binaryFrame: CanFrame | undefined;
let binaryBytes: Uint8Array | undefined;
let jsonFrame: CanFrame | undefined;
let jsonText: string | undefined;
let framedBinaryFrame: CanFrame | undefined;
let framedBinary: Uint8Array | undefined;
let framedJsonFrame: CanFrame | undefined;
let framedJson: Uint8Array | undefined;
const utf8 = new TextEncoder();

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

/** The `message` event for `frame` as a whole WebSocket frame, reused as {@linkcode encodeForProtocol} is. */
export function framedForProtocol(frame: CanFrame, isBinary: boolean): Uint8Array {
  if (isBinary) {
    if (frame !== framedBinaryFrame) {
      framedBinary = frameMessage(encodeForProtocol(frame, true) as Uint8Array, true);
      framedBinaryFrame = frame;
    }
    return framedBinary!;
  }
  if (frame !== framedJsonFrame) {
    framedJson = frameMessage(utf8.encode(encodeForProtocol(frame, false) as string), false);
    framedJsonFrame = frame;
  }
  return framedJson!;
}
