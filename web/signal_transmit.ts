/// <reference lib="dom" />
/**
 * Sending by signal values: pick a message of the loaded DBC files, fill in
 * its signals (numbers, or a value-table label from a list), and send the
 * frame once or add it to the periodic list of the transmit panel.
 *
 * @module
 */

import type { CanFrame } from "../core/frame.ts";
import type { DbcCollection } from "../core/dbc/collection.ts";
import type { DbcMessage, SignalValues } from "../core/dbc/types.ts";
import { byId, el } from "./_dom.ts";

/** What the form needs from the page. */
export interface SignalTransmitHost {
  /** The loaded files. */
  dbcs: DbcCollection;
  /** Sends a frame once (through the transmit panel). */
  send(frame: CanFrame): Promise<void>;
  /** Adds a frame to the periodic list and starts it. */
  addPeriodic(frame: CanFrame, periodMs: number): void;
  /** The period typed in the transmit panel, in milliseconds. */
  defaultPeriodMs(): number;
}

/**
 * Wires the signal form (`#stx-*` elements).
 *
 * @example
 * ```ts ignore
 * const form = new SignalTransmit(host);
 * form.rebuild(); // after DBC files changed
 * ```
 */
export class SignalTransmit {
  #host: SignalTransmitHost;
  #box = byId("stx");
  #message = byId<HTMLSelectElement>("stx-message");
  #fields = byId("stx-fields");
  #error = byId("stx-error");
  #inputs = new Map<string, HTMLInputElement | HTMLSelectElement>();
  #generation = -1;

  /** @param host The page's files and transmit panel. */
  constructor(host: SignalTransmitHost) {
    this.#host = host;
    this.#message.addEventListener("change", () => this.#showMessage());
    byId<HTMLFormElement>("stx-form").addEventListener("submit", (event) => {
      event.preventDefault();
      void this.#send();
    });
    byId("stx-add").addEventListener("click", () => this.#addPeriodic());
  }

  /** Lists the messages again when the files changed. */
  rebuild(): void {
    const dbcs = this.#host.dbcs;
    if (dbcs.generation === this.#generation) return;
    this.#generation = dbcs.generation;
    const names = new Set<string>();
    for (const { database } of dbcs.files) {
      for (const m of database.messages) if (m.signals.length > 0) names.add(m.name);
    }
    const previous = this.#message.value;
    this.#message.replaceChildren(
      ...[...names].sort().map((name) => {
        const option = el("option", "", name);
        option.value = name;
        return option;
      }),
    );
    if (names.has(previous)) this.#message.value = previous;
    this.#box.hidden = names.size === 0;
    this.#showMessage();
  }

  #current(): DbcMessage | undefined {
    return this.#host.dbcs.databaseOf(this.#message.value)?.getMessage(this.#message.value);
  }

  #showMessage(): void {
    this.#inputs.clear();
    this.#show();
    const message = this.#current();
    if (!message) return void this.#fields.replaceChildren();
    this.#fields.replaceChildren(...message.signals.map((signal) => {
      const label = el("label", "stx-field");
      const name = el("span", "mono", signal.name);
      name.title = signal.comment ?? signal.name;
      let input: HTMLInputElement | HTMLSelectElement;
      if (signal.labels.size > 0) {
        input = el("select", "mono");
        input.append(el("option", "", ""));
        for (const [raw, text] of signal.labels) {
          const option = el("option", "", `${text} (${raw})`);
          option.value = text;
          input.append(option);
        }
      } else {
        input = el("input", "mono");
        input.type = "number";
        input.step = "any";
        const range = signal.minimum !== signal.maximum
          ? `${signal.minimum}\u2026${signal.maximum}`
          : "";
        input.placeholder = [range, signal.unit].filter(Boolean).join(" ");
      }
      input.dataset.signal = signal.name;
      input.setAttribute("aria-label", signal.name);
      this.#inputs.set(signal.name, input);
      const unit = el("span", "muted", signal.unit);
      label.append(name, input, unit);
      return label;
    }));
  }

  #show(error?: unknown): void {
    this.#error.textContent = error === undefined
      ? ""
      : error instanceof Error
      ? error.message
      : String(error);
  }

  /** The frame the form describes; empty fields take the signal's start value. */
  frame(): CanFrame {
    const values: SignalValues = {};
    for (const [name, input] of this.#inputs) {
      const text = input.value.trim();
      if (text === "") continue;
      values[name] = input instanceof HTMLSelectElement ? text : Number(text);
    }
    return this.#host.dbcs.encode(this.#message.value, values);
  }

  async #send(): Promise<void> {
    try {
      await this.#host.send(this.frame());
      this.#show();
    } catch (error) {
      this.#show(error);
    }
  }

  #addPeriodic(): void {
    try {
      const period = this.#current()?.cycleTime ?? this.#host.defaultPeriodMs();
      this.#host.addPeriodic(this.frame(), period);
      this.#show();
    } catch (error) {
      this.#show(error);
    }
  }
}
