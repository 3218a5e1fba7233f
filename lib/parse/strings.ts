/**
 * Hazard: the CSV fast path's cells are slices of a whole input chunk (or of
 * the whole text), and V8 keeps the parent string alive as long as a slice
 * lives. Strings that outlive the row — identity tags and device ids,
 * headers, stored rejections, warnings — are detached first.
 */

/** The same string value without a reference to a larger parent string. */
export function detach(s: string): string {
  // Short slices are copies already; a concatenation is flattened into a new string, whose slice is returned.
  return s.length < 13 ? s : (' ' + s).slice(1);
}
