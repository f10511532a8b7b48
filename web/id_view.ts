/// <reference lib="dom" />
/**
 * The per-ID view: one row per identifier, updated in place, with the bytes
 * that changed recently highlighted. Sorting and filtering are re-evaluated
 * a few times a second, not on every frame.
 *
 * @module
 */

import { el, rowWithCells, setFlags, setFrameKind, setText } from "./_dom.ts";
import { formatId, formatTime, frameFlags, hexByte, type TimeMode } from "./format.ts";
import type { FramePredicate } from "./frame_filter.ts";
import type { CanFrame } from "../core/frame.ts";
import { type IdRow, type IdTable, type SortKey, sortRows } from "./id_table.ts";
import { ROW_HEIGHT } from "./trace_view.ts";
import { type ListRow, VirtualList } from "./virtual_list.ts";

interface IdListRow extends ListRow {
  id: HTMLElement;
  name: HTMLElement;
  flags: HTMLElement;
  dlc: HTMLElement;
  data: HTMLElement;
  bytes: HTMLElement[];
  period: HTMLElement;
  count: HTMLElement;
  last: HTMLElement;
}

/** What the view shows of a frame's DBC message. */
export interface IdViewDecoder {
  /** The message name, or `undefined` for an id no DBC file knows. */
  messageName(frame: CanFrame): string | undefined;
  /** The frame's signals as `[name, value text]`, or `undefined`. */
  signals(frame: CanFrame): [string, string][] | undefined;
}

// A list item: an id's row, or one signal line of an expanded row.
interface Item {
  row: IdRow;
  signal?: [string, string];
}

/** How long a changed byte stays highlighted, in milliseconds. */
export const HIGHLIGHT_MS = 1000;
/** Shortest time between two re-sorts of the rows, in milliseconds. */
const RESORT_MS = 250;

/**
 * Renders an {@linkcode IdTable} into a scrolling viewport.
 *
 * @example
 * ```ts ignore
 * const view = new IdView(document.getElementById("ids-view")!, table, render);
 * view.render(performance.now());
 * ```
 */
export class IdView {
  /** How the "Last" column reads (`"delta"` shows it relative, like `"relative"`). */
  timeMode: TimeMode = "absolute";
  /** Timestamp that relative time counts from. */
  start = 0;
  /** Sort column. */
  sortKey: SortKey = "id";
  /** Largest first. */
  descending = false;
  readonly list: VirtualList<IdListRow>;
  /** Keys of the rows shown expanded into their signals. */
  readonly expanded: Set<string> = new Set();
  /** Names messages and decodes signals; none until a DBC file is loaded. */
  decoder: IdViewDecoder | undefined;
  #table: IdTable;
  #items: Item[] = [];
  #filter: FramePredicate | null = null;
  #rows: IdRow[] = [];
  #sortedAt = -Infinity;
  #generation = -1;
  #now = 0;
  #invalid = true;

  /**
   * @param viewport The scrolling element.
   * @param table The rows to show.
   * @param onScroll Called when the user scrolls (schedule a render).
   */
  constructor(viewport: HTMLElement, table: IdTable, onScroll: () => void) {
    this.#table = table;
    this.list = new VirtualList<IdListRow>(viewport, {
      rowHeight: ROW_HEIGHT,
      onScroll,
      createRow: () => {
        const { row, cell } = rowWithCells("row ids-grid");
        return {
          el: row,
          id: cell("c-id"),
          name: cell("c-name"),
          flags: cell("c-flags"),
          dlc: cell("c-dlc"),
          data: cell("c-data"),
          bytes: [],
          period: cell("c-num c-period"),
          count: cell("c-num c-count"),
          last: cell("c-time"),
        };
      },
      renderRow: (row, i) => {
        const item = this.#items[i];
        if (item.signal) this.#renderSignal(row, item.row, item.signal);
        else this.#renderRow(row, item.row);
      },
    });
    this.list.follow = false;
    viewport.addEventListener("click", (event) => {
      const key = (event.target as HTMLElement).closest<HTMLElement>(".row")?.dataset.key;
      if (key === undefined) return;
      const row = this.#rows.find((r) => r.key === key);
      if (!row || !this.decoder?.messageName(row.frame)) return;
      if (!this.expanded.delete(key)) this.expanded.add(key);
      onScroll();
    });
  }

  /** The rows shown, in display order. */
  get rows(): readonly IdRow[] {
    return this.#rows;
  }

  /**
   * Filters rows by their latest frame.
   * @param filter The predicate, or `null` for every row.
   */
  setFilter(filter: FramePredicate | null): void {
    this.#filter = filter;
    this.invalidate();
  }

  /** Sorts and filters again at the next render. */
  invalidate(): void {
    this.#invalid = true;
  }

  #renderRow(row: IdListRow, r: IdRow): void {
    const f = r.frame;
    row.el.dataset.key = r.key;
    setText(row.id, formatId(f));
    const name = this.decoder?.messageName(f);
    setText(row.name, name ? `${this.expanded.has(r.key) ? "\u25be" : "\u25b8"} ${name}` : "");
    row.name.title = name ? "Show or hide the signals" : "";
    setFlags(row.flags, frameFlags(f));
    setText(row.dlc, String(f.dlc));
    this.#renderBytes(row, r);
    setText(row.period, Number.isNaN(r.period) ? "" : (r.period * 1000).toFixed(1));
    setText(row.count, String(r.count));
    const mode = this.timeMode === "absolute" ? "absolute" : "relative";
    setText(row.last, formatTime(f.timestamp, mode, this.start));
    setFrameKind(row.el, "row ids-grid", f);
  }

  #renderSignal(row: IdListRow, r: IdRow, [name, value]: [string, string]): void {
    row.el.dataset.key = r.key;
    setText(row.id, "");
    setText(row.name, name);
    row.name.title = name;
    setFlags(row.flags, []);
    setText(row.dlc, "");
    if (row.data.dataset.mode !== "signal") {
      row.data.dataset.mode = "signal";
      row.data.replaceChildren();
      row.bytes.length = 0;
    }
    setText(row.data, value);
    setText(row.period, "");
    setText(row.count, "");
    setText(row.last, "");
    if (row.el.className !== "row ids-grid sig") row.el.className = "row ids-grid sig";
  }

  #renderBytes(row: IdListRow, r: IdRow): void {
    const data = r.frame.data;
    const bytes = row.bytes;
    if (r.frame.isRemoteFrame) {
      if (row.data.dataset.mode !== "rtr") {
        row.data.dataset.mode = "rtr";
        row.data.replaceChildren(el("span", "rtr", "remote request"));
        bytes.length = 0;
      }
      return;
    }
    if (row.data.dataset.mode !== "bytes") {
      row.data.dataset.mode = "bytes";
      row.data.replaceChildren();
      bytes.length = 0;
    }
    while (bytes.length < data.length) {
      const span = el("span", "b");
      bytes.push(span);
      row.data.append(span);
    }
    for (let i = 0; i < bytes.length; i++) {
      const span = bytes[i];
      if (i >= data.length) {
        if (!span.hidden) span.hidden = true;
        continue;
      }
      if (span.hidden) span.hidden = false;
      setText(span, hexByte(data[i]));
      const cls = this.#now - r.changedAt[i] < HIGHLIGHT_MS ? "b chg" : "b";
      if (span.className !== cls) span.className = cls;
    }
  }

  /**
   * Re-sorts and re-filters when due, then renders the rows in view.
   * @param now `performance.now()`, the clock of the rows' `changedAt`.
   */
  render(now: number): void {
    this.#now = now;
    const generation = this.#table.generation;
    // New rows appear at once; a sort by a changing column or a filter on
    // the data waits a little, so rows do not jump on every frame.
    const due = this.#invalid || generation !== this.#generation ||
      (now - this.#sortedAt >= RESORT_MS && (this.sortKey !== "id" || this.#filter !== null));
    if (due) {
      const filter = this.#filter;
      const rows = this.#table.rows();
      this.#rows = sortRows(
        filter ? rows.filter((r) => filter(r.frame)) : rows,
        this.sortKey,
        this.descending,
      );
      this.#generation = generation;
      this.#sortedAt = now;
      this.#invalid = false;
    }
    this.#items = [];
    for (const row of this.#rows) {
      this.#items.push({ row });
      if (this.expanded.size === 0 || !this.expanded.has(row.key)) continue;
      for (const signal of this.decoder?.signals(row.frame) ?? []) {
        this.#items.push({ row, signal });
      }
    }
    this.list.setCount(this.#items.length);
    this.list.render();
  }
}
