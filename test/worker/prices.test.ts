import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { marketPrices } from "../../schema/index.ts";
import { getDatabase } from "../../worker/db/client.ts";
import { loadCloseRows, loadClosesBySymbol } from "../../worker/db/prices.ts";

const db = getDatabase(env);

describe("loadClosesBySymbol", () => {
  it(
    "returns exactly the stored doubles, null adjusted closes as null, " + "each symbol ascending, only the range",
    async () => {
      const rows = [
        { symbol: "LCB", date: "2020-03-04", close: 1 / 3, adjClose: null, volume: 1, source: "test" },
        { symbol: "LCA", date: "2020-03-03", close: 0.1 + 0.2, adjClose: 1e-7, volume: 1, source: "test" },
        { symbol: "LCA", date: "2020-03-02", close: 123456.78901234567, adjClose: 100, volume: 1, source: "test" },
        { symbol: "LCA", date: "2020-03-05", close: 5, adjClose: 5, volume: 1, source: "test" },
        { symbol: "LCA", date: "2020-03-01", close: 7, adjClose: 7, volume: 1, source: "test" },
      ];
      await db.insert(marketPrices).values(rows).onConflictDoNothing();
      const bySymbol = await loadClosesBySymbol(db, ["LCA", "LCB", "LCNONE"], "2020-03-01", "2020-03-04");
      expect([...bySymbol.keys()].sort()).toEqual(["LCA", "LCB"]);
      expect(bySymbol.get("LCA")).toEqual([
        { date: "2020-03-02", close: 123456.78901234567, adjClose: 100 },
        { date: "2020-03-03", close: 0.1 + 0.2, adjClose: 1e-7 },
      ]);
      expect(bySymbol.get("LCB")).toEqual([{ date: "2020-03-04", close: 1 / 3, adjClose: null }]);
      // The same as a plain select.
      const plain = await db
        .select({
          symbol: marketPrices.symbol,
          date: marketPrices.date,
          close: marketPrices.close,
          adjClose: marketPrices.adjClose,
        })
        .from(marketPrices);
      const expected = plain
        .filter((r) => ["LCA", "LCB"].includes(r.symbol) && r.date > "2020-03-01" && r.date <= "2020-03-04")
        .sort((a, b) => a.symbol.localeCompare(b.symbol) || a.date.localeCompare(b.date));
      expect(await loadCloseRows(db, ["LCB", "LCA"], "2020-03-01", "2020-03-04")).toEqual(expected);
      expect(await loadCloseRows(db, [], "2020-03-01", "2020-03-04")).toEqual([]);
    },
  );
});
