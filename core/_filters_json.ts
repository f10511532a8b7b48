// Private: filters in python-can's wire shape, for the `set_filters` event
// (codec_json.ts) and the `can_filters` of a `bus_request` config (the
// client). The reverse, reading them, is `filtersFromJson` in codec_json.ts.
import type { CanFilter } from "./bus.ts";

/**
 * Converts filters to python-can's `{can_id, can_mask, extended}` objects;
 * `extended` is left out where the filter leaves it out.
 *
 * @param filters Filters already checked with `checkFilters` (bus.ts).
 * @returns Plain objects ready for `JSON.stringify`.
 * @example
 * ```ts
 * import { filtersToJson } from "./_filters_json.ts";
 * const wire = filtersToJson([{ canId: 0x100, canMask: 0x700 }, { canId: 1, canMask: 1, extended: true }]);
 * if (JSON.stringify(wire) !== '[{"can_id":256,"can_mask":1792},{"can_id":1,"can_mask":1,"extended":true}]') {
 *   throw new Error(JSON.stringify(wire));
 * }
 * ```
 */
export function filtersToJson(filters: readonly CanFilter[]): Record<string, unknown>[] {
  return filters.map((f) =>
    f.extended === undefined
      ? { can_id: f.canId, can_mask: f.canMask }
      : { can_id: f.canId, can_mask: f.canMask, extended: f.extended }
  );
}
