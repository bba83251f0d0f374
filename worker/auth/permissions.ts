// Who a caller is and what it may do: the identity the JWT establishes (docs/design.md §8).
// Permissions come from the token's `permissions` claim; ownership is decided per portfolio
// (worker/auth/ownership.ts).

export const permissions = [
  "VIEW_FACTOR_ANALYTICS",
  "VIEW_ALL_POSITIONS",
  "MANAGE_PORTFOLIOS",
  "RUN_BATCH",
  "IMPORT_MARKET_DATA",
] as const;
export type Permission = (typeof permissions)[number];

const known = new Set<string>(permissions);

export function isPermission(value: unknown): value is Permission {
  return typeof value === "string" && known.has(value);
}

/** The authenticated caller of one request. */
export interface Caller {
  /** The token's `sub`: the owner recorded on the portfolios it creates. */
  sub: string;
  /** The token's `org` claim, when it has one: portfolios are shared within an org. */
  org: string | null;
  permissions: ReadonlySet<Permission>;
}

export function hasPermission(caller: Caller, permission: Permission): boolean {
  return caller.permissions.has(permission);
}
