// Access tokens: who may connect, with which role, to which channels. Tokens
// are compared in constant time (SHA-256 of both sides, then
// timingSafeEqual over every entry) and never appear in an error message.
import { createHash, timingSafeEqual } from "node:crypto";
import { isLoopback } from "../http/handshake.ts";

/** `rw`: send, periodic tasks and receive; `ro`: receive only. */
export type Role = "rw" | "ro";

/**
 * One access token and what it allows.
 *
 * @example
 * ```ts
 * import type { TokenEntry } from "./auth.ts";
 * const dashboard: TokenEntry = { token: "s3cret-for-the-dashboard", role: "ro", channels: ["can0"] };
 * if (dashboard.role !== "ro") throw new Error();
 * ```
 */
export interface TokenEntry {
  /** The secret: visible ASCII, no spaces. */
  token: string;
  /**
   * What a client holding it may do.
   * @default {"rw"}
   */
  role?: Role;
  /**
   * Channels it opens; all of them when left out.
   * @default {undefined}
   */
  channels?: readonly string[];
  /** Where it came from, for logs (`--token 1`, `tokens.txt:3`); never the token itself. */
  label?: string;
}

/**
 * What a valid token grants.
 *
 * @example
 * ```ts
 * import { TokenTable } from "./auth.ts";
 * const grant = new TokenTable([{ token: "abcdefgh12345678", role: "ro" }]).lookup("abcdefgh12345678");
 * if (grant?.role !== "ro" || grant.channels !== null) throw new Error();
 * ```
 */
export interface Grant {
  /** The role. */
  readonly role: Role;
  /** Channels allowed, or `null` for every channel. */
  readonly channels: readonly string[] | null;
  /** Where the token came from (never the token). */
  readonly label: string;
  /** SHA-256 of the token, to find the same token in a reloaded table. */
  readonly digest: Uint8Array;
}

const VISIBLE_ASCII = /^[\x21-\x7e]+$/;

/** Tokens shorter than this are accepted with a warning. */
export const SHORT_TOKEN = 16;

function sha256(text: string): Uint8Array {
  return createHash("sha256").update(text, "utf8").digest();
}

/**
 * Checks that a token can travel in every form (header, subprotocol, config).
 *
 * @param token The token.
 * @param where Where it was given, for the message (`--token 2`, `tokens.txt:4`).
 * @throws {TypeError} When it is not a string.
 * @throws {RangeError} When it is empty or holds spaces or control characters; the message
 *   never quotes the token.
 * @example
 * ```ts
 * import { checkToken } from "./auth.ts";
 * checkToken("k8Jd-2mQ_x9", "--token 1");
 * let refused = false;
 * try { checkToken("has space", "--token 2"); } catch (e) { refused = e instanceof RangeError; }
 * if (!refused) throw new Error();
 * ```
 */
export function checkToken(token: unknown, where: string): string {
  if (typeof token !== "string") throw new TypeError(`${where}: a token must be a string`);
  if (!VISIBLE_ASCII.test(token)) {
    throw new RangeError(
      `${where}: a token must be non-empty visible ASCII without spaces (${token.length} characters given)`,
    );
  }
  return token;
}

/**
 * The tokens a server accepts. {@linkcode TokenTable.lookup} compares a
 * presented token against every entry in constant time.
 *
 * @example
 * ```ts
 * import { TokenTable } from "./auth.ts";
 * const table = new TokenTable([
 *   { token: "operator-9f3a1c77e2", role: "rw" },
 *   { token: "viewer-41bb0d93aa", role: "ro", channels: ["can1"] },
 * ]);
 * if (table.lookup("viewer-41bb0d93aa")?.channels?.[0] !== "can1") throw new Error();
 * if (table.lookup("guess") !== undefined) throw new Error();
 * ```
 */
export class TokenTable {
  #entries: { digest: Uint8Array; grant: Grant }[] = [];
  #secrets: string[] = [];

  /**
   * @param entries The tokens.
   * @throws {TypeError} / {RangeError} For a malformed token, an unknown role, or the same token twice.
   */
  constructor(entries: Iterable<TokenEntry> = []) {
    let n = 0;
    for (const entry of entries) {
      n++;
      const label = entry.label ?? `token ${n}`;
      const token = checkToken(entry.token, label);
      const role = entry.role ?? "rw";
      if (role !== "rw" && role !== "ro") {
        throw new RangeError(`${label}: role must be "rw" or "ro", got ${JSON.stringify(role)}`);
      }
      const digest = sha256(token);
      if (this.#entries.some((e) => timingSafeEqual(e.digest, digest))) {
        throw new RangeError(`${label}: the same token is given twice`);
      }
      const channels = entry.channels === undefined ? null : Object.freeze([...entry.channels]);
      this.#entries.push({ digest, grant: Object.freeze({ role, channels, label, digest }) });
      this.#secrets.push(token);
    }
  }

  /** Number of tokens. */
  get size(): number {
    return this.#entries.length;
  }

  /** Labels of the tokens shorter than {@linkcode SHORT_TOKEN} characters, to warn about. */
  get shortTokens(): string[] {
    return this.#entries.filter((_, i) => this.#secrets[i].length < SHORT_TOKEN).map((e) =>
      e.grant.label
    );
  }

  /** Tokens per role, for the start-up message. */
  get counts(): Record<Role, number> {
    const counts = { rw: 0, ro: 0 };
    for (const { grant } of this.#entries) counts[grant.role]++;
    return counts;
  }

  /**
   * Finds the grant of a presented token. Every entry is compared, in
   * constant time, whether or not one matched before.
   *
   * @param token What the client presented.
   * @returns The grant, or `undefined` for an unknown token.
   */
  lookup(token: string): Grant | undefined {
    const digest = sha256(token);
    let found: Grant | undefined;
    for (const entry of this.#entries) {
      if (timingSafeEqual(entry.digest, digest) && !found) found = entry.grant;
    }
    return found;
  }

  /**
   * The grant of the same token in this table, for a client admitted with an older table.
   *
   * @param grant A grant from another table.
   * @returns This table's grant for the same token, or `undefined` when it was removed.
   */
  regrant(grant: Grant): Grant | undefined {
    let found: Grant | undefined;
    for (const entry of this.#entries) {
      if (timingSafeEqual(entry.digest, grant.digest) && !found) found = entry.grant;
    }
    return found;
  }

  /**
   * Replaces every token of this table in a text with `[token]`, so log lines
   * that quote what a client sent cannot carry a secret.
   *
   * @param text Any text.
   * @param extra Further secrets, e.g. the token a client presented.
   * @returns The text without any of the tokens.
   */
  redact(text: string, extra: readonly string[] = []): string {
    let out = text;
    for (const secret of [...this.#secrets, ...extra]) {
      if (secret && out.includes(secret)) out = out.split(secret).join("[token]");
    }
    return out;
  }
}

/**
 * Whether a grant opens a channel.
 *
 * @param grant The grant.
 * @param channel The channel.
 * @returns `true` when the grant names the channel or names none.
 * @example
 * ```ts
 * import { allowsChannel, TokenTable } from "./auth.ts";
 * const grant = new TokenTable([{ token: "abcdefgh12345678", channels: ["can0"] }]).lookup("abcdefgh12345678")!;
 * if (!allowsChannel(grant, "can0") || allowsChannel(grant, "can1")) throw new Error();
 * ```
 */
export function allowsChannel(grant: Grant, channel: string): boolean {
  return grant.channels === null || grant.channels.includes(channel);
}

/**
 * Parses a tokens file: one `TOKEN ROLE [CHANNEL,...]` per line, `#` starts a
 * comment line, blank lines are skipped. ROLE is `rw` or `ro`; the channel
 * list (comma-separated, no spaces) limits the token to those channels, `*`
 * or nothing means all.
 *
 * @param text The file's text.
 * @param source The file name, for messages and labels.
 * @param channels When given, every channel named must be one of them.
 * @returns The entries, labelled `source:line`.
 * @throws {SyntaxError} For a line that is not `TOKEN ROLE [CHANNELS]`.
 * @throws {RangeError} For a bad token, role or channel; messages name the line, never the token.
 * @example
 * ```ts
 * import { parseTokensFile } from "./auth.ts";
 * const entries = parseTokensFile(
 *   "# lab tokens\nq8Zr-operator-5b1e rw\nv2Lm-viewer-77c0 ro can0,can1\n",
 *   "tokens.txt",
 * );
 * if (entries[1].label !== "tokens.txt:3" || entries[1].channels?.length !== 2) throw new Error();
 * ```
 */
export function parseTokensFile(
  text: string,
  source = "tokens file",
  channels?: readonly string[],
): TokenEntry[] {
  const entries: TokenEntry[] = [];
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const where = `${source}:${i + 1}`;
    const fields = line.split(/\s+/);
    if (fields.length < 2 || fields.length > 3) {
      throw new SyntaxError(
        `${where}: expected "TOKEN ROLE [CHANNEL,...]", got ${fields.length} field${
          fields.length === 1 ? "" : "s"
        }`,
      );
    }
    const [token, role, list] = fields;
    checkToken(token, where);
    if (role !== "rw" && role !== "ro") {
      throw new RangeError(`${where}: role must be "rw" or "ro", got ${JSON.stringify(role)}`);
    }
    let names: string[] | undefined;
    if (list !== undefined && list !== "*") {
      names = list.split(",");
      for (const name of names) {
        if (name === "" || (channels && !channels.includes(name))) {
          throw new RangeError(
            `${where}: no channel ${JSON.stringify(name)} on this server; channels: ${
              channels?.join(", ")
            }`,
          );
        }
      }
    }
    entries.push({ token, role, channels: names, label: where });
  }
  return entries;
}

/**
 * Reads a tokens file ({@linkcode parseTokensFile}).
 *
 * @param path The file.
 * @param channels The server's channels, to catch a misspelt one.
 * @returns The entries, and a warning when the file can be read by other users.
 * @throws {Deno.errors.NotFound} / {Deno.errors.PermissionDenied} When it cannot be read.
 * @throws {SyntaxError} / {RangeError} As {@linkcode parseTokensFile}.
 * @example
 * ```ts
 * import { readTokensFile } from "./auth.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "k2Vq-operator-19ad rw\n", { mode: 0o600 });
 * await Deno.chmod(path, 0o600);
 * const { entries, warning } = await readTokensFile(path);
 * await Deno.remove(path);
 * if (entries.length !== 1 || warning !== undefined) throw new Error();
 * ```
 */
export async function readTokensFile(
  path: string,
  channels?: readonly string[],
): Promise<{ entries: TokenEntry[]; warning?: string }> {
  const [text, info] = await Promise.all([Deno.readTextFile(path), Deno.stat(path)]);
  const entries = parseTokensFile(text, path, channels);
  const mode = info.mode ?? 0;
  const warning = mode & 0o077
    ? `${path} can be read by other users (mode ${(mode & 0o777).toString(8)}); chmod 600 it`
    : undefined;
  return { entries, warning };
}

/** How a server is exposed, from {@linkcode exposure}. */
export interface Exposure {
  /** Why the server must not start, if so. */
  refusal?: string;
  /** Loud warnings to log at start. */
  warnings: string[];
  /** One line saying who may connect. */
  summary: string;
}

/**
 * Decides whether a server may listen where it is asked to: on loopback
 * anything goes; elsewhere only with access tokens or an explicit `insecure`.
 *
 * @param options The listening address, the tokens (if any), `insecure` and whether TLS is on.
 * @returns The decision, its warnings and a summary line.
 * @example
 * ```ts
 * import { exposure } from "./auth.ts";
 * const open = exposure({ hostname: "0.0.0.0", insecure: false, tls: false });
 * if (open.refusal === undefined) throw new Error("no token, no --insecure: refused");
 * const local = exposure({ hostname: "127.0.0.1", insecure: false, tls: false });
 * if (local.refusal !== undefined || local.warnings.length) throw new Error();
 * ```
 */
export function exposure(
  options: { hostname: string; tokens?: TokenTable; insecure: boolean; tls: boolean },
): Exposure {
  const { hostname, tokens, insecure, tls } = options;
  const local = isLoopback(hostname);
  const warnings: string[] = [];
  if (tokens) {
    const { rw, ro } = tokens.counts;
    if (tokens.size === 0) warnings.push("The token list is empty: no client can connect");
    for (const label of tokens.shortTokens) {
      warnings.push(
        `${label} is shorter than ${SHORT_TOKEN} characters: easy to guess (openssl rand -hex 16 makes a good one)`,
      );
    }
    if (!local && !tls) {
      warnings.push(
        `Tokens travel unencrypted to ${hostname}: anyone on the network path can read them; use --cert and --key`,
      );
    }
    if (insecure) warnings.push("--insecure has no effect: clients need a token");
    return {
      warnings,
      summary: `access tokens required (${rw} read-write, ${ro} read-only)${tls ? ", TLS" : ""}`,
    };
  }
  if (local) {
    return { warnings, summary: `no tokens; only this machine can connect (${hostname})` };
  }
  if (!insecure) {
    return {
      refusal:
        `Listening on ${hostname} lets the network reach the bus: give access tokens (--token, --read-only-token, --tokens-file) or say --insecure`,
      warnings,
      summary: "refused",
    };
  }
  warnings.push(
    `INSECURE: listening on ${hostname} without access tokens (--insecure): anyone who can reach this port can send frames to the CAN bus`,
  );
  return { warnings, summary: "INSECURE, no tokens: anyone on the network can send frames" };
}
