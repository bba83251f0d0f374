// Conversions between Hrana values and what the `libsql` package binds and returns (with safe
// integers on: INTEGER ⇄ bigint, REAL ⇄ number, TEXT ⇄ string, BLOB ⇄ Buffer, NULL ⇄ null).
import { randomBytes } from "node:crypto";
import { HranaError } from "./protocol.ts";
import type { Value } from "./protocol.ts";

export type SqliteValue = null | bigint | number | string | Buffer;

export function toSqliteValue(value: Value, where: string): SqliteValue {
  switch (value.type) {
    case "null":
      return null;
    case "integer":
      return BigInt(value.value);
    case "float":
      return value.value;
    case "text":
      // The libsql binding passes text as a C string, so it would silently cut it at the first NUL.
      if (value.value.includes("\u0000")) {
        throw new HranaError(
          `${where}: text values containing NUL characters are not supported by this server`,
          "ARGS_INVALID",
        );
      }
      return value.value;
    case "blob":
      return Buffer.from(value.base64, "base64");
  }
}

export function fromSqliteValue(value: unknown): Value {
  if (value === null || value === undefined) return { type: "null" };
  if (typeof value === "bigint") return { type: "integer", value: value.toString() };
  if (typeof value === "number") return { type: "float", value };
  if (typeof value === "string") return { type: "text", value };
  if (value instanceof Uint8Array)
    return { type: "blob", base64: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64") };
  throw new Error(`unexpected value of type ${typeof value} from libsql`);
}

// SQLite REAL can hold ±Infinity (e.g. `SELECT 1e999`) but JSON.stringify would turn it into null,
// which the client rejects. JSON.parse reads 1e999 as Infinity, so that is what we write instead.
const infinityMarker = `\u0000hrana-infinity-${randomBytes(8).toString("hex")}`;
const positiveMarker = JSON.stringify(`${infinityMarker}+`);
const negativeMarker = JSON.stringify(`${infinityMarker}-`);

export function encodeJson(body: unknown): string {
  let sawInfinity = false;
  const text = JSON.stringify(body, (_key, value: unknown) => {
    if (typeof value === "number" && !Number.isFinite(value) && !Number.isNaN(value)) {
      sawInfinity = true;
      return `${infinityMarker}${value > 0 ? "+" : "-"}`;
    }
    return value;
  });
  if (!sawInfinity) return text;
  return text.replaceAll(positiveMarker, "1e999").replaceAll(negativeMarker, "-1e999");
}
