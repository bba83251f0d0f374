import { defineConfig } from "drizzle-kit";

// `npm run db:generate` diffs schema/ against the last snapshot and writes a new SQL
// migration to schema/migrations (committed). Applying them is `npm run db:migrate`.
export default defineConfig({
  dialect: "turso",
  schema: "./schema/index.ts",
  out: "./schema/migrations",
  strict: true,
  verbose: true,
});
