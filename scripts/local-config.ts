// Settings of the local stack (`npm start`, `npm run db:*`), overridable by environment.
// Local secrets are generated once and kept in .data/ (git-ignored), so restarts keep
// working tokens and the database stays protected by a bearer token as in production.
import { randomBytes } from "node:crypto";
import { createConnection } from "node:net";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

export const projectRoot = fileURLToPath(new URL("..", import.meta.url));
export const dataDir = path.resolve(projectRoot, process.env["DATA_DIR"] ?? ".data");

export const localPorts = {
  libsql: Number(process.env["LIBSQL_PORT"] ?? 8080),
  worker: Number(process.env["PORT"] ?? 8787),
};

/** Whether something accepts connections on 127.0.0.1:`port`. */
export async function isPortOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

export const localDatabasePath = path.join(dataDir, "factor.db");

export function localDatabaseUrl(): string {
  return `http://127.0.0.1:${localPorts.libsql}`;
}

export interface LocalSecrets {
  libsqlAuthToken: string;
  jwtSecret: string;
}

export function loadLocalSecrets(): LocalSecrets {
  const file = path.join(dataDir, "local-secrets.json");
  if (existsSync(file)) {
    // Owner-only, also for a file an older version wrote with the default mode.
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
    const parsed: unknown = JSON.parse(readFileSync(file, "utf8"));
    if (isLocalSecrets(parsed)) return parsed;
    throw new Error(`${file} is not valid; delete it to generate new local secrets`);
  }
  // The data directory holds the secrets and the database: owner-only when created here.
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const secrets: LocalSecrets = {
    libsqlAuthToken: randomBytes(24).toString("base64url"),
    jwtSecret: randomBytes(32).toString("base64url"),
  };
  writeFileSync(file, JSON.stringify(secrets, null, 2) + "\n", { mode: 0o600 });
  return secrets;
}

function isLocalSecrets(value: unknown): value is LocalSecrets {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as Record<string, unknown>)["libsqlAuthToken"] === "string" &&
    typeof (value as Record<string, unknown>)["jwtSecret"] === "string"
  );
}

export interface DatabaseTarget {
  url: string;
  authToken: string | undefined;
}

/** Where scripts write: TURSO_DATABASE_URL (+ TURSO_AUTH_TOKEN) when set, else the local server. */
export function databaseTarget(): DatabaseTarget {
  const url = process.env["TURSO_DATABASE_URL"];
  if (url) return { url, authToken: process.env["TURSO_AUTH_TOKEN"] || undefined };
  return { url: localDatabaseUrl(), authToken: loadLocalSecrets().libsqlAuthToken };
}
