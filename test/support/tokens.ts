// Tokens for tests that call the Worker: development HS256 JWTs signed with the test
// Worker's JWT_SECRET, exactly as `npm run token` mints them for the local stack.
import { env } from "cloudflare:workers";
import { allPermissions, mintDevToken, type DevTokenRequest } from "../../scripts/dev-token.ts";
import type { Permission } from "../../worker/auth/permissions.ts";

export { allPermissions };

export async function tokenFor(
  sub: string,
  permissions: readonly Permission[] = allPermissions,
  options: Partial<Omit<DevTokenRequest, "sub" | "permissions">> = {},
): Promise<string> {
  return mintDevToken({ secret: env.JWT_SECRET, sub, permissions, ...options });
}

/** `{authorization: "Bearer …"}` for `sub` with `permissions` (default: all). */
export async function authHeaders(
  sub: string,
  permissions: readonly Permission[] = allPermissions,
  options: Partial<Omit<DevTokenRequest, "sub" | "permissions">> = {},
): Promise<Record<string, string>> {
  return { authorization: `Bearer ${await tokenFor(sub, permissions, options)}` };
}
