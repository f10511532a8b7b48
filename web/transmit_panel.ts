/// <reference lib="dom" />
/**
 * The transmit panel: a frame in `cansend` syntax kept in step with a form,
 * a Send button, and a list of periodic frames (start, stop, modify, remove).
 *
 * @module
 */

import type { PeriodicTask } from "../core/bus.ts";
import { parseCansend, stringifyCansend } from "../core/candump.ts";
import type { RemoteBus } from "../client.ts";
import { type CanFrame, createFrame } from "../core/frame.ts";
import { byId, el } from "./_dom.ts";
import { parseHexBytes } from "./format.ts";

/** What the panel needs from the page. */
export interface TransmitHost {
  /** The connected bus, if any. */
  bus(): RemoteBus | undefined;
  /** Called after a frame was handed to the bus. */
  sent(frame: CanFrame): void;
}

interface PeriodicEntry {
  row: HTMLElement;
  dot: HTMLElement;
  text: HTMLInputElement;
  period: HTMLInputElement;
  toggle: HTMLButtonElement;
  task?: PeriodicTask;
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Wires the transmit form and the periodic list of the page (elements `#tx-*` and `#periodic-list`).
 *
 * @example
 * ```ts ignore
 * const panel = new TransmitPanel({ bus: () => bus, sent: () => stats.sent++ });
 * setInterval(() => panel.refresh(), 1000);
 * ```
 */
export class TransmitPanel {
  #host: TransmitHost;
  #text = byId<HTMLInputElement>("tx-text");
  #id = byId<HTMLInputElement>("tx-id");
  #dlc = byId<HTMLInputElement>("tx-dlc");
  #ext = byId<HTMLInputElement>("tx-ext");
  #fd = byId<HTMLInputElement>("tx-fd");
  #brs = byId<HTMLInputElement>("tx-brs");
  #rtr = byId<HTMLInputElement>("tx-rtr");
  #data = byId<HTMLInputElement>("tx-data");
  #periodMs = byId<HTMLInputElement>("tx-period");
  #error = byId("tx-error");
  #list = byId("periodic-list");
  #entries: PeriodicEntry[] = [];

  /** @param host The page's bus and counters. */
  constructor(host: TransmitHost) {
    this.#host = host;
    byId<HTMLFormElement>("tx-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.#sendNow();
    });
    this.#text.addEventListener("input", () => this.#fromText());
    for (
      const input of [this.#id, this.#dlc, this.#ext, this.#fd, this.#brs, this.#rtr, this.#data]
    ) {
      input.addEventListener("input", () => this.#fromForm());
    }
    byId("tx-add").addEventListener("click", () => this.#addPeriodic());
    this.#fromText();
  }

  /** Periodic frames running now. */
  get running(): number {
    return this.#entries.filter((e) => e.task && !e.task.stopped).length;
  }

  /**
   * Sends a frame built elsewhere (the signal form), showing it in the form.
   *
   * @param frame The frame.
   * @throws {Error} When not connected, or the bus refuses the frame.
   */
  async sendFrame(frame: CanFrame): Promise<void> {
    this.#text.value = stringifyCansend(frame);
    this.#fromText();
    await this.#connected().send(frame);
    this.#host.sent(frame);
  }

  /**
   * Adds a frame built elsewhere to the periodic list and starts it.
   *
   * @param frame The frame.
   * @param periodMs Its period in milliseconds.
   */
  addPeriodicFrame(frame: CanFrame, periodMs: number): void {
    const entry = this.#createEntry(stringifyCansend(frame), String(periodMs));
    this.#entries.push(entry);
    this.#list.append(entry.row);
    this.#start(entry);
    this.refresh();
  }

  /** The period typed in the form, in milliseconds. */
  get periodMs(): number {
    return Number(this.#periodMs.value) || 100;
  }

  #show(error?: unknown): void {
    this.#error.textContent = error === undefined ? "" : message(error);
  }

  #fromText(): void {
    let frame: CanFrame;
    try {
      frame = parseCansend(this.#text.value.trim());
    } catch (error) {
      this.#text.setAttribute("aria-invalid", "true");
      this.#show(error);
      return;
    }
    this.#text.removeAttribute("aria-invalid");
    this.#show();
    this.#id.value = frame.arbitrationId.toString(16).toUpperCase();
    this.#ext.checked = frame.isExtendedId;
    this.#fd.checked = frame.isFd;
    this.#brs.checked = frame.bitrateSwitch;
    this.#rtr.checked = frame.isRemoteFrame;
    this.#dlc.value = String(frame.dlc);
    this.#data.value = Array.from(frame.data, (b) => b.toString(16).toUpperCase().padStart(2, "0"))
      .join(" ");
    this.#syncEnabled();
  }

  #syncEnabled(): void {
    this.#brs.disabled = !this.#fd.checked;
    this.#rtr.disabled = this.#fd.checked;
    this.#dlc.readOnly = !this.#rtr.checked;
    this.#data.disabled = this.#rtr.checked;
  }

  #fromForm(): void {
    this.#syncEnabled();
    try {
      const idText = this.#id.value.trim().replace(/^0x/i, "");
      if (!/^[0-9a-f]{1,8}$/i.test(idText)) {
        throw new SyntaxError(`ID ${JSON.stringify(this.#id.value)} is not a hex identifier`);
      }
      const rtr = this.#rtr.checked && !this.#fd.checked;
      const data = rtr ? new Uint8Array(0) : parseHexBytes(this.#data.value);
      const frame = createFrame({
        arbitrationId: parseInt(idText, 16),
        isExtendedId: this.#ext.checked,
        isFd: this.#fd.checked,
        bitrateSwitch: this.#fd.checked && this.#brs.checked,
        isRemoteFrame: rtr,
        dlc: rtr ? Number(this.#dlc.value) : data.length,
        data,
      });
      if (!rtr) this.#dlc.value = String(data.length);
      this.#text.value = stringifyCansend(frame);
      this.#text.removeAttribute("aria-invalid");
      this.#show();
    } catch (error) {
      this.#show(error);
    }
  }

  #connected(): RemoteBus {
    const bus = this.#host.bus();
    if (!bus || bus.closed) throw new Error("Not connected to the server");
    return bus;
  }

  async #sendNow(): Promise<void> {
    try {
      const frame = parseCansend(this.#text.value.trim());
      await this.#connected().send(frame);
      this.#host.sent(frame);
      this.#show();
    } catch (error) {
      this.#show(error);
    }
  }

  #addPeriodic(): void {
    try {
      parseCansend(this.#text.value.trim());
    } catch (error) {
      return this.#show(error);
    }
    const entry = this.#createEntry(this.#text.value.trim(), this.#periodMs.value);
    this.#entries.push(entry);
    this.#list.append(entry.row);
    this.#start(entry);
    this.refresh();
  }

  #createEntry(text: string, period: string): PeriodicEntry {
    const row = el("div", "periodic-row");
    const dot = el("span", "dot");
    const textInput = el("input", "mono p-text");
    textInput.value = text;
    textInput.spellcheck = false;
    textInput.setAttribute("aria-label", "Periodic frame in cansend syntax");
    const periodInput = el("input", "mono p-period");
    periodInput.type = "number";
    periodInput.min = "1";
    periodInput.value = period;
    periodInput.setAttribute("aria-label", "Period in milliseconds");
    const toggle = el("button", "p-toggle icon");
    const apply = el("button", "p-apply icon", "\u2713");
    apply.title = "Apply: send the edited frame and period from the next period on";
    apply.setAttribute("aria-label", "Apply");
    const remove = el("button", "p-remove icon", "\u00d7");
    remove.title = "Stop and remove";
    remove.setAttribute("aria-label", "Remove");
    for (const button of [toggle, apply, remove]) button.type = "button";
    row.append(dot, textInput, periodInput, toggle, apply, remove);
    const entry: PeriodicEntry = { row, dot, text: textInput, period: periodInput, toggle };
    toggle.addEventListener("click", () => {
      if (entry.task && !entry.task.stopped) entry.task.stop();
      else this.#start(entry);
      this.refresh();
    });
    apply.addEventListener("click", () => this.#apply(entry));
    for (const input of [textInput, periodInput]) {
      input.addEventListener("keydown", (event) => {
        if (event.key === "Enter") this.#apply(entry);
      });
    }
    remove.addEventListener("click", () => {
      entry.task?.stop();
      entry.row.remove();
      this.#entries = this.#entries.filter((e) => e !== entry);
    });
    return entry;
  }

  #read(entry: PeriodicEntry): { frame: CanFrame; period: number } {
    const frame = parseCansend(entry.text.value.trim());
    const ms = Number(entry.period.value);
    if (!(ms >= 1 && ms <= 3_600_000)) {
      throw new RangeError(
        `Period must be 1 to 3600000 ms, got ${JSON.stringify(entry.period.value)}`,
      );
    }
    return { frame, period: ms / 1000 };
  }

  #start(entry: PeriodicEntry): void {
    try {
      const { frame, period } = this.#read(entry);
      entry.task = this.#connected().sendPeriodic(frame, period);
      this.#show();
    } catch (error) {
      this.#show(error);
    }
  }

  #apply(entry: PeriodicEntry): void {
    try {
      const { frame, period } = this.#read(entry);
      const task = entry.task;
      if (task && !task.stopped) {
        if (task.frame.arbitrationId === frame.arbitrationId && task.period === period) {
          task.modify(frame);
        } else {
          task.stop();
          entry.task = this.#connected().sendPeriodic(frame, period);
        }
      }
      this.#show();
    } catch (error) {
      this.#show(error);
    }
    this.refresh();
  }

  /** Updates the running/stopped marks (a task stops when the bus closes or another takes its id). */
  refresh(): void {
    for (const entry of this.#entries) {
      const running = entry.task !== undefined && !entry.task.stopped;
      const cls = running ? "dot on" : "dot";
      if (entry.dot.className !== cls) entry.dot.className = cls;
      const label = running ? "Stop" : "Start";
      if (entry.toggle.getAttribute("aria-label") !== label) {
        entry.toggle.setAttribute("aria-label", label);
        entry.toggle.title = label;
        entry.toggle.textContent = running ? "\u25a0" : "\u25b6";
      }
    }
  }
}
