// The positions an aggregation left out, as one line that expands to a list: "3 positions left
// out: 1 unpriced, 1 expired, 1 without betas", then each symbol with its reason, the API's
// detail and, where known, its market value (read from a drill-down of the same date: the
// exposures' data_quality names positions, not values). Used near the heatmap and on a
// portfolio's page.
import type { JSX } from "preact";
import { api, unwrap } from "../api/client.ts";
import {
  leftOutGroupText,
  leftOutLine,
  leftOutSummary,
  leftOutValue,
  withValues,
  type DataQualityLike,
  type LeftOutGroup,
} from "../lib/data-quality.ts";
import { formatDollars } from "../lib/format.ts";
import { useAsync } from "../state/use-async.ts";
import { TableWrap } from "./ui.tsx";
import "./data-quality.css";

const kindTone: Record<LeftOutGroup["kind"], string> = {
  unpriced: "bad",
  expired: "warn",
  no_delta: "bad",
  no_betas: "warn",
  some_betas: "",
};

export function LeftOutNote(props: {
  portfolioId: string;
  quality: DataQualityLike;
  /** Active factor keys in display order (the first is drilled into for the values). */
  factorKeys: readonly string[];
  factorName?: (key: string) => string;
  /** Open the list at once (the portfolio page); the heatmap page keeps it to one line. */
  open?: boolean;
}): JSX.Element {
  const { quality, factorKeys } = props;
  const base = leftOutSummary(quality, factorKeys);
  const firstFactor = factorKeys[0];
  // The values: one drill-down of the same date (its rows and left-out rows carry market values).
  const drill = useAsync(
    (signal) =>
      base.total === 0 || firstFactor === undefined
        ? Promise.resolve(null)
        : unwrap(
            api.portfolios[":id"].exposures.stocks.$get(
              { param: { id: props.portfolioId }, query: { factor: firstFactor, date: quality.date } },
              { init: { signal } },
            ),
          ),
    [
      props.portfolioId,
      quality.date,
      firstFactor,
      base.total,
      quality.positions_excluded.length,
      quality.symbols_missing.length,
    ],
  );
  const summary = withValues(base, drill.data ?? null);
  const line = leftOutLine(summary);
  const publicHeld = quality.positions_total - quality.positions_private;
  const privateNote =
    quality.positions_private > 0
      ? quality.positions_private === 1
        ? " 1 private position has no public returns and is left out by design."
        : ` ${quality.positions_private} private positions have no public returns and are left out by design.`
      : "";

  if (line === null) {
    return (
      <p class="left-out-none muted small" data-testid="left-out">
        On {quality.date}: every one of the {publicHeld} public position{publicHeld === 1 ? "" : "s"} held had a price
        and betas.{privateNote}
      </p>
    );
  }
  const value = leftOutValue(summary);
  return (
    <details class="left-out" data-testid="left-out" open={props.open}>
      <summary>
        <span class="badge warn">Left out</span> <strong data-testid="left-out-line">{line}</strong>
        <span class="muted">
          {" "}
          · on {quality.date} · {publicHeld} public position{publicHeld === 1 ? "" : "s"} held
          {value !== null ? ` · ${formatDollars(value)} of known value` : ""}
        </span>
      </summary>
      <TableWrap label={`Positions left out on ${quality.date}`}>
        <table class="data left-out-table" aria-label={`Positions left out on ${quality.date}`}>
          <thead>
            <tr>
              <th scope="col">Symbol</th>
              <th scope="col" class="num">
                Positions
              </th>
              <th scope="col">Reason</th>
              <th scope="col">Detail</th>
            </tr>
          </thead>
          <tbody>
            {summary.groups.map((group) => (
              <tr
                key={`${group.symbol}-${group.reason}-${group.positionIds[0] ?? ""}`}
                data-reason={group.reason}
                data-kind={group.kind}
              >
                <th scope="row">
                  <a href={`/universe/${encodeURIComponent(group.symbol)}`}>{group.symbol}</a>
                </th>
                <td class="num">{group.positionIds.length}</td>
                <td>
                  <span class={`badge ${kindTone[group.kind]}`}>{leftOutGroupText(group, props.factorName)}</span>
                </td>
                <td class="wrap muted">
                  {group.detail ||
                    (group.value === null && (group.kind === "unpriced" || group.kind === "expired") ? "no value" : "")}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>
      {privateNote ? <p class="muted small">{privateNote.trim()}</p> : null}
    </details>
  );
}
