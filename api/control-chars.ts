/**
 * No stored device id or alert attribute holds a C0 control character or DEL
 * (InfluxDB refuses one in a query; a NUL stalls Temporal's visibility query):
 * a lookup by such a value has the answer "nothing", given without asking.
 */
export function hasControlChar(s: string | undefined): boolean {
  if (s === undefined) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/**
 * The same rule as a JSON Schema pattern, for documents that refuse such a value (POST /v1/telemetry):
 * a plain class Python's `re` (schemathesis) can generate from, unlike `\P{Cc}`.
 */
export const NO_CONTROL_CHARS_PATTERN = '^[^\\x00-\\x1F\\x7F]*$';

/** Message of the refusal, naming what is refused and why (the path names the field). */
export const CONTROL_CHAR_MESSAGE = 'must not contain control characters (U+0000–U+001F, U+007F): InfluxDB line protocol cannot carry them';
