/** One structured JSON log line per event; Workers Logs indexes the fields. */
export type LogLevel = "info" | "warn" | "error";

/**
 * Longest string kept whole in a log field; a longer one keeps its start and its end (where an
 * error chain's root cause is) with a marker saying how much was cut from the middle.
 */
export const maxLogStringChars = 500;
const keptTailChars = 150;
/** Longest message of one error in `describeError`'s chain. */
const maxErrorPartChars = 240;
/** Most array items kept in a log field. */
export const maxLogArrayItems = 20;
/** Deepest nesting kept in a log field. */
const maxLogDepth = 6;

function boundString(text: string, max = maxLogStringChars): string {
  if (text.length <= max) return text;
  const tail = max >= 2 * keptTailChars ? keptTailChars : 0;
  const head = max - tail;
  return `${text.slice(0, head)}… [${text.length - max} chars cut] …${tail > 0 ? text.slice(-tail) : ""}`;
}

/**
 * A log field bounded in size: strings past `maxLogStringChars` (SQL with hundreds of
 * placeholders, a bound-values dump) and arrays past `maxLogArrayItems` are cut, with a marker
 * saying how much; nesting past a few levels becomes a marker too. Numbers, booleans and null pass.
 */
export function boundLogValue(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return boundString(value);
  if (value === null || typeof value !== "object") return value;
  if (value instanceof Error) return boundString(`${value.name}: ${value.message}`);
  if (depth >= maxLogDepth) return "[nested too deep, cut]";
  if (Array.isArray(value)) {
    const kept = value.slice(0, maxLogArrayItems).map((item) => boundLogValue(item, depth + 1));
    if (value.length > maxLogArrayItems) kept.push(`… [${value.length - maxLogArrayItems} more items cut]`);
    return kept;
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === "function")
    return boundLogValue((value as { toJSON: () => unknown }).toJSON(), depth);
  const bounded: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) bounded[key] = boundLogValue(item, depth + 1);
  return bounded;
}

/** The JSON line `logEvent` writes: every field bounded (`boundLogValue`). */
export function formatLogLine(
  level: LogLevel,
  event: string,
  fields: Record<string, unknown> = {},
  at = new Date(),
): string {
  return JSON.stringify({ level, event, at: at.toISOString(), ...(boundLogValue(fields) as Record<string, unknown>) });
}

export function logEvent(level: LogLevel, event: string, fields: Record<string, unknown> = {}): void {
  const line = formatLogLine(level, event, fields);
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}

/**
 * A one-line description for logs and telemetry: the error and its causes, first line of
 * each (drizzle's "Failed query" puts bound values on later lines; the reason is the cause),
 * each cut to a few hundred characters (a statement with hundreds of placeholders).
 */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  for (let current: unknown = error, depth = 0; current !== undefined && depth < 5; depth++) {
    if (!(current instanceof Error)) {
      parts.push(boundString(String(current), maxErrorPartChars));
      break;
    }
    parts.push(boundString(`${current.name}: ${current.message.split("\n", 1)[0]}`, maxErrorPartChars));
    current = current.cause;
  }
  return parts.join(" <- ");
}
