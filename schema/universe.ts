import { sql } from "drizzle-orm";
import { check, index, integer, primaryKey, real, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { createdAt, updatedAt } from "./columns.ts";

export const assetTypes = ["equity", "etf", "option_underlying"] as const;
export type AssetType = (typeof assetTypes)[number];

/** Every symbol the daily batch computes: held anywhere, factor ETFs, benchmarks, watch lists. */
export const symbolUniverse = sqliteTable(
  "symbol_universe",
  {
    symbol: text("symbol").primaryKey(),
    assetType: text("asset_type", { enum: assetTypes }).notNull(),
    sector: text("sector"),
    firstSeenDate: text("first_seen_date").notNull(),
    lastSeenDate: text("last_seen_date").notNull(),
    isActive: integer("is_active", { mode: "boolean" }).notNull().default(true),
    /**
     * Who brought the symbol in through a position ("org:<org>" or "user:<sub>", the same key as
     * the live hubs); null for the system's own (seeds, price imports, factor inputs). Counts
     * against that tenant's daily quota of new symbols (worker/quotas.ts).
     */
    addedBy: text("added_by"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    check("symbol_universe_asset_type", sql`${t.assetType} in ('equity', 'etf', 'option_underlying')`),
    index("symbol_universe_active_idx").on(t.isActive, t.symbol),
    index("symbol_universe_added_by_idx").on(t.addedBy, t.firstSeenDate),
  ],
);

/** Latest known company fundamentals per symbol (as_of says when they were observed). */
export const companyProfiles = sqliteTable("company_profiles", {
  symbol: text("symbol").primaryKey(),
  companyName: text("company_name"),
  sector: text("sector"),
  industry: text("industry"),
  marketCap: real("market_cap"),
  enterpriseValue: real("enterprise_value"),
  peRatio: real("pe_ratio"),
  psRatio: real("ps_ratio"),
  pbRatio: real("pb_ratio"),
  asOf: text("as_of").notNull(),
});

/** Daily closes. A missing day is a missing row, never a zero close. */
export const marketPrices = sqliteTable(
  "market_prices",
  {
    symbol: text("symbol").notNull(),
    date: text("date").notNull(),
    close: real("close").notNull(),
    adjClose: real("adj_close"),
    volume: integer("volume"),
    source: text("source").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.symbol, t.date] }),
    index("market_prices_date_idx").on(t.date),
    check("market_prices_close_positive", sql`${t.close} > 0`),
  ],
);
