// What goes with every write of positions (create, update, import): their market symbols join
// the shared universe, and the tenant's caps hold (worker/quotas.ts).
//
// - Positions per portfolio: checked before the write (a clear 409), and again inside the write
//   batch by a guard statement, so concurrent requests cannot take a portfolio over the cap.
// - New symbols per tenant per day: a symbol not yet in the universe counts against the
//   tenant that brings it in (`symbol_universe.added_by`), per UTC day. Over the quota the
//   request is refused (429 with Retry-After until midnight UTC) and writes nothing. Symbols
//   already in the universe never count, whoever added them.
// - Universe rows are inserted in slices: one statement for thousands of symbols would pass
//   SQLite's limit of 32,766 bound variables ("too many SQL variables").
import { and, count, eq, inArray } from "drizzle-orm";
import { positions, symbolUniverse } from "../../schema/index.ts";
import type { Caller } from "../auth/permissions.ts";
import { chunk } from "../chunk.ts";
import type { Database } from "../db/client.ts";
import type { Write } from "../db/transaction.ts";
import { ApiError } from "../http/errors.ts";
import { capGuard, quotaExceeded, quotas, tenantOf } from "../quotas.ts";
import type { PositionInsert } from "./records.ts";

/** Universe rows per insert statement (6 bound values each). */
const universeRowsPerStatement = 500;
/** Symbols per existence lookup. */
const symbolsPerLookup = 500;

type AssetType = "equity" | "etf" | "option_underlying";

/** The market symbols positions need prices and betas for: a stock's or ETF's own, an option's underlying. */
export function marketSymbolsOf(rows: readonly PositionInsert[]): Map<string, AssetType> {
  const bySymbol = new Map<string, AssetType>();
  for (const row of rows) {
    if (row.instrument === "private") continue;
    if (row.instrument === "option") {
      if (row.underlyingSymbol && !bySymbol.has(row.underlyingSymbol))
        bySymbol.set(row.underlyingSymbol, "option_underlying");
    } else bySymbol.set(row.symbol, row.instrument === "etf" ? "etf" : "equity");
  }
  return bySymbol;
}

function today(): string {
  return new Date().toISOString().slice(0, 10);
}

function secondsToUtcMidnight(now = Date.now()): number {
  const midnight = new Date(now);
  midnight.setUTCHours(24, 0, 0, 0);
  return Math.max(1, Math.ceil((midnight.getTime() - now) / 1000));
}

async function symbolsNotInUniverse(db: Database, symbols: readonly string[]): Promise<string[]> {
  const known = new Set<string>();
  for (const slice of chunk(symbols, symbolsPerLookup)) {
    const rows = await db
      .select({ symbol: symbolUniverse.symbol })
      .from(symbolUniverse)
      .where(inArray(symbolUniverse.symbol, slice));
    for (const row of rows) known.add(row.symbol);
  }
  return symbols.filter((symbol) => !known.has(symbol));
}

export interface HoldingWritePlan {
  /** Universe inserts, to run in the same batch before the positions. */
  before: Write[];
  /** The position cap's guard, to run in the same batch after the positions. */
  after: Write[];
}

/**
 * Checks the caps for writing `rows` into the portfolio (`added` of them new positions;
 * `replacing` when the write deletes the portfolio's positions first) and returns the
 * statements to run with the write. Throws the 409/429 a cap calls for.
 */
export async function planHoldingWrites(
  db: Database,
  env: object,
  caller: Pick<Caller, "org" | "sub">,
  portfolioId: string,
  rows: readonly PositionInsert[],
  options: { added: number; replacing?: boolean },
): Promise<HoldingWritePlan> {
  const limits = quotas(env);
  if (options.added > 0) {
    const held = options.replacing
      ? 0
      : ((await db.select({ n: count() }).from(positions).where(eq(positions.portfolioId, portfolioId)).get())?.n ?? 0);
    if (held + options.added > limits.positionsPerPortfolio) {
      throw quotaExceeded(
        `the portfolio would hold ${held + options.added} positions (${held} now, ${options.added} new), ` +
          `over the limit of ${limits.positionsPerPortfolio}`,
        "MAX_POSITIONS_PER_PORTFOLIO",
        limits.positionsPerPortfolio,
      );
    }
  }

  const bySymbol = marketSymbolsOf(rows);
  const tenant = tenantOf(caller);
  const date = today();
  const fresh = bySymbol.size === 0 ? [] : await symbolsNotInUniverse(db, [...bySymbol.keys()]);
  if (fresh.length > 0) {
    const used =
      (
        await db
          .select({ n: count() })
          .from(symbolUniverse)
          .where(and(eq(symbolUniverse.addedBy, tenant), eq(symbolUniverse.firstSeenDate, date)))
          .get()
      )?.n ?? 0;
    if (used + fresh.length > limits.newSymbolsPerDay) {
      const retryAfter = secondsToUtcMidnight();
      throw new ApiError(
        429,
        "QUOTA_EXCEEDED",
        `${fresh.length} of these symbols are new to the service (e.g. ${fresh.slice(0, 5).join(", ")}); ` +
          `with ${used} added today that is over the ${limits.newSymbolsPerDay} new symbols ` +
          "a tenant may add per day (MAX_NEW_SYMBOLS_PER_DAY); " +
          `the quota resets at midnight UTC`,
        [
          {
            path: "symbol",
            message:
              `at most ${limits.newSymbolsPerDay} new symbols per day; ` +
              `${Math.max(0, limits.newSymbolsPerDay - used)} left today`,
          },
        ],
        { "Retry-After": String(retryAfter) },
      );
    }
  }
  const before: Write[] = chunk(fresh, universeRowsPerStatement).map((slice) =>
    db
      .insert(symbolUniverse)
      .values(
        slice.map((symbol) => ({
          symbol,
          assetType: bySymbol.get(symbol) ?? "equity",
          firstSeenDate: date,
          lastSeenDate: date,
          addedBy: tenant,
        })),
      )
      .onConflictDoNothing()
      .returning({ symbol: symbolUniverse.symbol }),
  );
  const after: Write[] =
    options.added > 0
      ? [capGuard("select count(*) from positions where portfolio_id = ?", [portfolioId], limits.positionsPerPortfolio)]
      : [];
  return { before, after };
}

/** Whether a failed write batch was stopped by a cap guard (capGuard's json() error). */
export function isCapGuardFailure(error: unknown): boolean {
  for (
    let current: unknown = error, depth = 0;
    current instanceof Error && depth < 6;
    depth++, current = current.cause
  ) {
    if (/malformed JSON/i.test(current.message)) return true;
  }
  return false;
}
