// Whether a WebSocket upgrade request may become a session, decided before
// upgrading: the Host (DNS rebinding), the Origin, the token it presents,
// the channel its path names and the subprotocol it offers. A refusal is an
// HTTP status, except for a token in the subprotocol: a browser never sees
// the status of a refused upgrade (nor does Deno's client over wss://), so
// such a client is upgraded and closed with 4401 or 4403 before any
// bus_request is read.
import { CloseCode, TOKEN_PROTOCOL_PREFIX } from "../../core/protocol.ts";
import type { Backend } from "../backends/backend.ts";
import { allowsChannel, type Grant, type TokenTable } from "../access/auth.ts";
import type { Refusal } from "../session/client_access.ts";
import type { AccessAttempt } from "../access/access_attempt.ts";
import {
  channelForPath,
  isLoopback,
  negotiateProtocol,
  originRefusal,
  presentedToken,
} from "./handshake.ts";
import { plainText } from "./plain_text.ts";

/** An upgrade request that passed the gate. */
export interface UpgradeTicket {
  /** The channel its path names. */
  channel: string;
  /** The subprotocol chosen. */
  protocol: string;
  /** Whether the response names the subprotocol (it was offered). */
  echo: boolean;
  /** What its token allows, when it carried a valid one. */
  grant?: Grant;
  /** The token it carried, valid or not, to keep out of logs. */
  token?: string;
  /** Set when it is upgraded only to be closed at once (a token in the subprotocol). */
  refusal?: Refusal;
}

/** Options of {@linkcode UpgradeGate}. */
export interface UpgradeGateOptions {
  /** The channels served. */
  backend: Backend;
  /** Origins whose pages may connect besides the server's own; `"*"` allows all. */
  allowOrigins: readonly string[];
  /** The address the server listens on; a loopback one checks `Host` (without tokens). */
  hostname?: string;
}

/**
 * Checks WebSocket upgrade requests, in this order: Host, Origin, token,
 * channel, subprotocol.
 *
 * @example An upgrade from another site's page is refused with 403
 * ```ts
 * import { UpgradeGate } from "./upgrade_gate.ts";
 * import { VirtualBackend } from "../backends/backend.ts";
 * const gate = new UpgradeGate({ backend: new VirtualBackend(), allowOrigins: [], hostname: "127.0.0.1" });
 * const attempt = {
 *   refuse: (status: number, body: string) => new Response(body, { status }),
 *   failed: () => {},
 * };
 * const upgrade = (origin: string) =>
 *   new Request("http://127.0.0.1:54701/", {
 *     headers: { upgrade: "websocket", origin, "sec-websocket-protocol": "can.json.v1" },
 *   });
 * const evil = gate.check(upgrade("https://evil.example"), new URL("http://127.0.0.1:54701/"), null, attempt);
 * if (!(evil instanceof Response) || evil.status !== 403) throw new Error();
 * const own = gate.check(upgrade("http://127.0.0.1:54701"), new URL("http://127.0.0.1:54701/"), null, attempt);
 * if (own instanceof Response || own.channel !== "0" || own.protocol !== "can.json.v1") throw new Error();
 * ```
 */
export class UpgradeGate {
  #backend: Backend;
  #allowOrigins: readonly string[];
  #loopbackOnly: boolean;

  /** @param options The channels, allowed origins and listening address. */
  constructor(options: UpgradeGateOptions) {
    this.#backend = options.backend;
    this.#allowOrigins = options.allowOrigins;
    this.#loopbackOnly = options.hostname !== undefined && isLoopback(options.hostname);
  }

  /**
   * Checks one upgrade request. Wrong tokens, and tokens for another
   * channel, count as failed attempts.
   *
   * @param request The upgrade request.
   * @param url Its parsed URL.
   * @param tokens The tokens in force, or `null` when the server requires none.
   * @param attempt Logs refusals and counts failed attempts.
   * @returns The refusal (an HTTP response), or the ticket to upgrade with.
   */
  check(
    request: Request,
    url: URL,
    tokens: TokenTable | null,
    attempt: Pick<AccessAttempt, "refuse" | "failed">,
  ): Response | UpgradeTicket {
    if (this.#loopbackOnly && tokens === null && !this.#hostAllowed(url)) {
      return attempt.refuse(
        403,
        `Host ${
          JSON.stringify(url.host)
        } is not served: this server listens on loopback only (DNS rebinding protection)`,
      );
    }
    const badOrigin = originRefusal(request, this.#allowOrigins);
    if (badOrigin) return attempt.refuse(403, badOrigin);
    const presented = presentedToken(request);
    if (presented.error) return attempt.refuse(400, presented.error);
    let grant: Grant | undefined;
    let refusal: Refusal | undefined;
    if (presented.token !== undefined && tokens) {
      grant = tokens.lookup(presented.token);
      if (!grant) attempt.failed(`wrong token (${presented.via})`);
      if (!grant && presented.via === "header") {
        return attempt.refuse(401, "Invalid access token", {
          "www-authenticate": 'Bearer realm="canremote", error="invalid_token"',
        });
      }
      if (!grant) refusal = [CloseCode.UNAUTHORIZED, "Invalid access token"];
    }
    const channels = this.#backend.channels;
    const channel = channelForPath(url.pathname, channels);
    if (channel === undefined) {
      return plainText(
        404,
        `No channel "${decodeSafe(url.pathname.slice(1))}" here; channels: ${channels.join(", ")}`,
      );
    }
    if (grant && !allowsChannel(grant, channel)) {
      const reason = `The access token does not open channel "${channel}"`;
      attempt.failed(`${grant.label} for channel ${channel} (${presented.via})`);
      if (presented.via === "header") return attempt.refuse(403, reason);
      refusal = [CloseCode.FORBIDDEN, reason];
    }
    const offered = request.headers.get("sec-websocket-protocol");
    const negotiated = negotiateProtocol(offered);
    if (!negotiated) {
      // The offer, without a token entry (canremote.token.*) it may carry.
      const shown = (offered ?? "").split(",").map((p) => p.trim())
        .filter((p) => !p.startsWith(TOKEN_PROTOCOL_PREFIX)).join(", ");
      return plainText(
        400,
        `Unsupported WebSocket subprotocol ${
          JSON.stringify(shown.slice(0, 100))
        }: offer can.binary+json.v1 or can.json.v1`,
      );
    }
    const { protocol, echo } = negotiated;
    return { channel, protocol, echo, grant, token: presented.token, refusal };
  }

  // DNS rebinding only matters for a loopback server without tokens: the page
  // would reach the bus with nothing to prove. Hosts of allowed origins pass
  // (a reverse proxy on the same machine that keeps the Host header).
  #hostAllowed(url: URL): boolean {
    if (isLoopback(url.hostname) || this.#allowOrigins.includes("*")) return true;
    return this.#allowOrigins.some((origin) => {
      try {
        return new URL(origin).host === url.host;
      } catch {
        return false;
      }
    });
  }
}

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
