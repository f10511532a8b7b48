// The server's refusals of what a tool sent. A server answers a frame or a
// periodic task it will not take (read-only token, an id outside
// --allow-id, a period under --min-period, the send rate) with an `error`
// event, not a closed connection; RemoteBus dispatches each as an "error"
// event, also those that arrive while close() waits for the server's close
// frame. Local buses throw from send() instead, so they have none.
import { RemoteBus } from "../client.ts";
import type { AnyBus } from "../config/create_bus.ts";
import type { TextWriter } from "./_common.ts";

/**
 * Listens for a bus's `"error"` events and prints each new message at once
 * as `TOOL: the server refused: MESSAGE` (a repeated message only counts).
 */
export class Refusals {
  #tool: string;
  #stderr: TextWriter;
  #ignore: RegExp | undefined;
  #count = 0;
  #seen = new Set<string>();
  #printing: Promise<void> = Promise.resolve();
  #first = new AbortController();

  /**
   * @param bus The bus; only a {@linkcode RemoteBus} has refusals.
   * @param tool The tool's name, for the messages.
   * @param stderr Where they go.
   * @param ignore Messages that are no refusal of anything the tool needs.
   */
  constructor(bus: AnyBus, tool: string, stderr: TextWriter, ignore?: RegExp) {
    this.#tool = tool;
    this.#stderr = stderr;
    this.#ignore = ignore;
    if (bus instanceof RemoteBus) bus.addEventListener("error", (event) => this.#add(event));
  }

  /** `error` events received. */
  get count(): number {
    return this.#count;
  }

  /** Aborted at the first refusal. */
  get signal(): AbortSignal {
    return this.#first.signal;
  }

  #add(event: ErrorEvent): void {
    const message = event.message || String(event.error?.message ?? event.error);
    if (this.#ignore?.test(message)) return;
    this.#count++;
    this.#first.abort();
    // At most 100 different texts are printed (and remembered); the rest only count.
    if (this.#seen.has(message) || this.#seen.size >= 100) return;
    this.#seen.add(message);
    const line = `${this.#tool}: the server refused: ${message}\n`;
    this.#printing = this.#printing.then(() => this.#stderr.write(line)).catch(() => {});
  }

  /**
   * Waits until every message is printed; with repeats, adds how many
   * refusals there were in all.
   * @returns The number of refusals.
   */
  async done(): Promise<number> {
    await this.#printing;
    if (this.#count > this.#seen.size) {
      await this.#stderr.write(`${this.#tool}: the server refused ${this.#count} times in all\n`);
    }
    return this.#count;
  }
}
