// Private: the channel name a tool writes into a log (and a relay serves): the one the server
// (or the local bus) gives the channel, so the page's saved log, the tools'
// logs and the server's own messages name a channel alike.
import type { Bus } from "./bus.ts";

/**
 * The channel name in a bus's `channelInfo`: `virtual channel 0` and
 * `socketcan channel 'vcan0'` (canremote's buses and servers), `Virtual bus
 * channel 0` (python-can-remote's server), each possibly followed by
 * ` on ws://...` (a RemoteBus).
 *
 * @param bus The open bus.
 * @returns The name without spaces, or `undefined` when the text names none.
 * @example
 * ```ts
 * import { channelName } from "./_channel_name.ts";
 * const bus = { channelInfo: "socketcan channel 'vcan0' on ws://pi:54701/" };
 * if (channelName(bus) !== "vcan0") throw new Error();
 * ```
 */
export function channelName(bus: Pick<Bus, "channelInfo">): string | undefined {
  const match = /\bchannel '?([^'\s]+)'?(?: on \S+)?$/.exec(bus.channelInfo);
  return match?.[1];
}
