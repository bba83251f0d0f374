// Migration 0011 (schema/migrations/0011_webhook_delivery_per_raise.sql) on a database that
// already holds deliveries: each keeps the alert's created_at its stored body carries, and the
// new key lets a raise of the same alert again be a delivery of its own, never the same raise twice.
import { readdirSync, readFileSync } from "node:fs";
import Database from "libsql";
import { describe, expect, it } from "vitest";

const directory = new URL("../../schema/migrations/", import.meta.url);
const migration = "0011_webhook_delivery_per_raise.sql";

function apply(db: Database.Database, file: string): void {
  const source = readFileSync(new URL(file, directory), "utf8");
  for (const statement of source.split("--> statement-breakpoint")) if (statement.trim()) db.exec(statement);
}

describe("migration 0011: a webhook delivery per raise of an alert", () => {
  it("fills alert_created_at from each stored body, and keys deliveries by (webhook, alert, raise)", () => {
    const db = new Database(":memory:");
    const files = readdirSync(directory)
      .filter((file) => file.endsWith(".sql"))
      .sort();
    for (const file of files.filter((name) => name < migration)) apply(db, file);
    db.exec("pragma foreign_keys = off");
    const insert = db.prepare(
      "insert into webhook_deliveries (id, webhook_id, alert_id, event, body) values (?, 'w1', ?, 'alert.raised', ?)",
    );
    const raisedAt = "2026-06-15T10:00:00.123Z";
    insert.run("d1", "a1", JSON.stringify({ id: "d1", alert: { id: "a1", created_at: raisedAt } }));
    insert.run("d2", "a2", JSON.stringify({ id: "d2", event: "ping" }));
    insert.run("d3", "a3", "not json");

    apply(db, migration);

    expect(db.prepare("select id, alert_created_at from webhook_deliveries order by id").all()).toEqual([
      { id: "d1", alert_created_at: raisedAt },
      { id: "d2", alert_created_at: "" },
      { id: "d3", alert_created_at: "" },
    ]);
    const raise = db.prepare(
      "insert into webhook_deliveries (id, webhook_id, alert_id, alert_created_at, event, body) " +
        "values (?, 'w1', 'a1', ?, 'alert.raised', '{}') on conflict do nothing",
    );
    // The same raise again inserts nothing; a later raise of the same alert is a new delivery.
    expect(raise.run("d4", raisedAt).changes).toBe(0);
    expect(raise.run("d5", "2026-06-15T11:30:00.000Z").changes).toBe(1);
    db.close();
  });
});
