// The stocks behind one heatmap cell: each holding's weight × delta × beta = contribution,
// sorted by the size of the contribution (the API's order), with totals that sum to the cell,
// and the holdings left out with their reasons.
import type { JSX } from "preact";
import { api, authorizedFetch, unwrap } from "../api/client.ts";
import type { DrillDown } from "../api/types.ts";
import { drillDownCoverage, reasonLabel } from "../lib/data-quality.ts";
import { formatDollars, formatExposure, formatPercent } from "../lib/format.ts";
import { useAsync } from "../state/use-async.ts";
import { Async, Card, download } from "./ui.tsx";
import "./data-quality.css";

export interface DrillDownTarget {
  portfolioId: string;
  portfolioName: string;
  factorKey: string;
  factorName: string;
  date: string;
}

export function DrillDownPanel(props: { target: DrillDownTarget; onClose: () => void }): JSX.Element {
  const { portfolioId, factorKey, date } = props.target;
  const state = useAsync(
    () =>
      unwrap(
        api.portfolios[":id"].exposures.stocks.$get({ param: { id: portfolioId }, query: { factor: factorKey, date } }),
      ),
    [portfolioId, factorKey, date],
  );

  const exportCsv = async (): Promise<void> => {
    const query = new URLSearchParams({ factor: factorKey, date, format: "csv" });
    const response = await authorizedFetch(
      `/api/v1/portfolios/${encodeURIComponent(portfolioId)}/exposures/stocks?${query}`,
    );
    download(await response.blob(), `drill-down-${portfolioId}-${factorKey}-${date}.csv`);
  };

  return (
    <Card
      class="drill-down"
      label="Drill-down"
      title={
        <>
          {props.target.factorName} · {props.target.portfolioName} · {date}
        </>
      }
      actions={
        <>
          <button type="button" class="button small" onClick={() => void exportCsv()}>
            Export CSV
          </button>
          <button type="button" class="button small ghost" onClick={props.onClose} aria-label="Close the drill-down">
            Close
          </button>
        </>
      }
    >
      <Async state={state} what="the stocks behind this cell">
        {(data) => <DrillDownTable data={data} />}
      </Async>
    </Card>
  );
}

function DrillDownTable(props: { data: DrillDown }): JSX.Element {
  const { data } = props;
  const coverage = drillDownCoverage(data);
  const leftOut = data.missing.reduce((sum, item) => sum + item.position_ids.length, 0);
  return (
    <>
      <p class="muted small" data-testid="drill-down-summary">
        Exposure {formatExposure(data.exposure)} ({formatDollars(data.exposure_dollar)}), coverage{" "}
        <span data-testid="drill-down-coverage">{coverage.text}</span>, equity {formatDollars(data.equity)}.
        {data.weights_available
          ? ""
          : " Weights are not available (equity is not positive); contributions are shown in dollars only."}
      </p>
      <div class="table-wrap">
        <table class="data" data-testid="drill-down-table">
          <thead>
            <tr>
              <th scope="col">Symbol</th>
              <th scope="col">Instrument</th>
              <th scope="col" class="num">
                Weight
              </th>
              <th scope="col" class="num">
                Delta
              </th>
              <th scope="col" class="num">
                Beta
              </th>
              <th scope="col" class="num">
                Contribution
              </th>
              <th scope="col" class="num">
                Contribution $
              </th>
            </tr>
          </thead>
          <tbody>
            {data.rows.map((row) => (
              <tr key={`${row.symbol}-${row.position_ids.join(",")}`}>
                <td>
                  <a href={`/universe/${encodeURIComponent(row.beta_symbol)}`}>{row.symbol}</a>
                  {row.beta_symbol !== row.symbol ? <span class="muted small"> (β of {row.beta_symbol})</span> : null}
                </td>
                <td>{row.instrument}</td>
                <td class="num">{formatPercent(row.weight, 2)}</td>
                <td class="num">{formatExposure(row.delta, 2)}</td>
                <td class="num">{formatExposure(row.beta)}</td>
                <td class="num" data-contribution={row.contribution ?? ""}>
                  {formatExposure(row.contribution, 4)}
                </td>
                <td class="num">{formatDollars(row.contribution_dollar)}</td>
              </tr>
            ))}
          </tbody>
          {data.missing.length > 0 ? (
            <tbody class="left-out-rows" data-testid="drill-down-left-out">
              <tr class="group-row">
                <th scope="rowgroup" colSpan={7}>
                  Left out of the total: {leftOut} position{leftOut === 1 ? "" : "s"} without a beta for this factor
                </th>
              </tr>
              {data.missing.map((item) => (
                <tr
                  key={`${item.symbol}-${item.reason}-${item.position_ids.join(",")}`}
                  class="left-out-row"
                  data-reason={item.reason}
                >
                  <td>
                    <a href={`/universe/${encodeURIComponent(item.beta_symbol)}`}>{item.symbol}</a>
                    {item.beta_symbol !== item.symbol ? (
                      <span class="muted small"> (β of {item.beta_symbol})</span>
                    ) : null}
                    {item.position_ids.length > 1 ? (
                      <span class="muted small"> ×{item.position_ids.length}</span>
                    ) : null}
                  </td>
                  <td>{item.instrument}</td>
                  <td class="num">
                    {item.weight === null ? <span class="muted">no weight</span> : formatPercent(item.weight, 2)}
                  </td>
                  <td colSpan={3} class="reason" title={item.detail || undefined}>
                    <strong>{reasonLabel(item.reason)}</strong>
                    {item.detail ? <span class="muted">: {item.detail}</span> : null}
                  </td>
                  <td class="num" title="Market value (not counted)">
                    {item.market_value === null ? (
                      <span class="muted">no value</span>
                    ) : (
                      <span class="muted">{formatDollars(item.market_value)}</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          ) : null}
          <tfoot>
            <tr>
              <td colSpan={2}>Total ({data.rows.length} holdings)</td>
              <td class="num">{formatPercent(data.totals.weight, 2)}</td>
              <td />
              <td />
              <td class="num" data-testid="drill-down-total" data-total={data.totals.contribution ?? ""}>
                {formatExposure(data.totals.contribution, 4)}
              </td>
              <td class="num">{formatDollars(data.totals.contribution_dollar)}</td>
            </tr>
          </tfoot>
        </table>
      </div>
    </>
  );
}
