// `npm run token -- --sub alice --permissions VIEW_FACTOR_ANALYTICS,MANAGE_PORTFOLIOS [--org ORG] [--ttl 3600]`
// prints a development JWT for the local stack: signed with the JWT secret `npm start` created in
// its DATA_DIR (local-secrets.json), accepted only by a Worker with ENVIRONMENT=development and no
// JWKS URL. The stack is the running one (or the one PORT / DATA_DIR name; scripts/local-config.ts);
// this never creates a secret. The token goes to stdout alone; which stack signed it, to stderr.
import { parseArgs } from "node:util";
import { isPermission, permissions as knownPermissions, type Permission } from "../worker/auth/permissions.ts";
import { mintDevToken } from "./dev-token.ts";
import {
  findLocalStack,
  type LocalStack,
  LocalStackError,
  readLocalSecrets,
  stackSettingsText,
} from "./local-config.ts";

export interface TokenRequest {
  sub: string;
  permissions: Permission[];
  org: string | null;
  ttlSeconds: number;
}

export type TokenArgs = { kind: "help" } | ({ kind: "token" } & TokenRequest) | { kind: "error"; message: string };

const maxTtlSeconds = 30 * 24 * 3600;

/**
 * The options `npm run token` and `npm run link` share: `--sub`, `--permissions`, `--org`, `--ttl`.
 * `defaults` fills what is not given (link: the demo analyst); without a default, `--sub` is required.
 */
export function parseTokenArgs(args: readonly string[], defaults: Partial<TokenRequest> = {}): TokenArgs {
  let values: ReturnType<typeof parseTokenOptions>["values"];
  try {
    ({ values } = parseTokenOptions(args));
  } catch (error) {
    return { kind: "error", message: error instanceof Error ? error.message : String(error) };
  }
  if (values.help) return { kind: "help" };
  const sub = values.sub?.trim() || defaults.sub;
  if (!sub) return { kind: "error", message: "--sub is required" };
  let permissions: Permission[];
  if (values.permissions === undefined && defaults.permissions) {
    permissions = defaults.permissions;
  } else {
    const requested = (values.permissions ?? "")
      .split(",")
      .map((name) => name.trim())
      .filter(Boolean);
    const unknown = requested.filter((name) => !isPermission(name));
    if (unknown.length > 0) return { kind: "error", message: `unknown permission(s): ${unknown.join(", ")}` };
    permissions = requested.filter(isPermission);
  }
  const ttlSeconds = values.ttl === undefined ? (defaults.ttlSeconds ?? 12 * 3600) : Number(values.ttl);
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0 || ttlSeconds > maxTtlSeconds)
    return { kind: "error", message: `--ttl must be a whole number of seconds from 1 to ${maxTtlSeconds}` };
  const org = values.org === undefined ? (defaults.org ?? null) : values.org.trim() || null;
  return { kind: "token", sub, permissions, org, ttlSeconds };
}

function parseTokenOptions(args: readonly string[]) {
  return parseArgs({
    args: [...args],
    options: {
      sub: { type: "string" },
      permissions: { type: "string" },
      org: { type: "string" },
      ttl: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: false,
  });
}

/** A token for `request`, signed with `stack`'s secret; throws `LocalStackError` when it has none. */
export async function mintForStack(stack: LocalStack, request: TokenRequest): Promise<string> {
  return mintDevToken({
    secret: readLocalSecrets(stack).jwtSecret,
    sub: request.sub,
    permissions: request.permissions,
    org: request.org,
    ttlSeconds: request.ttlSeconds,
  });
}

/** One line for stderr: whose token, for how long, for which stack. */
export function describeToken(stack: LocalStack, request: TokenRequest): string {
  const until = new Date(Date.now() + request.ttlSeconds * 1000).toISOString().slice(0, 16).replace("T", " ");
  const who = `${request.sub}${request.org ? ` (org ${request.org})` : ""}`;
  const what = request.permissions.length > 0 ? request.permissions.join(", ") : "no permissions";
  const state = stack.running ? `pid ${stack.running.pid}` : "not running now";
  return `${who}; ${what}; valid until ${until} UTC; for the stack ${stackSettingsText(stack)} (${state})`;
}

const usage = `usage: npm run token -- --sub SUB --permissions P1,P2 [--org ORG] [--ttl SECONDS]
Prints a development token for the local stack (the running one; with several, PORT=… DATA_DIR=…
before the command say which). permissions: ${knownPermissions.join(", ")}`;

async function main(args: readonly string[]): Promise<number> {
  const parsed = parseTokenArgs(args);
  if (parsed.kind === "help") {
    console.log(usage);
    return 0;
  }
  if (parsed.kind === "error") {
    console.error(`error: ${parsed.message}\n${usage}`);
    return 2;
  }
  try {
    const stack = findLocalStack();
    console.log(await mintForStack(stack, parsed));
    console.error(`token for ${describeToken(stack, parsed)}`);
    return 0;
  } catch (error) {
    if (!(error instanceof LocalStackError)) throw error;
    console.error(`error: ${error.message}`);
    return 1;
  }
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
