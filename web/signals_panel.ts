/// <reference lib="dom" />
/**
 * The Signals card: the DBC files loaded (picked, dropped on the page, or
 * offered by the server), and every signal they describe with a search, its
 * latest value, and a box to plot it.
 *
 * @module
 */

import type { CanFrame } from "../core/frame.ts";
import type { DbcCollection } from "../core/dbc/collection.ts";
import { decodeSignals } from "../core/dbc/codec.ts";
import type { DbcMessage, DbcSignal } from "../core/dbc/types.ts";
import { byId, el, setText } from "./_dom.ts";

/** Most signals listed at once; a search narrows the rest down. */
export const MAX_LISTED = 300;

/** A signal as the panel and the plot name it. */
export interface SignalRef {
  /** `Message.Signal`. */
  key: string;
  message: DbcMessage;
  signal: DbcSignal;
}

/** What the panel needs from the page. */
export interface SignalsHost {
  /** The loaded files. */
  dbcs: DbcCollection;
  /** The latest frame of a message, if one came. */
  latest(message: DbcMessage): CanFrame | undefined;
  /** Whether a signal is plotted. */
  plotted(key: string): boolean;
  /** Plots a signal, or stops plotting it. */
  setPlotted(ref: SignalRef, on: boolean): void;
  /** Removes a loaded file. */
  removeFile(name: string): void;
  /** Loads files the user picked. */
  loadFiles(files: FileList): void;
}

interface Entry {
  ref: SignalRef;
  row: HTMLElement;
  box: HTMLInputElement;
  value: HTMLElement;
}

/**
 * Every signal of the loaded files, by `Message.Signal`.
 *
 * @param dbcs The loaded files.
 * @returns The signals, messages in file order; a message name two files share is listed once.
 * @example
 * ```ts
 * import { allSignals } from "./signals_panel.ts";
 * import { DbcCollection } from "../core/dbc/collection.ts";
 * import { parseDbc } from "../core/dbc/parse.ts";
 * const dbcs = new DbcCollection();
 * dbcs.set("a.dbc", parseDbc('BO_ 1 M: 1 X\n SG_ S : 0|8@1+ (1,0) [0|0] "" X\n'));
 * if (allSignals(dbcs)[0].key !== "M.S") throw new Error();
 * ```
 */
export function allSignals(dbcs: DbcCollection): SignalRef[] {
  const refs: SignalRef[] = [];
  const seen = new Set<string>();
  for (const { database } of dbcs.files) {
    for (const message of database.messages) {
      if (seen.has(message.name)) continue;
      seen.add(message.name);
      for (const signal of message.signals) {
        refs.push({ key: `${message.name}.${signal.name}`, message, signal });
      }
    }
  }
  return refs;
}

/**
 * Whether a signal matches a search: every word of it appears in the signal's
 * key, unit or comment (any case).
 *
 * @param ref The signal.
 * @param query Words.
 * @returns Whether it matches.
 * @example
 * ```ts
 * import { matchesSearch } from "./signals_panel.ts";
 * const ref = { key: "EEC1.EngineSpeed", signal: { unit: "rpm" } } as never;
 * if (!matchesSearch(ref, "eec1 rpm") || matchesSearch(ref, "torque")) throw new Error();
 * ```
 */
export function matchesSearch(ref: SignalRef, query: string): boolean {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return true;
  const text = `${ref.key} ${ref.signal.unit} ${ref.signal.comment ?? ""}`.toLowerCase();
  return words.every((w) => text.includes(w));
}

/**
 * Wires the Signals card (`#dbc-*`, `#sig-*` elements).
 *
 * @example
 * ```ts ignore
 * const panel = new SignalsPanel(host);
 * setInterval(() => panel.refreshValues(), 250);
 * ```
 */
export class SignalsPanel {
  #host: SignalsHost;
  #files = byId("dbc-files");
  #search = byId<HTMLInputElement>("sig-search");
  #list = byId("sig-list");
  #count = byId("sig-count");
  #entries: Entry[] = [];
  #generation = -1;
  #query = "";

  /** @param host The page's files, frames and plot. */
  constructor(host: SignalsHost) {
    this.#host = host;
    const input = byId<HTMLInputElement>("dbc-input");
    byId("dbc-load").addEventListener("click", () => input.click());
    input.addEventListener("change", () => {
      if (input.files?.length) host.loadFiles(input.files);
      input.value = "";
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    this.#search.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => this.rebuild(), 120);
    });
  }

  /** Rebuilds the file chips and the list (after files changed or the search did). */
  rebuild(): void {
    const host = this.#host;
    this.#generation = host.dbcs.generation;
    this.#files.replaceChildren(...host.dbcs.files.map(({ name }) => {
      const chip = el("span", "dbc-chip", name);
      const remove = el("button", "icon", "\u00d7");
      remove.type = "button";
      remove.title = `Remove ${name}`;
      remove.setAttribute("aria-label", `Remove ${name}`);
      remove.addEventListener("click", () => host.removeFile(name));
      chip.append(remove);
      return chip;
    }));
    this.#query = this.#search.value;
    const refs = allSignals(host.dbcs);
    const matching = refs.filter((ref) => matchesSearch(ref, this.#query));
    this.#entries = matching.slice(0, MAX_LISTED).map((ref) => this.#entry(ref));
    this.#list.replaceChildren(...this.#entries.map((e) => e.row));
    setText(
      this.#count,
      refs.length === 0
        ? "no DBC file"
        : matching.length > MAX_LISTED
        ? `${MAX_LISTED} of ${matching.length} (search to narrow)`
        : `${matching.length} of ${refs.length}`,
    );
    this.refreshValues();
  }

  #entry(ref: SignalRef): Entry {
    const row = el("label", "sig-row");
    const box = el("input");
    box.type = "checkbox";
    box.checked = this.#host.plotted(ref.key);
    box.title = "Plot";
    box.addEventListener("change", () => this.#host.setPlotted(ref, box.checked));
    const name = el("span", "sig-name mono", ref.key);
    name.title = [ref.key, ref.signal.comment].filter(Boolean).join("\n");
    const value = el("span", "sig-value mono");
    row.dataset.key = ref.key;
    row.append(box, name, value);
    return { ref, row, box, value };
  }

  /** Shows each listed signal's latest value; rebuilds first when the files changed. */
  refreshValues(): void {
    if (this.#host.dbcs.generation !== this.#generation) return this.rebuild();
    const decoded = new Map<DbcMessage, ReturnType<typeof decodeSignals> | null>();
    for (const entry of this.#entries) {
      const { message, signal, key } = entry.ref;
      let signals = decoded.get(message);
      if (signals === undefined) {
        const frame = this.#host.latest(message);
        signals = frame ? decodeSignals(message, frame.data) : null;
        decoded.set(message, signals);
      }
      const s = signals?.[signal.name];
      setText(entry.value, s ? formatValue(s.value, s.unit, s.label) : "");
      const plotted = this.#host.plotted(key);
      if (entry.box.checked !== plotted) entry.box.checked = plotted;
    }
  }
}

/**
 * A signal value as the page shows it: `800 rpm`, `Third (3)`.
 *
 * @param value Physical value.
 * @param unit Unit, possibly empty.
 * @param label Value-table text, if any.
 * @returns The text.
 * @example
 * ```ts
 * import { formatValue } from "./signals_panel.ts";
 * if (formatValue(0.30000000000000004, "V") !== "0.3 V") throw new Error();
 * if (formatValue(3, "", "Third") !== "Third (3)") throw new Error();
 * ```
 */
export function formatValue(value: number, unit: string, label?: string): string {
  const number = Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(10)));
  if (label !== undefined) return `${label} (${number})`;
  return unit ? `${number} ${unit}` : number;
}
