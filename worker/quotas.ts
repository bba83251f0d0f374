// Per-tenant caps (issue 15): one user's data or traffic must not fail or slow another's work.
// Each is a Worker var with a default chosen to sit well above real use and well below what
// hurts the shared batch or hub; a request over a cap gets a clear 4xx naming the cap and its
// setting, and writes nothing.
//
//   MAX_POSITIONS_PER_PORTFOLIO       10,000  (the position import's own limit per file)
//   MAX_PORTFOLIOS_PER_OWNER             100
//   MAX_LIMITS_PER_PORTFOLIO             100  exposure limits on one portfolio (each is evaluated
//                                             by every recompute of the portfolio)
//   MAX_WEBHOOKS_PER_ORG                  10  webhooks an org may register (each alert is sent to each)
//   MAX_NEW_SYMBOLS_PER_DAY              500  new tickers a tenant (org, or user without one)
//                                             may bring into the shared universe per UTC day
//   LIVE_MAX_SOCKETS_PER_USER              8  open live sockets per user (tabs, devices)
//   LIVE_MAX_MESSAGES_PER_SECOND          10  messages a live socket may send per second,
//                                             with a burst of twice that
import { readPositiveInteger } from "./market-data/providers/result.ts";
import { ApiError } from "./http/errors.ts";

export interface Quotas {
  positionsPerPortfolio: number;
  portfoliosPerOwner: number;
  limitsPerPortfolio: number;
  webhooksPerOrg: number;
  newSymbolsPerDay: number;
  socketsPerUser: number;
  messagesPerSecond: number;
}

export const defaultQuotas: Quotas = {
  positionsPerPortfolio: 10_000,
  portfoliosPerOwner: 100,
  limitsPerPortfolio: 100,
  webhooksPerOrg: 10,
  newSymbolsPerDay: 500,
  socketsPerUser: 8,
  messagesPerSecond: 10,
};

/** The quotas from the Worker's vars; an invalid value throws with the setting's name. */
export function quotas(env: object): Quotas {
  return {
    positionsPerPortfolio: readPositiveInteger(env, "MAX_POSITIONS_PER_PORTFOLIO", defaultQuotas.positionsPerPortfolio),
    portfoliosPerOwner: readPositiveInteger(env, "MAX_PORTFOLIOS_PER_OWNER", defaultQuotas.portfoliosPerOwner),
    limitsPerPortfolio: readPositiveInteger(env, "MAX_LIMITS_PER_PORTFOLIO", defaultQuotas.limitsPerPortfolio),
    webhooksPerOrg: readPositiveInteger(env, "MAX_WEBHOOKS_PER_ORG", defaultQuotas.webhooksPerOrg),
    newSymbolsPerDay: readPositiveInteger(env, "MAX_NEW_SYMBOLS_PER_DAY", defaultQuotas.newSymbolsPerDay),
    socketsPerUser: readPositiveInteger(env, "LIVE_MAX_SOCKETS_PER_USER", defaultQuotas.socketsPerUser),
    messagesPerSecond: readPositiveInteger(env, "LIVE_MAX_MESSAGES_PER_SECOND", defaultQuotas.messagesPerSecond),
  };
}

/**
 * 409 QUOTA_EXCEEDED: the request would take the tenant over a stored-data cap. 409 rather than
 * 429: waiting does not help (except for the daily symbol quota, which says when it resets);
 * deleting something does.
 */
export function quotaExceeded(message: string, setting: string, limit: number, path = ""): ApiError {
  return new ApiError(409, "QUOTA_EXCEEDED", message, [{ path, message: `the limit is ${limit} (${setting})` }]);
}

/** The tenant key of a caller: its org, or itself without one (also the name of its live hub). */
export function tenantOf(caller: { org: string | null; sub: string }): string {
  return caller.org ? `org:${caller.org}` : `user:${caller.sub}`;
}

/**
 * A statement for the end of a write batch that fails, rolling the whole batch back, when
 * `countSql` (one value) is over `cap` after the batch's writes: the pre-check a route makes
 * can race with a concurrent request, this cannot. SQLite has RAISE only inside triggers, so the
 * failure is json() of a text that is not JSON, which the CASE evaluates only when over the cap.
 */
export function capGuard(
  countSql: string,
  args: readonly (string | number)[],
  cap: number,
): { sql: string; args: (string | number)[] } {
  return { sql: `select case when (${countSql}) > ? then json('quota exceeded') end`, args: [...args, cap] };
}
