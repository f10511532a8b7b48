// What one client may do: the grant of the token its upgrade carried, or of
// the `token` in its bus_request config (python-can-remote's client sends
// keyword arguments there), kept up to date when the tokens are reloaded.
import type { Logger } from "@logtape/logtape";
import { CloseCode } from "../../core/protocol.ts";
import { allowsChannel, type Grant, type Role, type TokenTable } from "../access/auth.ts";
import type { ClientLog } from "./client_log.ts";

/** Why a client must go: the close code and its reason. */
export type Refusal = [code: number, reason: string];

/** What a {@linkcode ClientAccess} needs from its session. */
export interface ClientAccessOptions {
  /** The session's id, for logs. */
  id: number;
  /** The channel the client connected to. */
  channel: string;
  /** The server's logger. */
  log: Logger;
  /** Remembers the tokens the client presents, to keep them out of logs. */
  clientLog: ClientLog;
  /** The tokens in force now, or `null` when the server requires none. */
  tokens(): TokenTable | null;
  /** Counts a refused token against the client's address. */
  failed(): void;
}

/**
 * One client's grant: its role and channels, from the token of its upgrade
 * request or of its `bus_request` config.
 *
 * @example A server with tokens admits a client by the token in its config
 * ```ts
 * import { ClientAccess } from "./client_access.ts";
 * import { ClientLog } from "./client_log.ts";
 * import { TokenTable } from "../access/auth.ts";
 * import { getLogger } from "@logtape/logtape";
 * const tokens = new TokenTable([{ token: "viewer-41bb0d93aa", role: "ro", label: "--token 1" }]);
 * const log = getLogger("example");
 * const access = new ClientAccess({
 *   id: 1,
 *   channel: "0",
 *   log,
 *   clientLog: new ClientLog(1, log, () => tokens),
 *   tokens: () => tokens,
 *   failed: () => {},
 * });
 * if (access.authorize({ token: "guess" })?.[0] !== 4401) throw new Error("refused");
 * if (access.authorize({ token: "viewer-41bb0d93aa" }) !== undefined) throw new Error();
 * if (access.role !== "ro" || access.label !== "--token 1") throw new Error();
 * ```
 */
export class ClientAccess {
  #options: ClientAccessOptions;
  #grant: Grant | undefined;

  /**
   * @param options The session's id, channel, logs and tokens.
   * @param grant What the token of the upgrade request allows; `undefined`
   *   when it carried none (the `bus_request` config may then carry one).
   */
  constructor(options: ClientAccessOptions, grant?: Grant) {
    this.#options = options;
    this.#grant = grant;
  }

  /** What this client may do: `rw` unless its token is read-only. */
  get role(): Role {
    return this.#grant?.role ?? "rw";
  }

  /** Where its token came from (`--token 1`, `tokens.txt:3`), if it has one. */
  get label(): string | undefined {
    return this.#grant?.label;
  }

  /**
   * Checks the `token` of a `bus_request` config, on a server with tokens
   * and for a client whose upgrade carried none; a refused token counts as a
   * failed attempt. Done before any bus is opened.
   *
   * @param config The `bus_request` config.
   * @returns `undefined` when the client may go on, else why it is closed.
   */
  authorize(config: unknown): Refusal | undefined {
    const { id, channel, log, clientLog } = this.#options;
    const tokens = this.#options.tokens();
    if (tokens === null || this.#grant) return undefined;
    const token = config !== null && typeof config === "object"
      ? (config as Record<string, unknown>).token
      : undefined;
    if (token === undefined || token === null) {
      return [
        CloseCode.UNAUTHORIZED,
        "This server requires an access token: --token TOKEN for the tools, token=... in python-can's config",
      ];
    }
    if (typeof token !== "string") {
      this.#options.failed();
      return [CloseCode.UNAUTHORIZED, "The access token must be a string"];
    }
    clientLog.present(token);
    const grant = tokens.lookup(token);
    if (!grant) {
      this.#options.failed();
      log.info("Client {id}: wrong access token", { id });
      return [CloseCode.UNAUTHORIZED, "Invalid access token"];
    }
    if (!allowsChannel(grant, channel)) {
      this.#options.failed();
      log.info("Client {id}: {label} does not open channel {channel}", {
        id,
        label: grant.label,
        channel,
      });
      return [CloseCode.FORBIDDEN, `The access token does not open channel "${channel}"`];
    }
    this.#grant = grant;
    log.info("Client {id} authenticated by {label} ({role})", {
      id,
      label: grant.label,
      role: grant.role,
    });
    return undefined;
  }

  /**
   * Applies a reloaded token table: a changed role applies from now on.
   *
   * @param tokens The new tokens, or `null` when the server requires none.
   * @returns Why the client must go (4401 for a removed token, 4403 for one
   *   that no longer opens its channel), or `undefined`.
   */
  regrant(tokens: TokenTable | null): Refusal | undefined {
    if (!this.#grant || tokens === null) return undefined;
    const grant = tokens.regrant(this.#grant);
    if (!grant) return [CloseCode.UNAUTHORIZED, "The access token was revoked"];
    const { channel } = this.#options;
    if (!allowsChannel(grant, channel)) {
      return [CloseCode.FORBIDDEN, `The access token no longer opens channel "${channel}"`];
    }
    this.#grant = grant;
    return undefined;
  }
}
