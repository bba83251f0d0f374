/** One structured JSON log line per event; Workers Logs indexes the fields. */
export type LogLevel = "info" | "warn" | "error";

export function logEvent(level: LogLevel, event: string, fields: Record<string, unknown> = {}): void {
  const line = JSON.stringify({ level, event, at: new Date().toISOString(), ...fields });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}

/**
 * A one-line description for logs and telemetry: the error and its causes, first line of
 * each (drizzle's "Failed query" puts bound values on later lines; the reason is the cause).
 */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  for (let current: unknown = error, depth = 0; current !== undefined && depth < 5; depth++) {
    if (!(current instanceof Error)) {
      parts.push(String(current));
      break;
    }
    parts.push(`${current.name}: ${current.message.split("\n", 1)[0]}`);
    current = current.cause;
  }
  return parts.join(" <- ");
}
