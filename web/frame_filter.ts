/**
 * The page's display filter: identifiers (single, range, id/mask), frame
 * kinds and a text search, compiled into one predicate. Filtering happens in
 * the page only; the bus statistics always count every frame.
 *
 * @module
 */

import { type CanFilter, matchesFilters } from "../core/bus.ts";
import { CAN_EFF_MASK, type CanFrame } from "../core/frame.ts";
import { formatData, formatId, frameFlags } from "./format.ts";

/** A frame's kind for the kind filter. */
export type FrameKind = "data" | "fd" | "rtr" | "err";

/** Every {@linkcode FrameKind}. */
export const FRAME_KINDS: readonly FrameKind[] = Object.freeze(["data", "fd", "rtr", "err"]);

/** What the filter bar holds. */
export interface FilterSpec {
  /** Id terms, see {@linkcode parseIdFilter}; empty passes every id. */
  ids?: string;
  /** Kinds shown; left out means all. */
  kinds?: Iterable<FrameKind>;
  /** Show standard (11-bit) identifiers. @default {true} */
  standard?: boolean;
  /** Show extended (29-bit) identifiers. @default {true} */
  extended?: boolean;
  /** Case-insensitive text that must occur in the frame's text (see {@linkcode searchText}). */
  search?: string;
}

/** A compiled filter; `null` stands for "everything passes". */
export type FramePredicate = (frame: CanFrame) => boolean;

/**
 * Tells the kind of a frame: error, remote, CAN FD or classic data.
 *
 * @param frame The frame.
 * @returns Its kind.
 * @example
 * ```ts
 * import { frameKind } from "./frame_filter.ts";
 * import { createFrame } from "../core/frame.ts";
 * if (frameKind(createFrame({ isRemoteFrame: true })) !== "rtr") throw new Error();
 * ```
 */
export function frameKind(frame: CanFrame): FrameKind {
  if (frame.isErrorFrame) return "err";
  if (frame.isRemoteFrame) return "rtr";
  return frame.isFd ? "fd" : "data";
}

function parseHex(term: string, text: string): number {
  const digits = text.replace(/^0x/i, "");
  if (!/^[0-9a-f]{1,8}$/i.test(digits)) {
    throw new SyntaxError(
      `Invalid id filter ${JSON.stringify(term)}: ${JSON.stringify(text)} is not a hex id`,
    );
  }
  const value = parseInt(digits, 16);
  if (value > CAN_EFF_MASK) {
    throw new RangeError(
      `Invalid id filter ${JSON.stringify(term)}: 0x${digits} is above 1FFFFFFF`,
    );
  }
  return value;
}

/**
 * Parses id filter terms: hex ids separated by commas or spaces, each a
 * single id (`123`), a range (`100-1FF`) or an id and a mask (`7E0/7F8`,
 * python-can's rule `(id ^ can_id) & can_mask == 0`). A term starting with `!`
 * hides what it matches. A frame passes when it matches some plain term (or
 * there is none) and no `!` term.
 *
 * @param text The terms, e.g. `"100-1FF, 7E0/7F8, !123"`.
 * @returns The predicate, or `null` when `text` has no terms.
 * @throws {SyntaxError} When a term is not hex, a range or id/mask; the message quotes it.
 * @throws {RangeError} When a value is above 0x1FFFFFFF or a range runs backwards.
 * @example
 * ```ts
 * import { parseIdFilter } from "./frame_filter.ts";
 * import { createFrame } from "../core/frame.ts";
 * const pass = parseIdFilter("100-1FF, 7E0/7F8, !123")!;
 * const id = (arbitrationId: number) => createFrame({ arbitrationId, isExtendedId: false });
 * if (!pass(id(0x150)) || !pass(id(0x7e3)) || pass(id(0x123)) || pass(id(0x200))) throw new Error();
 * ```
 */
export function parseIdFilter(text: string): FramePredicate | null {
  const include: FramePredicate[] = [];
  const exclude: FramePredicate[] = [];
  for (const raw of text.split(/[\s,;]+/)) {
    if (raw === "") continue;
    const negate = raw.startsWith("!");
    const term = negate ? raw.slice(1) : raw;
    let test: FramePredicate;
    const range = /^([^-/]+)-([^-/]+)$/.exec(term);
    const masked = /^([^-/]+)\/([^-/]+)$/.exec(term);
    if (range) {
      const lo = parseHex(raw, range[1]);
      const hi = parseHex(raw, range[2]);
      if (hi < lo) {
        throw new RangeError(`Invalid id filter ${JSON.stringify(raw)}: the range runs backwards`);
      }
      test = (f) => f.arbitrationId >= lo && f.arbitrationId <= hi;
    } else if (masked) {
      const filter: CanFilter[] = [{
        canId: parseHex(raw, masked[1]),
        canMask: parseHex(raw, masked[2]),
      }];
      test = (f) => matchesFilters(f, filter);
    } else {
      const id = parseHex(raw, term);
      test = (f) => f.arbitrationId === id;
    }
    (negate ? exclude : include).push(test);
  }
  if (include.length === 0 && exclude.length === 0) return null;
  return (frame) =>
    (include.length === 0 || include.some((t) => t(frame))) && !exclude.some((t) => t(frame));
}

/**
 * The text the search box looks in: `ID#DATA`, the spaced data bytes and the flags,
 * e.g. `"123#DEADBEEF DE AD BE EF"`.
 *
 * @param frame The frame.
 * @returns Upper-case text.
 * @example
 * ```ts
 * import { searchText } from "./frame_filter.ts";
 * import { createFrame } from "../core/frame.ts";
 * const text = searchText(createFrame({ arbitrationId: 0x123, isExtendedId: false, data: [0xde, 0xad] }));
 * if (text !== "123#DEAD DE AD") throw new Error(text);
 * ```
 */
export function searchText(frame: CanFrame): string {
  const data = formatData(frame);
  const flags = frameFlags(frame);
  return `${formatId(frame)}#${frame.isRemoteFrame ? "R" : data.replaceAll(" ", "")} ${data}${
    flags.length ? " " + flags.join(" ") : ""
  }`;
}

/**
 * Compiles the filter bar into one predicate.
 *
 * @param spec Ids, kinds, id formats and search text.
 * @returns The predicate, or `null` when nothing is filtered.
 * @throws {SyntaxError} / {RangeError} From {@linkcode parseIdFilter}.
 * @example
 * ```ts
 * import { compileFilter } from "./frame_filter.ts";
 * import { createFrame } from "../core/frame.ts";
 * const pass = compileFilter({ kinds: ["data"], search: "beef" })!;
 * if (!pass(createFrame({ data: [0xbe, 0xef] }))) throw new Error();
 * if (pass(createFrame({ isFd: true, data: [0xbe, 0xef] }))) throw new Error("not a classic frame");
 * if (compileFilter({}) !== null) throw new Error();
 * ```
 */
export function compileFilter(spec: FilterSpec): FramePredicate | null {
  const tests: FramePredicate[] = [];
  const ids = parseIdFilter(spec.ids ?? "");
  if (ids) tests.push(ids);
  if (spec.kinds) {
    const kinds = new Set(spec.kinds);
    if (FRAME_KINDS.some((k) => !kinds.has(k))) tests.push((f) => kinds.has(frameKind(f)));
  }
  const standard = spec.standard ?? true;
  const extended = spec.extended ?? true;
  if (!standard || !extended) {
    // Error frames carry an error class, not an id: the format does not apply.
    tests.push((f) => f.isErrorFrame || (f.isExtendedId ? extended : standard));
  }
  const needle = (spec.search ?? "").trim().toUpperCase();
  if (needle) tests.push((f) => searchText(f).includes(needle));
  if (tests.length === 0) return null;
  if (tests.length === 1) return tests[0];
  return (frame) => tests.every((t) => t(frame));
}
