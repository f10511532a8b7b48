/**
 * The per-ID view's model: one row per identifier (and kind), updated in
 * place with the count, the period, the latest data and which bytes changed.
 *
 * @module
 */

import type { CanFrame } from "../core/frame.ts";
import { formatData, formatId, frameFlags } from "./format.ts";

/** One identifier's row. */
export interface IdRow {
  /** Row key: kind, id format and id. */
  readonly key: string;
  /** The latest frame. */
  frame: CanFrame;
  /** Frames seen. */
  count: number;
  /** Seconds between the last two frames; `NaN` after the first. */
  period: number;
  /** Timestamp of the first frame. */
  firstSeen: number;
  /**
   * When each data byte last changed, in the clock given to {@linkcode IdTable.update}
   * (`-Infinity` when it never did).
   */
  changedAt: number[];
  /** Bumped on every update; lets a view skip rows that did not change. */
  version: number;
}

/** Columns the per-ID view sorts by. */
export type SortKey = "id" | "count" | "period" | "dlc" | "last";

/**
 * The key of a frame's row: error frames, remote frames and data frames of
 * the same id get rows of their own, as do standard and extended ids.
 *
 * @param frame The frame.
 * @returns e.g. `"ds123"` (data, standard, 0x123 in decimal digits).
 * @example
 * ```ts
 * import { rowKey } from "./id_table.ts";
 * import { createFrame } from "../core/frame.ts";
 * if (rowKey(createFrame({ arbitrationId: 16 })) !== "dx16") throw new Error();
 * ```
 */
export function rowKey(frame: CanFrame): string {
  const kind = frame.isErrorFrame ? "e" : frame.isRemoteFrame ? "r" : "d";
  return kind + (frame.isExtendedId ? "x" : "s") + frame.arbitrationId;
}

/**
 * Rows by identifier, at most `limit` of them; frames of further
 * identifiers are counted in `overflow` only.
 *
 * @example
 * ```ts
 * import { IdTable } from "./id_table.ts";
 * import { createFrame } from "../core/frame.ts";
 * const table = new IdTable();
 * table.update(createFrame({ timestamp: 1, arbitrationId: 1, data: [1, 2] }), 0);
 * const row = table.update(createFrame({ timestamp: 1.01, arbitrationId: 1, data: [1, 3] }), 5)!;
 * if (row.count !== 2 || Math.abs(row.period - 0.01) > 1e-9) throw new Error();
 * if (row.changedAt[0] !== -Infinity || row.changedAt[1] !== 5) throw new Error();
 * ```
 */
export class IdTable {
  /** Most rows kept. */
  readonly limit: number;
  /** Frames not tabulated because `limit` rows existed already. */
  overflow = 0;
  #rows = new Map<string, IdRow>();
  #generation = 0;

  /**
   * @param limit Most rows.
   * @default {4096}
   */
  constructor(limit = 4096) {
    this.limit = limit;
  }

  /** Rows now. */
  get size(): number {
    return this.#rows.size;
  }

  /** Changes whenever a row is added or the table cleared, so a view knows to sort again. */
  get generation(): number {
    return this.#generation;
  }

  /**
   * Counts a frame into its row.
   * @param frame The frame.
   * @param now The clock for {@linkcode IdRow.changedAt} (the page uses `performance.now()`).
   * @returns The row, or `undefined` when the table is full and the frame's row is new.
   */
  update(frame: CanFrame, now: number): IdRow | undefined {
    const key = rowKey(frame);
    const row = this.#rows.get(key);
    if (!row) {
      if (this.#rows.size >= this.limit) {
        this.overflow++;
        return undefined;
      }
      const created: IdRow = {
        key,
        frame,
        count: 1,
        period: NaN,
        firstSeen: frame.timestamp,
        changedAt: Array.from(frame.data, () => -Infinity),
        version: 0,
      };
      this.#rows.set(key, created);
      this.#generation++;
      return created;
    }
    const before = row.frame.data;
    const after = frame.data;
    const changed = row.changedAt;
    for (let i = 0; i < after.length; i++) {
      if (i >= before.length) changed[i] = now;
      else if (before[i] !== after[i]) changed[i] = now;
    }
    changed.length = after.length;
    row.period = frame.timestamp - row.frame.timestamp;
    row.frame = frame;
    row.count++;
    row.version++;
    return row;
  }

  /**
   * Every row, in insertion order.
   * @returns The rows.
   */
  rows(): IdRow[] {
    return [...this.#rows.values()];
  }

  /** Forgets every row. */
  clear(): void {
    this.#rows.clear();
    this.overflow = 0;
    this.#generation++;
  }
}

/**
 * Sorts rows in place by a column; ties fall back to the id.
 *
 * @param rows Rows to sort.
 * @param key Column.
 * @param descending Largest first.
 * @default {false} for `descending`
 * @returns The same array.
 * @example
 * ```ts
 * import { IdTable, sortRows } from "./id_table.ts";
 * import { createFrame } from "../core/frame.ts";
 * const table = new IdTable();
 * for (const id of [3, 1, 2]) table.update(createFrame({ arbitrationId: id }), 0);
 * const ids = sortRows(table.rows(), "id").map((r) => r.frame.arbitrationId);
 * if (ids.join() !== "1,2,3") throw new Error();
 * ```
 */
export function sortRows(rows: IdRow[], key: SortKey, descending = false): IdRow[] {
  const byId = (a: IdRow, b: IdRow) =>
    Number(a.frame.isExtendedId) - Number(b.frame.isExtendedId) ||
    a.frame.arbitrationId - b.frame.arbitrationId || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
  const value = (r: IdRow): number => {
    switch (key) {
      case "count":
        return r.count;
      case "period":
        return Number.isNaN(r.period) ? Infinity : r.period;
      case "dlc":
        return r.frame.dlc;
      case "last":
        return r.frame.timestamp;
      default:
        return 0;
    }
  };
  const sign = descending ? -1 : 1;
  return rows.sort((a, b) => sign * (value(a) - value(b) || byId(a, b)));
}

/**
 * Writes rows as CSV (RFC 4180, CRLF line ends) with a header line:
 * `id,extended,flags,dlc,data,count,period_ms,first_seen,last_seen`.
 *
 * @param rows The rows, in the order to write them.
 * @returns The CSV text.
 * @example
 * ```ts
 * import { IdTable, rowsToCsv } from "./id_table.ts";
 * import { createFrame } from "../core/frame.ts";
 * const table = new IdTable();
 * table.update(createFrame({ timestamp: 2, arbitrationId: 0x123, isExtendedId: false, data: [0xab] }), 0);
 * const lines = rowsToCsv(table.rows()).split("\r\n");
 * if (lines[1] !== "123,0,,1,AB,1,,2.000000,2.000000") throw new Error(lines[1]);
 * ```
 */
export function rowsToCsv(rows: readonly IdRow[]): string {
  const lines = ["id,extended,flags,dlc,data,count,period_ms,first_seen,last_seen"];
  for (const r of rows) {
    const f = r.frame;
    const flags = frameFlags(f).filter((flag) => flag !== "EXT").join(" ");
    lines.push([
      formatId(f),
      f.isExtendedId ? 1 : 0,
      flags,
      f.dlc,
      formatData(f),
      r.count,
      Number.isNaN(r.period) ? "" : (r.period * 1000).toFixed(3),
      r.firstSeen.toFixed(6),
      f.timestamp.toFixed(6),
    ].join(","));
  }
  return lines.join("\r\n") + "\r\n";
}
