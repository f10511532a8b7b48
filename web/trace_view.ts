/// <reference lib="dom" />
/**
 * The chronological trace: every recorded frame that passes the filter, one
 * row each, in a virtual list that follows the newest frame.
 *
 * @module
 */

import { rowWithCells, setFlags, setFrameKind, setText } from "./_dom.ts";
import { formatData, formatId, formatTime, frameFlags, type TimeMode } from "./format.ts";
import type { TraceStore } from "./trace_store.ts";
import { type ListRow, VirtualList } from "./virtual_list.ts";
import { describeErrorFrame } from "../core/error_frame.ts";

interface TraceRow extends ListRow {
  seq: HTMLElement;
  time: HTMLElement;
  id: HTMLElement;
  flags: HTMLElement;
  dlc: HTMLElement;
  data: HTMLElement;
}

/** Row height in CSS pixels; style.css's `--row` must match. */
export const ROW_HEIGHT = 20;

/**
 * Renders a {@linkcode TraceStore} into a scrolling viewport.
 *
 * @example
 * ```ts ignore
 * const view = new TraceView(document.getElementById("trace-view")!, store, () => requestAnimationFrame(render));
 * view.render();
 * ```
 */
export class TraceView {
  /** How the time column reads. */
  timeMode: TimeMode = "absolute";
  /** Timestamp that `"relative"` time counts from. */
  start = 0;
  readonly list: VirtualList<TraceRow>;
  #store: TraceStore;

  /**
   * @param viewport The scrolling element.
   * @param store The recording to show.
   * @param onScroll Called when the user scrolls (schedule a render).
   */
  constructor(viewport: HTMLElement, store: TraceStore, onScroll: () => void) {
    this.#store = store;
    this.list = new VirtualList<TraceRow>(viewport, {
      rowHeight: ROW_HEIGHT,
      onScroll,
      createRow: () => {
        const { row, cell } = rowWithCells("row trace-grid");
        return {
          el: row,
          seq: cell("c-seq"),
          time: cell("c-time"),
          id: cell("c-id"),
          flags: cell("c-flags"),
          dlc: cell("c-dlc"),
          data: cell("c-data"),
        };
      },
      renderRow: (row, i) => this.#renderRow(row, i),
    });
  }

  #renderRow(row: TraceRow, i: number): void {
    const store = this.#store;
    const frame = store.shownAt(i);
    setText(row.seq, String(store.shownSeq(i) + 1));
    let time: string;
    if (this.timeMode === "absolute") time = formatTime(frame.timestamp, "absolute");
    else if (this.timeMode === "relative") {
      time = formatTime(frame.timestamp, "relative", this.start);
    } else {time = formatTime(
        frame.timestamp,
        "delta",
        i > 0 ? store.shownAt(i - 1).timestamp : frame.timestamp,
      );}
    setText(row.time, time);
    setText(row.id, formatId(frame));
    setFlags(row.flags, frameFlags(frame));
    setText(row.dlc, String(frame.dlc));
    // Error frames in candump -e's words after their bytes.
    const data = frame.isErrorFrame
      ? `${formatData(frame)}  ${describeErrorFrame(frame).join(", ")}`
      : formatData(frame);
    setText(row.data, data);
    const title = data.length > 24 ? data : "";
    if (row.data.title !== title) row.data.title = title;
    setFrameKind(row.el, "row trace-grid", frame);
  }

  /** Brings the list up to date with the store and renders the rows in view. */
  render(): void {
    this.list.setCount(this.#store.shown);
    this.list.render();
  }
}
