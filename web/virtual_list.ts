/// <reference lib="dom" />
/**
 * A virtual list: a scrolling viewport over any number of fixed-height
 * rows that keeps only the visible rows in the DOM, reusing their elements.
 * This is what keeps the page's DOM bounded on a saturated bus.
 *
 * @module
 */

/** A rendered row: its element plus whatever the renderer caches on it. */
export interface ListRow {
  /** The row's element, positioned by the list. */
  readonly el: HTMLElement;
}

/** Options of {@linkcode VirtualList}. */
export interface VirtualListOptions<R extends ListRow> {
  /** Height of every row in CSS pixels (the stylesheet must agree). */
  rowHeight: number;
  /** Makes a row element (called only when more rows become visible). */
  createRow(): R;
  /** Fills `row` with item `index`. */
  renderRow(row: R, index: number): void;
  /** Called when the user scrolls, so the owner can schedule a render. */
  onScroll?(): void;
}

/**
 * A scrolling list whose DOM holds only the rows in view.
 *
 * @example
 * ```ts ignore
 * const list = new VirtualList(document.getElementById("view")!, {
 *   rowHeight: 20,
 *   createRow: () => ({ el: document.createElement("div") }),
 *   renderRow: (row, i) => row.el.textContent = `row ${i}`,
 * });
 * list.setCount(1_000_000);
 * list.render();
 * ```
 */
export class VirtualList<R extends ListRow> {
  /** Keep the newest row in view as rows are added (turns off when the user scrolls up). */
  follow = true;
  #viewport: HTMLElement;
  #sizer: HTMLElement;
  #options: VirtualListOptions<R>;
  #pool: R[] = [];
  #count = 0;
  #setTop = -1;

  /**
   * @param viewport The scrolling element (CSS: `overflow-y: auto`).
   * @param options Row height and the row renderer.
   */
  constructor(viewport: HTMLElement, options: VirtualListOptions<R>) {
    this.#viewport = viewport;
    this.#options = options;
    this.#sizer = document.createElement("div");
    this.#sizer.className = "vl-sizer";
    viewport.append(this.#sizer);
    viewport.dataset.empty = "true"; // styled with a placeholder
    viewport.addEventListener("scroll", () => {
      // Our own scrolling (following) must not turn following off.
      if (Math.abs(viewport.scrollTop - this.#setTop) > 1) {
        const bottom = viewport.scrollHeight - viewport.clientHeight;
        this.follow = viewport.scrollTop >= bottom - options.rowHeight;
      }
      this.#setTop = -1;
      options.onScroll?.();
    }, { passive: true });
  }

  /** Items in the list. */
  get count(): number {
    return this.#count;
  }

  /** Row elements in the DOM now. */
  get domRows(): number {
    return this.#pool.length;
  }

  /**
   * Sets the number of items; when following, scrolls to the last one.
   * @param count Items.
   */
  setCount(count: number): void {
    if (count !== this.#count) {
      if ((count === 0) !== (this.#count === 0)) this.#viewport.dataset.empty = String(count === 0);
      this.#count = count;
      this.#sizer.style.height = `${count * this.#options.rowHeight}px`;
    }
    if (this.follow) this.scrollToEnd();
  }

  /** Scrolls to the last row. */
  scrollToEnd(): void {
    const viewport = this.#viewport;
    const bottom = Math.max(0, viewport.scrollHeight - viewport.clientHeight);
    if (viewport.scrollTop < bottom - 1) {
      viewport.scrollTop = bottom;
      this.#setTop = viewport.scrollTop;
    }
  }

  /** Renders the rows in view, creating or hiding row elements as needed. */
  render(): void {
    const { rowHeight, createRow, renderRow } = this.#options;
    const viewport = this.#viewport;
    const first = Math.floor(viewport.scrollTop / rowHeight);
    const visible = Math.ceil(viewport.clientHeight / rowHeight) + 1;
    while (this.#pool.length < visible) {
      const row = createRow();
      row.el.style.position = "absolute";
      this.#pool.push(row);
      this.#sizer.append(row.el);
    }
    for (let j = 0; j < this.#pool.length; j++) {
      const row = this.#pool[j];
      const index = first + j;
      if (j >= visible || index >= this.#count) {
        if (!row.el.hidden) row.el.hidden = true;
        continue;
      }
      if (row.el.hidden) row.el.hidden = false;
      const top = `${index * rowHeight}px`;
      if (row.el.style.top !== top) row.el.style.top = top;
      renderRow(row, index);
    }
  }
}
