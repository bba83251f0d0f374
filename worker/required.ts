/**
 * The value, or an Error that names what was missing. For lookups the code's own logic
 * guarantees (a key inserted just before, the first element of an array checked non-empty):
 * if that guarantee ever breaks, the failure says where instead of surfacing later as an
 * `undefined` deep inside a computation.
 */
export function required<T>(value: T | null | undefined, what: string): T {
  if (value === null || value === undefined) throw new Error(`internal error: missing ${what}`);
  return value;
}
