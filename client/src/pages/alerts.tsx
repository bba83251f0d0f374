// Alerts: every limit crossing of the visible portfolios, newest first (GET /alerts), filtered by
// portfolio, state and acknowledgement (state in the URL: `?portfolio=&state=&acknowledged=`), a page
// at a time ("Show older"). Each row says what the limit is now and whether the breach is ongoing,
// links to the portfolio's exposures and risk, and can be acknowledged (MANAGE_PORTFOLIOS). New
// alerts arrive live and reload the list; acknowledging updates the navigation's count.
import type { JSX } from "preact";
import { useLocation } from "preact-iso";
import { useEffect, useState } from "preact/hooks";
import type { AlertResponse } from "../../../.types/worker/api/limits";
import { api, authorizedFetch, unwrap } from "../api/client.ts";
import { Card, Empty, ErrorNotice, Loading, Page, TableWrap, download } from "../components/ui.tsx";
import { formatInstant } from "../lib/format.ts";
import { formatBounds, formatLimitValue, limitName } from "../lib/limit-view.ts";
import { onLive } from "../state/live.ts";
import { refreshAlerts } from "../state/alerts.ts";
import { can } from "../state/session.ts";
import { useAsync } from "../state/use-async.ts";
import "./alerts.css";

type StateFilter = "" | "breached" | "cleared";
type AcknowledgedFilter = "" | "true" | "false";

const pageSize = 50;

/** What evaluated the limit, in words (docs/api.md, "Limits and alerts"). */
const alertCauseText: Record<AlertResponse["cause"], string> = {
  batch: "daily batch",
  positions: "a position change",
  limit: "limit set or edited",
};

function filtersFrom(query: Record<string, string>) {
  const state: StateFilter = query["state"] === "breached" || query["state"] === "cleared" ? query["state"] : "";
  const acknowledged: AcknowledgedFilter =
    query["acknowledged"] === "true" || query["acknowledged"] === "false" ? query["acknowledged"] : "";
  return { portfolio: query["portfolio"] ?? "", state, acknowledged };
}

function AlertRow(props: { alert: AlertResponse; onAcknowledged: (alert: AlertResponse) => void }): JSX.Element {
  const { alert } = props;
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const encoded = encodeURIComponent(alert.portfolio_id);
  const acknowledge = async (): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      props.onAcknowledged(await unwrap(api.alerts[":id"].acknowledge.$post({ param: { id: alert.id } })));
      refreshAlerts();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  const current = alert.limit.current;
  return (
    <tr data-testid="alert-row" data-alert-id={alert.id} data-state={alert.state} data-ongoing={alert.ongoing}>
      <td>{alert.date}</td>
      <td>
        <a href={`/portfolios/${encoded}`}>{alert.portfolio_name}</a>
      </td>
      <td>
        <span class="alert-limit">{limitName(alert.limit)}</span>
        <span class="muted alert-detail">
          {alert.factor_key ? `${alert.factor_key} ` : ""}
          {alert.metric.replaceAll("_", " ")} {formatBounds(alert.metric, alert.min_value, alert.max_value)}
        </span>
      </td>
      <td class="num" data-value={alert.value ?? ""}>
        {formatLimitValue(alert.metric, alert.value)}
      </td>
      <td>
        <span class={`badge ${alert.state === "breached" ? "bad" : "ok"}`}>{alert.state}</span>
        {alert.ongoing ? <span class="badge warn alert-ongoing">ongoing</span> : null}
        <span class="muted alert-detail" title={current.reason ?? undefined}>
          now {formatLimitValue(alert.limit.metric, current.value)}
          {current.date ? ` (${current.date})` : ""}
        </span>
      </td>
      <td>
        {formatInstant(alert.created_at)}
        <span class="muted alert-detail">{alertCauseText[alert.cause]}</span>
      </td>
      <td>
        {alert.acknowledged_at ? (
          <span
            class="muted"
            data-testid="alert-acknowledged"
            title={`acknowledged ${formatInstant(alert.acknowledged_at)}`}
          >
            by {alert.acknowledged_by}
          </span>
        ) : can("MANAGE_PORTFOLIOS") ? (
          <button
            type="button"
            class="button small"
            disabled={busy}
            onClick={() => void acknowledge()}
            aria-label={`Acknowledge the ${alert.state} alert of ${limitName(alert.limit)} on ${alert.date}`}
          >
            {busy ? "Acknowledging…" : "Acknowledge"}
          </button>
        ) : (
          <span class="muted">not yet</span>
        )}
        {error ? <ErrorNotice error={error} title="Not acknowledged" /> : null}
      </td>
      <td class="alert-links">
        <a href={`/?portfolio=${encoded}`}>Exposures</a> <a href={`/risk?portfolio=${encoded}`}>Risk</a>
      </td>
    </tr>
  );
}

export function AlertsPage(): JSX.Element {
  const location = useLocation();
  const filters = filtersFrom(location.query);
  const setFilter = (key: "portfolio" | "state" | "acknowledged", value: string) => {
    const params = new URLSearchParams(location.query);
    if (value === "") params.delete(key);
    else params.set(key, value);
    const search = params.toString();
    location.route(`/alerts${search ? `?${search}` : ""}`, true);
  };
  const query = {
    ...(filters.portfolio ? { portfolio_id: filters.portfolio } : {}),
    ...(filters.state ? { state: filters.state } : {}),
    ...(filters.acknowledged ? { acknowledged: filters.acknowledged } : {}),
    limit: String(pageSize),
  };
  const portfolios = useAsync((signal) => unwrap(api.portfolios.$get({}, { init: { signal } })), []);
  const first = useAsync(
    (signal) => unwrap(api.alerts.$get({ query }, { init: { signal } })),
    [filters.portfolio, filters.state, filters.acknowledged],
  );
  // Older pages loaded with "Show older", and rows acknowledged here (kept until the next reload).
  const [older, setOlder] = useState<{ alerts: AlertResponse[]; cursor: string | null } | null>(null);
  const [changed, setChanged] = useState<Map<string, AlertResponse>>(new Map());
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [olderError, setOlderError] = useState<unknown>(null);
  useEffect(() => {
    setOlder(null);
    setChanged(new Map());
  }, [first.data]);

  // Live: a new alert of a subscribed portfolio reloads the first page, once a burst settles.
  const reloadFirst = first.reload;
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const stop = onLive((message) => {
      if (message.type !== "alert.raised" && message.type !== "alert.cleared") return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(reloadFirst, 300);
    });
    return () => {
      if (timer) clearTimeout(timer);
      stop();
    };
  }, [reloadFirst]);

  const rows = [...(first.data?.alerts ?? []), ...(older?.alerts ?? [])].map((alert) => changed.get(alert.id) ?? alert);
  const cursor = older ? older.cursor : (first.data?.next_cursor ?? null);
  const showOlder = async (): Promise<void> => {
    if (!cursor) return;
    setLoadingOlder(true);
    setOlderError(null);
    try {
      const page = await unwrap(api.alerts.$get({ query: { ...query, cursor } }));
      setOlder((previous) => ({ alerts: [...(previous?.alerts ?? []), ...page.alerts], cursor: page.next_cursor }));
    } catch (failure) {
      setOlderError(failure);
    } finally {
      setLoadingOlder(false);
    }
  };
  const downloadCsv = async (): Promise<void> => {
    const params = new URLSearchParams({ ...query, format: "csv" });
    const response = await authorizedFetch(`/api/v1/alerts?${params.toString()}`);
    download(await response.blob(), "alerts.csv");
  };

  return (
    <Page
      title="Alerts"
      subtitle="Each time a limit's number crossed its bounds, newest first. Limits are set on a portfolio's page."
      actions={
        <button type="button" class="button" disabled={rows.length === 0} onClick={() => void downloadCsv()}>
          Download CSV
        </button>
      }
    >
      {/* biome-ignore lint/a11y/useSemanticElements: a labelled group of filters styled as a toolbar */}
      <div class="toolbar" role="group" aria-label="Filters">
        <div class="field">
          <label for="alerts-portfolio">Portfolio</label>
          <select
            id="alerts-portfolio"
            value={filters.portfolio}
            onChange={(event) => setFilter("portfolio", event.currentTarget.value)}
          >
            <option value="">All portfolios</option>
            {(portfolios.data?.portfolios ?? []).map((portfolio) => (
              <option key={portfolio.id} value={portfolio.id}>
                {portfolio.name}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="alerts-state">State</label>
          <select
            id="alerts-state"
            value={filters.state}
            onChange={(event) => setFilter("state", event.currentTarget.value)}
          >
            <option value="">Breached and cleared</option>
            <option value="breached">Breached</option>
            <option value="cleared">Cleared</option>
          </select>
        </div>
        <div class="field">
          <label for="alerts-acknowledged">Acknowledged</label>
          <select
            id="alerts-acknowledged"
            value={filters.acknowledged}
            onChange={(event) => setFilter("acknowledged", event.currentTarget.value)}
          >
            <option value="">Either</option>
            <option value="false">Not acknowledged</option>
            <option value="true">Acknowledged</option>
          </select>
        </div>
      </div>
      <Card label="Alerts">
        {first.status === "error" ? (
          <ErrorNotice error={first.error} retry={first.reload} title="Could not load the alerts" />
        ) : null}
        {first.data === undefined ? (
          first.status === "loading" ? (
            <Loading what="the alerts" />
          ) : null
        ) : rows.length === 0 ? (
          <Empty>
            No alerts{filters.portfolio || filters.state || filters.acknowledged ? " match these filters" : " yet"}. Set
            limits on a <a href="/portfolios">portfolio's page</a>.
          </Empty>
        ) : (
          <TableWrap label="Limit alerts" busy={first.status === "loading"}>
            <table class="data alerts-table" data-testid="alerts-table">
              <caption class="visually-hidden">Limit alerts, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Date</th>
                  <th scope="col">Portfolio</th>
                  <th scope="col">Limit</th>
                  <th scope="col" class="num">
                    Value
                  </th>
                  <th scope="col">State</th>
                  <th scope="col">Recorded</th>
                  <th scope="col">Acknowledged</th>
                  <th scope="col">
                    <span class="visually-hidden">Links</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {rows.map((alert) => (
                  <AlertRow
                    key={alert.id}
                    alert={alert}
                    onAcknowledged={(updated) => setChanged((previous) => new Map(previous).set(updated.id, updated))}
                  />
                ))}
              </tbody>
            </table>
            {cursor ? (
              <button type="button" class="button small ghost" disabled={loadingOlder} onClick={() => void showOlder()}>
                {loadingOlder ? "Loading…" : "Show older"}
              </button>
            ) : null}
            {olderError ? <ErrorNotice error={olderError} title="Could not load older alerts" /> : null}
          </TableWrap>
        )}
      </Card>
    </Page>
  );
}
