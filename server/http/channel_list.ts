// GET /api/channels: what the web page needs to offer a channel picker and
// estimate bus load. With tokens it takes a valid one (Authorization:
// Bearer) and lists only the channels that token opens; without, it says
// only that one is needed.
import type { Backend } from "../backends/backend.ts";
import { allowsChannel, type Grant, type TokenTable } from "../access/auth.ts";
import type { AccessAttempt } from "../access/access_attempt.ts";
import { UNKNOWN_HEALTH } from "../../core/bus_health.ts";

/** What the channel list says about a server. */
export interface ChannelListContext {
  /** The channels and interface served. */
  backend: Backend;
  /** The tokens in force, or `null` when the server requires none. */
  tokens: TokenTable | null;
  /** The bit rate forced on every bus, if any. */
  bitrate: number | undefined;
  /** Clients admitted now. */
  clients: number;
}

/**
 * Answers `GET /api/channels` with JSON: the interface, the channels (name,
 * path, bit rate, and their health: `state`, `samplePoint`, `dataBitrate`,
 * `errorCounters`, `stats`, as PROTOCOL.md lists them), the number of clients and whether a token is required.
 * A wrong token counts as a failed attempt; a missing one does not.
 *
 * @param request The request; its `Authorization` header may carry a token.
 * @param context What to list.
 * @param attempt Where a wrong token is counted.
 * @returns 200 with the list, or 401 `{"tokenRequired": true}`.
 * @example
 * ```ts
 * import { channelList } from "./channel_list.ts";
 * import { VirtualBackend } from "../backends/backend.ts";
 * const backend = new VirtualBackend(["0", "vcan1"]);
 * const attempt = { failed: () => {} };
 * const request = new Request("http://localhost/api/channels");
 * const response = channelList(request, { backend, tokens: null, bitrate: 500000, clients: 0 }, attempt);
 * const body = await response.json();
 * if (body.channels[1].path !== "/vcan1" || body.tokenRequired !== false) throw new Error();
 * ```
 */
export function channelList(
  request: Request,
  context: ChannelListContext,
  attempt: Pick<AccessAttempt, "failed">,
): Response {
  const { backend, tokens, bitrate } = context;
  const grant = bearerGrant(request, tokens, attempt, "GET /api/channels");
  if (grant instanceof Response) return grant;
  const channels = backend.channels.flatMap((name, i) =>
    grant && !allowsChannel(grant, name) ? [] : [{
      name,
      path: i === 0 ? "/" : `/${encodeURIComponent(name)}`,
      ...channelHealth(backend, name, bitrate),
      ...backend.describe?.(name),
    }]
  );
  return Response.json(
    {
      interface: backend.interfaceName,
      channels,
      clients: context.clients,
      tokenRequired: tokens !== null,
    },
    { headers: { "cache-control": "no-store" } },
  );
}

/**
 * The grant of a request's `Authorization: Bearer` token when the server has
 * tokens: `undefined` without tokens, a 401 `{"tokenRequired": true}`
 * response for a missing or wrong token. A wrong token counts as a failed
 * attempt; a missing one does not (the page asks without one first).
 *
 * @param request The request.
 * @param tokens The tokens in force, or `null`.
 * @param attempt Where a wrong token is counted.
 * @param what The request, for the log: `GET /api/channels`.
 * @returns The grant, `undefined`, or the 401 to answer with.
 * @example
 * ```ts
 * import { bearerGrant } from "./channel_list.ts";
 * const answer = bearerGrant(new Request("http://localhost/"), null, { failed() {} }, "GET /");
 * if (answer !== undefined) throw new Error();
 * ```
 */
export function bearerGrant(
  request: Request,
  tokens: TokenTable | null,
  attempt: Pick<AccessAttempt, "failed">,
  what: string,
): Grant | Response | undefined {
  if (!tokens) return undefined;
  const header = request.headers.get("authorization");
  const token = header === null ? undefined : /^Bearer +(\S+) *$/i.exec(header)?.[1];
  const grant = token === undefined ? undefined : tokens.lookup(token);
  if (grant) return grant;
  if (token !== undefined) attempt.failed(`wrong token (${what})`);
  return Response.json({ tokenRequired: true }, {
    status: 401,
    headers: {
      "cache-control": "no-store",
      "www-authenticate": token === undefined
        ? 'Bearer realm="canremote"'
        : 'Bearer realm="canremote", error="invalid_token"',
    },
  });
}

// The link's own bit rate wins over --bitrate (they agree once the server set it).
function channelHealth(backend: Backend, name: string, bitrate: number | undefined) {
  const health = backend.health?.(name) ?? UNKNOWN_HEALTH;
  return { ...health, bitrate: health.bitrate ?? bitrate ?? null };
}
