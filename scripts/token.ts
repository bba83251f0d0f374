// `npm run token -- --sub alice --permissions VIEW_FACTOR_ANALYTICS,MANAGE_PORTFOLIOS [--org ORG] [--ttl 3600]`
// prints a development JWT for the local stack (signed with .data/local-secrets.json's
// JWT_SECRET, accepted only by a Worker with ENVIRONMENT=development and no JWKS URL).
import { parseArgs } from "node:util";
import { isPermission, permissions as knownPermissions, type Permission } from "../worker/auth/permissions.ts";
import { mintDevToken } from "./dev-token.ts";
import { loadLocalSecrets } from "./local-config.ts";

const usage = `usage: npm run token -- --sub SUB --permissions P1,P2 [--org ORG] [--ttl SECONDS]
permissions: ${knownPermissions.join(", ")}`;

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        sub: { type: "string" },
        permissions: { type: "string" },
        org: { type: "string" },
        ttl: { type: "string" },
        help: { type: "boolean" },
      },
    }));
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n${usage}`);
    return 2;
  }
  if (values.help) {
    console.log(usage);
    return 0;
  }
  if (!values.sub) {
    console.error(`--sub is required\n${usage}`);
    return 2;
  }
  const requested = (values.permissions ?? "")
    .split(",")
    .map((name) => name.trim())
    .filter(Boolean);
  const unknown = requested.filter((name) => !isPermission(name));
  if (unknown.length > 0) {
    console.error(`unknown permission(s): ${unknown.join(", ")}\n${usage}`);
    return 2;
  }
  const ttl = values.ttl === undefined ? 12 * 3600 : Number(values.ttl);
  if (!Number.isInteger(ttl) || ttl <= 0 || ttl > 30 * 24 * 3600) {
    console.error(`--ttl must be a whole number of seconds from 1 to ${30 * 24 * 3600}`);
    return 2;
  }
  const token = await mintDevToken({
    secret: loadLocalSecrets().jwtSecret,
    sub: values.sub,
    permissions: requested as Permission[],
    org: values.org ?? null,
    ttlSeconds: ttl,
  });
  console.log(token);
  return 0;
}

process.exitCode = await main();
