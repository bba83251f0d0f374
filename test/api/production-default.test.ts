// Production by default: with the vars wrangler.toml ships (ENVIRONMENT and an empty
// JWT_JWKS_URL), a development HS256 token signed with JWT_SECRET is refused, so a deployment
// that forgot to configure its identity provider fails closed instead of trusting the secret.
// The test projects set ENVIRONMENT=development themselves (test/*/vitest.config.ts).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import wranglerToml from "../../wrangler.toml?raw";
import { app } from "../../worker/index.ts";
import { tokenFor } from "../support/tokens.ts";
import { errorOf } from "./support.ts";

/** A string var of wrangler.toml's [vars] table, as shipped. */
function shippedVar(name: string): string {
  const vars = wranglerToml.slice(wranglerToml.indexOf("\n[vars]"));
  const match = new RegExp(`^${name}\\s*=\\s*"([^"]*)"`, "m").exec(vars);
  if (!match) throw new Error(`wrangler.toml [vars] has no ${name}`);
  return match[1]!;
}

describe("wrangler.toml as shipped", () => {
  it("describes production", () => {
    expect(shippedVar("ENVIRONMENT")).toBe("production");
  });

  it("refuses an HS256 token signed with JWT_SECRET (503 AUTH_NOT_CONFIGURED), which development accepts", async () => {
    const token = await tokenFor("shipped-config-caller");
    const headers = { authorization: `Bearer ${token}` };
    const request = () => new Request("http://localhost/api/v1/factors", { headers });
    const shipped = { ...env, ENVIRONMENT: shippedVar("ENVIRONMENT"), JWT_JWKS_URL: shippedVar("JWT_JWKS_URL") };
    const error = await errorOf(await app.fetch(request(), shipped), 503);
    expect(error.code).toBe("AUTH_NOT_CONFIGURED");
    expect(error.message).toMatch(/JWT_JWKS_URL is required outside development/);
    // The same token, the same secret, in development: accepted (so the refusal is the mode's).
    expect((await app.fetch(request(), { ...shipped, ENVIRONMENT: "development" })).status).toBe(200);
  });
});
