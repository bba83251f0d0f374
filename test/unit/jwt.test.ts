// JWT verification in production mode: keys from a JWKS URL (a local HTTP server standing in
// for the identity provider), asymmetric algorithms only, issuer and audience required.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authenticate, authMode, type AuthEnv } from "../../worker/auth/jwt.ts";
import { ApiError } from "../../worker/http/errors.ts";

let server: Server;
let jwksUrl = "";
let jwksHits = 0;
let signingKey: CryptoKey;
let strangerKey: CryptoKey;
const issuer = "https://idp.example.test/";
const audience = "factor-exposure-api";

beforeAll(async () => {
  const pair = await generateKeyPair("ES256");
  signingKey = pair.privateKey;
  strangerKey = (await generateKeyPair("ES256")).privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: "key-1", alg: "ES256", use: "sig" };
  server = createServer((_req, res) => {
    jwksHits++;
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const production = (): AuthEnv => ({
  ENVIRONMENT: "production",
  JWT_SECRET: "",
  JWT_JWKS_URL: jwksUrl,
  JWT_ISSUER: issuer,
  JWT_AUDIENCE: audience,
});

async function token(
  options: {
    key?: CryptoKey;
    alg?: string;
    kid?: string;
    iss?: string;
    exp?: number | null;
    claims?: Record<string, unknown>;
  } = {},
): Promise<string> {
  const jwt = new SignJWT({
    permissions: ["VIEW_FACTOR_ANALYTICS", "NOT_A_PERMISSION"],
    org: "acme",
    ...options.claims,
  })
    .setProtectedHeader({ alg: options.alg ?? "ES256", kid: options.kid ?? "key-1" })
    .setSubject("alice")
    .setIssuer(options.iss ?? issuer)
    .setAudience(audience)
    .setIssuedAt();
  if (options.exp !== null) jwt.setExpirationTime(options.exp ?? Math.floor(Date.now() / 1000) + 600);
  return jwt.sign(options.key ?? signingKey);
}

function request(bearer: string): Request {
  return new Request("https://api.example.test/api/v1/factors", { headers: { authorization: `Bearer ${bearer}` } });
}

async function rejection(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}

describe("authenticate with a JWKS", () => {
  it("accepts an ES256 token of the issuer's key: sub, org, and only the known permissions", async () => {
    const caller = await authenticate(request(await token()), production());
    expect(caller).toEqual({ sub: "alice", org: "acme", permissions: new Set(["VIEW_FACTOR_ANALYTICS"]) });
  });

  it("fetches the key set once and reuses it across requests", async () => {
    const before = jwksHits;
    await authenticate(request(await token()), production());
    await authenticate(request(await token()), production());
    expect(jwksHits - before).toBeLessThanOrEqual(1);
  });

  it("rejects HS256 (even with a secret configured), another key, another issuer and a token without exp", async () => {
    const hs256 = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("alice")
      .setIssuer(issuer)
      .setAudience(audience)
      .setExpirationTime("5m")
      .sign(new TextEncoder().encode("a".repeat(40)));
    for (const [name, bearer] of [
      ["HS256", hs256],
      ["another key", await token({ key: strangerKey })],
      ["another issuer", await token({ iss: "https://evil.test/" })],
      ["no exp", await token({ exp: null })],
      ["expired beyond the clock tolerance", await token({ exp: Math.floor(Date.now() / 1000) - 120 })],
    ] as const) {
      const error = await rejection(authenticate(request(bearer), { ...production(), JWT_SECRET: "a".repeat(40) }));
      expect(error.status, name).toBe(401);
      expect(error.headers["WWW-Authenticate"], name).toMatch(/error="invalid_token"/);
    }
  });

  it("accepts a token expired within the clock tolerance", async () => {
    await expect(
      authenticate(request(await token({ exp: Math.floor(Date.now() / 1000) - 10 })), production()),
    ).resolves.toMatchObject({ sub: "alice" });
  });
});

describe("authMode", () => {
  it("fails closed on configurations that would weaken verification", () => {
    expect(authMode({ ...production(), JWT_ISSUER: "" })).toMatchObject({ kind: "misconfigured" });
    expect(authMode({ ...production(), JWT_ALGORITHMS: "ES256,HS256" })).toMatchObject({
      kind: "misconfigured",
      reason: expect.stringContaining("HS256"),
    });
    expect(authMode({ ...production(), JWT_JWKS_URL: "" })).toMatchObject({
      kind: "misconfigured",
      reason: expect.stringContaining("outside development"),
    });
    expect(
      authMode({ ENVIRONMENT: "development", JWT_SECRET: "short", JWT_JWKS_URL: "", JWT_ISSUER: "", JWT_AUDIENCE: "" }),
    ).toMatchObject({ kind: "misconfigured" });
    expect(
      authMode({
        ENVIRONMENT: "development",
        JWT_SECRET: "x".repeat(32),
        JWT_JWKS_URL: "",
        JWT_ISSUER: "i",
        JWT_AUDIENCE: "a",
      }),
    ).toMatchObject({ kind: "shared_secret", algorithms: ["HS256"], issuer: "i", audience: "a" });
  });

  it("answers 503 for every token while misconfigured", async () => {
    const error = await rejection(authenticate(request(await token()), { ...production(), JWT_AUDIENCE: "" }));
    expect(error.status).toBe(503);
    expect(error.code).toBe("AUTH_NOT_CONFIGURED");
  });
});
