// Development tokens: HS256 JWTs signed with the local JWT_SECRET, as the Worker accepts them
// in development (worker/auth/jwt.ts). Used by `npm run token`, `npm start` (the demo user's
// token, `npm run link`), the scripts that call the API, the benchmarks and the tests. Runs in Node
// and workerd.
import { SignJWT } from "jose";
import type { Permission } from "../worker/auth/permissions.ts";

/** The issuer and audience the development Worker checks (wrangler.toml [vars]). */
export const devIssuer = "factor-exposure-dev";
export const devAudience = "factor-exposure-api";

export interface DevTokenRequest {
  secret: string;
  sub: string;
  permissions: readonly Permission[];
  org?: string | null;
  /** Lifetime in seconds (default 12 hours). */
  ttlSeconds?: number;
  issuer?: string;
  audience?: string;
  /** Seconds since the epoch to issue at (default now); tests use it for expired tokens. */
  issuedAt?: number;
}

export async function mintDevToken(request: DevTokenRequest): Promise<string> {
  const issuedAt = request.issuedAt ?? Math.floor(Date.now() / 1000);
  return new SignJWT({ permissions: [...request.permissions], ...(request.org ? { org: request.org } : {}) })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(request.sub)
    .setIssuer(request.issuer ?? devIssuer)
    .setAudience(request.audience ?? devAudience)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + (request.ttlSeconds ?? 12 * 3600))
    .sign(new TextEncoder().encode(request.secret));
}

/**
 * The demo analyst: owns the demo's portfolios (scripts/seed-demo.ts) and is who the dashboard
 * link of `npm start` and `npm run link` signs in, with every permission.
 */
export const demoOwner = "demo";
export const demoOrg = "demo-org";

/** Every permission: the local operator's scripts and the demo analyst. */
export const allPermissions: readonly Permission[] = [
  "VIEW_FACTOR_ANALYTICS",
  "VIEW_ALL_POSITIONS",
  "MANAGE_PORTFOLIOS",
  "RUN_BATCH",
  "IMPORT_MARKET_DATA",
];
