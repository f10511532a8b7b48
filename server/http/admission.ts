// Who gets a place on the server. A connection without a valid token in its
// upgrade (or, on a server without tokens, until its bus_request) is pending:
// it counts towards maxPending, not maxClients, so token-less connections
// cannot crowd out clients that have one.
import type { Logger } from "@logtape/logtape";

/**
 * The pending and admitted connections of a server, within `maxPending`
 * and `maxClients`.
 *
 * @typeParam C A connection (a session); its `id` names it in the log.
 * @example One place: the pending client that shows its access first gets it
 * ```ts
 * import { Admission } from "./admission.ts";
 * import { getLogger } from "@logtape/logtape";
 * const admission = new Admission<{ id: number }>(1, 2, getLogger("example"));
 * const first = { id: 1 }, second = { id: 2 };
 * admission.add(first, true);
 * admission.add(second, true);
 * if (admission.refusal(true) === undefined) throw new Error("no third pending place");
 * if (admission.admit(first) !== undefined) throw new Error("first is admitted");
 * if (!admission.admit(second)?.startsWith("The server is at its limit of 1 clients")) throw new Error();
 * if (admission.pendingCount !== 0 || admission.admittedCount !== 1) throw new Error();
 * ```
 */
export class Admission<C extends { readonly id: number }> {
  /** Most clients admitted at once. */
  readonly maxClients: number;
  /** Most connections waiting to be admitted at once. */
  readonly maxPending: number;
  #pending: Set<C> = new Set();
  #admitted: Set<C> = new Set();
  #log: Logger;

  /**
   * @param maxClients Most clients admitted at once.
   * @param maxPending Most connections waiting to be admitted at once.
   * @param log The server's logger.
   */
  constructor(maxClients: number, maxPending: number, log: Logger) {
    this.maxClients = maxClients;
    this.maxPending = maxPending;
    this.#log = log;
  }

  /** Connections waiting to be admitted (`maxPending` applies). */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Clients admitted (`maxClients` applies). */
  get admittedCount(): number {
    return this.#admitted.size;
  }

  /**
   * Whether a new connection has a place, checked before upgrading.
   *
   * @param pending Whether it would be pending (no valid token in its upgrade).
   * @returns Why not (for an HTTP 503), or `undefined`.
   */
  refusal(pending: boolean): string | undefined {
    // Nobody could be admitted now, pending or not: say so before upgrading.
    if (this.#admitted.size >= this.maxClients) {
      return `The server is at its limit of ${this.maxClients} clients`;
    }
    if (pending && this.#pending.size >= this.maxPending) {
      return `The server is at its limit of ${this.maxPending} connections waiting for a bus_request`;
    }
    return undefined;
  }

  /**
   * Counts a new connection.
   *
   * @param connection The connection.
   * @param pending Whether it waits to be admitted; else it is admitted now.
   */
  add(connection: C, pending: boolean): void {
    (pending ? this.#pending : this.#admitted).add(connection);
  }

  /**
   * A pending connection showed its token (or sent its `bus_request`): it
   * becomes a client, unless the server filled up meanwhile.
   *
   * @param connection The connection; one that is not pending stays as it is.
   * @returns Why it cannot be admitted (for a close with 1013), or `undefined`.
   */
  admit(connection: C): string | undefined {
    if (!this.#pending.delete(connection)) return undefined;
    if (this.#admitted.size >= this.maxClients) {
      this.#log.info("Client {id} refused: the server is at its limit of {max} clients", {
        id: connection.id,
        max: this.maxClients,
      });
      return `The server is at its limit of ${this.maxClients} clients; try again later`;
    }
    this.#admitted.add(connection);
    return undefined;
  }

  /**
   * Forgets a connection that has closed, pending or admitted.
   *
   * @param connection The connection.
   */
  remove(connection: C): void {
    this.#pending.delete(connection);
    this.#admitted.delete(connection);
  }
}
