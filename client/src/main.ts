// Placeholder dashboard: shows the service's health until the Preact app replaces it.
interface HealthView {
  status?: string;
  db?: string;
  live?: string;
  version?: string;
  migrations?: { applied: number; expected: number; pending: string[] } | null;
  error?: { code: string; message: string };
}

function show(field: string, text: string, state?: "ok" | "bad"): void {
  const element = document.querySelector<HTMLElement>(`#health [data-field="${field}"]`);
  if (!element) return;
  element.textContent = text;
  if (state) element.dataset["state"] = state;
  else delete element.dataset["state"];
}

async function refreshHealth(): Promise<void> {
  try {
    const response = await fetch("/api/v1/health", { headers: { accept: "application/json" } });
    const health = (await response.json()) as HealthView;
    show("status", health.status ?? `HTTP ${response.status}`, health.status === "ok" ? "ok" : "bad");
    show("db", health.db ?? "unknown", health.db === "ok" ? "ok" : "bad");
    const migrations = health.migrations;
    show(
      "migrations",
      migrations ? `${migrations.applied} of ${migrations.expected} applied` : "unknown",
      migrations && migrations.pending.length === 0 ? "ok" : "bad",
    );
    show("live", health.live ?? "unknown", health.live === "ok" ? "ok" : "bad");
    show("version", health.version ?? "unknown");
  } catch (error) {
    show("status", `unreachable (${error instanceof Error ? error.message : String(error)})`, "bad");
  }
}

void refreshHealth();
setInterval(() => void refreshHealth(), 10_000);
