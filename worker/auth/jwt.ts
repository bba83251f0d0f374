// Bearer JWT verification with jose (docs/design.md §8).
//
// Two modes, chosen by configuration and never mixed:
// - development (`ENVIRONMENT = "development"` and no `JWT_JWKS_URL`): HS256 only, signed with
//   the `JWT_SECRET` secret (at least 32 bytes). `npm run token` mints such tokens.
// - production (`JWT_JWKS_URL` set): the identity provider's public keys from its JWKS URL,
//   asymmetric algorithms only (`JWT_ALGORITHMS`, default ES256 and RS256), and `JWT_ISSUER`
//   and `JWT_AUDIENCE` required. HS256 is never accepted here, so a token signed with a
//   leaked or guessed shared secret cannot pass. A non-development Worker without a JWKS URL
//   refuses every token (fail closed) rather than falling back to the shared secret.
// Always: an algorithm allowlist (`alg: none` and any algorithm outside it are rejected by
// jose before a signature is checked), `exp` and `sub` required, `iss`/`aud` checked when
// configured, a clock tolerance of `clockToleranceSeconds`.
//
// The JWKS is cached per isolate as plain data (jose's `jwksCache` hook), never as a pending
// promise: workerd forbids resolving one request's promise from another request's I/O, which
// a shared `createRemoteJWKSet` instance would do while it refreshes.
import {
  createRemoteJWKSet,
  errors,
  jwtVerify,
  jwksCache,
  type CryptoKey,
  type JWKSCacheInput,
  type JWTPayload,
} from "jose";
import { ApiError } from "../http/errors.ts";
import { isPermission, type Caller, type Permission } from "./permissions.ts";

export const clockToleranceSeconds = 30;
const asymmetricAlgorithms = new Set([
  "ES256",
  "ES384",
  "ES512",
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "EdDSA",
]);
const minimumSecretBytes = 32;

export interface AuthEnv {
  ENVIRONMENT: string;
  JWT_SECRET: string;
  JWT_JWKS_URL: string;
  JWT_ISSUER: string;
  JWT_AUDIENCE: string;
  /** Optional: comma-separated asymmetric algorithms for the JWKS mode. */
  JWT_ALGORITHMS?: string;
}

export type AuthMode =
  | { kind: "shared_secret"; secret: Uint8Array; algorithms: ["HS256"]; issuer?: string; audience?: string }
  | { kind: "jwks"; url: URL; algorithms: string[]; issuer: string; audience: string }
  | { kind: "misconfigured"; reason: string };

export function authMode(env: AuthEnv): AuthMode {
  const issuer = env.JWT_ISSUER?.trim() ?? "";
  const audience = env.JWT_AUDIENCE?.trim() ?? "";
  const jwksUrl = env.JWT_JWKS_URL?.trim() ?? "";
  if (jwksUrl) {
    let url: URL;
    try {
      url = new URL(jwksUrl);
    } catch {
      return { kind: "misconfigured", reason: "JWT_JWKS_URL is not a URL" };
    }
    const algorithms = (env.JWT_ALGORITHMS?.trim() || "ES256,RS256")
      .split(",")
      .map((name) => name.trim())
      .filter(Boolean);
    const symmetric = algorithms.filter((name) => !asymmetricAlgorithms.has(name));
    if (symmetric.length > 0)
      return {
        kind: "misconfigured",
        reason: `JWT_ALGORITHMS may list only asymmetric algorithms with a JWKS, not ${symmetric.join(", ")}`,
      };
    if (!issuer || !audience)
      return { kind: "misconfigured", reason: "JWT_ISSUER and JWT_AUDIENCE are required with JWT_JWKS_URL" };
    return { kind: "jwks", url, algorithms, issuer, audience };
  }
  if (env.ENVIRONMENT !== "development")
    return { kind: "misconfigured", reason: "JWT_JWKS_URL is required outside development" };
  const secret = new TextEncoder().encode(env.JWT_SECRET ?? "");
  if (secret.byteLength < minimumSecretBytes)
    return { kind: "misconfigured", reason: `JWT_SECRET must be at least ${minimumSecretBytes} bytes` };
  return {
    kind: "shared_secret",
    secret,
    algorithms: ["HS256"],
    ...(issuer ? { issuer } : {}),
    ...(audience ? { audience } : {}),
  };
}

/**
 * HS256 keys by secret, imported once per isolate: importing on every request cost about a
 * tenth of a millisecond. The resolved CryptoKey is shared, never a pending promise.
 */
const hmacKeys = new Map<string, CryptoKey>();

async function hmacKey(secret: Uint8Array): Promise<CryptoKey> {
  const id = new TextDecoder().decode(secret);
  const cached = hmacKeys.get(id);
  if (cached) return cached;
  const key = await crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
  hmacKeys.set(id, key);
  return key;
}

/** The JWKS of the configured URL, kept between requests of an isolate as plain data. */
const jwksCaches = new Map<string, JWKSCacheInput>();

function unauthorized(code: string, message: string, description: string): ApiError {
  // RFC 6750: the challenge names the scheme and, for a bad token, `invalid_token`.
  const challenge =
    code === "AUTH_REQUIRED"
      ? `Bearer realm="factor-exposure"`
      : `Bearer realm="factor-exposure", error="invalid_token", error_description="${description}"`;
  return new ApiError(401, code, message, undefined, { "WWW-Authenticate": challenge });
}

/** The token of an `Authorization: Bearer …` header, or a 401. */
export function bearerToken(request: Request): string {
  const header = request.headers.get("authorization");
  if (!header) throw unauthorized("AUTH_REQUIRED", "an Authorization: Bearer <token> header is required", "");
  const match = /^Bearer\s+([A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]*\.[A-Za-z0-9\-_]*)\s*$/i.exec(header);
  const token = match?.[1];
  if (token === undefined)
    throw unauthorized("INVALID_TOKEN", "the Authorization header must be `Bearer <JWT>`", "malformed bearer token");
  return token;
}

function describeJoseError(error: unknown): string {
  if (error instanceof errors.JWTExpired) return "the token has expired";
  if (error instanceof errors.JWTClaimValidationFailed) return `claim ${error.claim} is invalid: ${error.reason}`;
  if (error instanceof errors.JOSEAlgNotAllowed) return "the token's algorithm is not allowed";
  if (error instanceof errors.JWSSignatureVerificationFailed) return "the token's signature does not verify";
  if (error instanceof errors.JWKSNoMatchingKey) return "no key of the issuer matches the token";
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return "the token is malformed";
  return "the token could not be verified";
}

/**
 * Tokens verified in this isolate, with their caller, until their `exp` (at most
 * `verifiedCacheSeconds`): a dashboard sends the same token with every request, and checking
 * its signature and claims again cost close to a millisecond of CPU each time. The key
 * includes the verification settings, so a change of configuration verifies afresh. Bounded;
 * the oldest entries go first.
 */
const verifiedTokens = new Map<string, { caller: Caller; until: number }>();
const verifiedCacheSeconds = 300;
const verifiedCacheSize = 10_000;

function modeKey(mode: Exclude<AuthMode, { kind: "misconfigured" }>): string {
  return mode.kind === "jwks"
    ? `jwks|${mode.url.href}|${mode.algorithms.join(",")}|${mode.issuer}|${mode.audience}`
    : `secret|${new TextDecoder().decode(mode.secret)}|${mode.issuer ?? ""}|${mode.audience ?? ""}`;
}

/** Verifies the request's bearer token and returns its caller, or throws a 401 (503 when misconfigured). */
export async function authenticate(request: Request, env: AuthEnv): Promise<Caller> {
  const mode = authMode(env);
  if (mode.kind === "misconfigured")
    throw new ApiError(503, "AUTH_NOT_CONFIGURED", `authentication is not configured: ${mode.reason}`);
  const token = bearerToken(request);
  const cacheKey = `${modeKey(mode)}|${token}`;
  const cached = verifiedTokens.get(cacheKey);
  if (cached && cached.until > Date.now()) return cached.caller;
  if (cached) verifiedTokens.delete(cacheKey);
  const caller = await verify(token, mode);
  if (verifiedTokens.size >= verifiedCacheSize) {
    // Evict the oldest entry (a Map iterates in insertion order).
    const oldest = verifiedTokens.keys().next();
    if (!oldest.done) verifiedTokens.delete(oldest.value);
  }
  const exp = typeof caller.exp === "number" ? caller.exp * 1_000 : 0;
  verifiedTokens.set(cacheKey, {
    caller: caller.caller,
    until: Math.min(exp, Date.now() + verifiedCacheSeconds * 1_000),
  });
  return caller.caller;
}

async function verify(
  token: string,
  mode: Exclude<AuthMode, { kind: "misconfigured" }>,
): Promise<{ caller: Caller; exp: number | undefined }> {
  let payload: JWTPayload;
  try {
    const options = {
      algorithms: mode.algorithms,
      clockTolerance: clockToleranceSeconds,
      requiredClaims: ["exp", "sub"],
      ...(mode.issuer ? { issuer: mode.issuer } : {}),
      ...(mode.audience ? { audience: mode.audience } : {}),
    };
    if (mode.kind === "shared_secret") {
      ({ payload } = await jwtVerify(token, await hmacKey(mode.secret), options));
    } else {
      const key = mode.url.href;
      const cache = jwksCaches.get(key) ?? {};
      jwksCaches.set(key, cache);
      ({ payload } = await jwtVerify(token, createRemoteJWKSet(mode.url, { [jwksCache]: cache }), options));
    }
  } catch (error) {
    const description = describeJoseError(error);
    throw unauthorized("INVALID_TOKEN", `invalid token: ${description}`, description);
  }
  if (typeof payload.sub !== "string" || payload.sub.trim() === "")
    throw unauthorized("INVALID_TOKEN", "invalid token: sub must be a non-empty string", "sub missing");
  const claimed = Array.isArray(payload["permissions"]) ? payload["permissions"] : [];
  const granted = new Set<Permission>(claimed.filter(isPermission));
  const org = typeof payload["org"] === "string" && payload["org"] !== "" ? payload["org"] : null;
  return { caller: { sub: payload.sub, org, permissions: granted }, exp: payload.exp };
}
