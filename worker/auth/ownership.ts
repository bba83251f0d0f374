// Which portfolios a caller may see and change (docs/design.md §8):
// - its own (owner = the token's sub), read and write;
// - with VIEW_ALL_POSITIONS, its org's (org = the token's org claim), read only: writing
//   another owner's portfolio in the org answers 403, since the caller can see it exists;
// - anything else answers 404 NOT_FOUND, exactly as a portfolio that does not exist, so ids
//   of other owners cannot be probed.
import { and, eq, or, type SQL } from "drizzle-orm";
import { portfolios } from "../../schema/index.ts";
import type { Database } from "../db/client.ts";
import { ApiError } from "../http/errors.ts";
import type { Caller } from "./permissions.ts";

export type PortfolioRecord = typeof portfolios.$inferSelect;

/** The SQL condition for the portfolios `caller` may read. */
export function visiblePortfolios(caller: Caller): SQL {
  const own = eq(portfolios.owner, caller.sub);
  if (caller.org !== null && caller.permissions.has("VIEW_ALL_POSITIONS"))
    return or(own, eq(portfolios.org, caller.org)) ?? own;
  return own;
}

export function isWritable(caller: Caller, portfolio: Pick<PortfolioRecord, "owner">): boolean {
  return portfolio.owner === caller.sub;
}

export function portfolioNotFound(id: string): ApiError {
  return new ApiError(404, "NOT_FOUND", `portfolio ${id} does not exist`);
}

/** The portfolio if the caller may read it; 404 otherwise. */
export async function readablePortfolio(db: Database, caller: Caller, id: string): Promise<PortfolioRecord> {
  const row = await db
    .select()
    .from(portfolios)
    .where(and(eq(portfolios.id, id), visiblePortfolios(caller)))
    .get();
  if (!row) throw portfolioNotFound(id);
  return row;
}

/** The portfolio if the caller may change it; 404 when it cannot see it, 403 when it only reads it. */
export async function writablePortfolio(db: Database, caller: Caller, id: string): Promise<PortfolioRecord> {
  const row = await readablePortfolio(db, caller, id);
  if (!isWritable(caller, row))
    throw new ApiError(
      403,
      "FORBIDDEN",
      `portfolio ${id} belongs to another member of your org; you may read it but not change it`,
    );
  return row;
}
