import { sql } from "drizzle-orm";
import { text } from "drizzle-orm/sqlite-core";

// Dates are ISO calendar dates ('YYYY-MM-DD') stored as TEXT so they sort and compare
// as strings; timestamps are ISO-8601 UTC with milliseconds.
export const isoNow = sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`;

export const createdAt = () => text("created_at").notNull().default(isoNow);
export const updatedAt = () => text("updated_at").notNull().default(isoNow);
