// The stocks behind one heatmap cell: each holding's weight × delta × beta = contribution,
// sorted by the size of the contribution (the API's order), with totals that sum to the cell,
// and the holdings left out with their reasons.
import type { JSX } from "preact";
import { api, authorizedFetch, unwrap } from "../api/client.ts";
import type { DrillDown } from "../api/types.ts";
import { formatDollars, formatExposure, formatPercent } from "../lib/format.ts";
import { useAsync } from "../state/use-async.ts";
import { Async, Card, download } from "./ui.tsx";

export interface DrillDownTarget {
  portfolioId: string;
  portfolioName: string;
  factorKey: string;
  factorName: string;
  date: string;
}

export function DrillDownPanel(props: { target: DrillDownTarget; onClose: () => void }): JSX.Element {
  const { portfolioId, factorKey, date } = props.target;
  const state = useAsync(() => unwrap(api.portfolios[":id"].exposures.stocks.$get({ param: { id: portfolioId }, query: { factor: factorKey, date } })), [portfolioId, factorKey, date]);

  const exportCsv = async (): Promise<void> => {
    const query = new URLSearchParams({ factor: factorKey, date, format: "csv" });
    const response = await authorizedFetch(`/api/v1/portfolios/${encodeURIComponent(portfolioId)}/exposures/stocks?${query}`);
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
  return (
    <>
      <p class="muted small" data-testid="drill-down-summary">
        Exposure {formatExposure(data.exposure)} ({formatDollars(data.exposure_dollar)}), coverage {formatPercent(data.coverage)}, equity {formatDollars(data.equity)}.
        {data.weights_available ? "" : " Weights are not available (equity is not positive); contributions are shown in dollars only."}
      </p>
      <div class="table-wrap">
        <table class="data" data-testid="drill-down-table">
          <thead>
            <tr>
              <th scope="col">Symbol</th>
              <th scope="col">Instrument</th>
              <th scope="col" class="num">Weight</th>
              <th scope="col" class="num">Delta</th>
              <th scope="col" class="num">Beta</th>
              <th scope="col" class="num">Contribution</th>
              <th scope="col" class="num">Contribution $</th>
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
      {data.missing.length > 0 ? (
        <details class="missing-list">
          <summary>
            {data.missing.length} holding{data.missing.length === 1 ? "" : "s"} without a beta (left out of the total)
          </summary>
          <ul>
            {data.missing.map((item) => (
              <li key={`${item.symbol}-${item.position_ids.join(",")}`}>
                <strong>{item.symbol}</strong> ({formatPercent(item.weight, 2)}): {item.reason} — {item.detail}
              </li>
            ))}
          </ul>
        </details>
      ) : null}
    </>
  );
}
