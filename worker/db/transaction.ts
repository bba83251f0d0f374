import type { BatchItem, BatchResponse } from "drizzle-orm/batch";
import type { Database } from "./client.ts";

/**
 * Runs the statements as one transaction (libSQL batch): all of them or none. drizzle's
 * `batch` wants a non-empty tuple; an empty list is no work and returns no results.
 */
export async function runInTransaction<T extends BatchItem<"sqlite">>(db: Pick<Database, "batch">, statements: readonly T[]): Promise<BatchResponse<[T, ...T[]]>> {
  const [first, ...rest] = statements;
  if (!first) return [] as unknown as BatchResponse<[T, ...T[]]>;
  return db.batch([first, ...rest]);
}
