// Portfolios: the caller's (and, with VIEW_ALL_POSITIONS, its org's) portfolios with their
// benchmark, cash and positions held today; creating one (MANAGE_PORTFOLIOS) and deleting one
// the caller owns, after a confirmation in the row. Each name opens /portfolios/:id.
import type { JSX } from "preact";
import { useLocation } from "preact-iso";
import { useState } from "preact/hooks";
import type { PortfolioResponse, PositionResponse } from "../../../.types/worker/api/portfolios";
import { api, unwrap } from "../api/client.ts";
import { Async, Card, ConfirmDelete, Empty, ErrorNotice, Field, Page, TableWrap } from "../components/ui.tsx";
import { formatMoney, missing } from "../lib/format.ts";
import { can } from "../state/session.ts";
import { checkPortfolioFields, heldOn, splitIssues, todayIso } from "./portfolio-shared.ts";
import { useAsync } from "../state/use-async.ts";
import "./portfolios.css";

interface Draft {
  name: string;
  cash: string;
  benchmark: string;
}

const emptyDraft: Draft = { name: "", cash: "", benchmark: "SPY" };

function CreatePortfolio(props: { onCreated: (portfolio: PortfolioResponse) => void }): JSX.Element {
  const [draft, setDraft] = useState<Draft>(emptyDraft);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [localErrors, setLocalErrors] = useState<Record<string, string>>({});
  const { byField, rest } = splitIssues(error, ["name", "cash", "benchmark_symbol"]);
  const errors = { ...byField, ...localErrors };

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    const { problems, cash } = checkPortfolioFields(draft.name, draft.cash, false);
    setLocalErrors(problems);
    setError(null);
    if (Object.keys(problems).length > 0) return;
    setBusy(true);
    try {
      const created = await unwrap(
        api.portfolios.$post({
          json: {
            name: draft.name.trim(),
            ...(cash !== undefined ? { cash } : {}),
            ...(draft.benchmark.trim() ? { benchmark_symbol: draft.benchmark.trim().toUpperCase() } : {}),
          },
        }),
      );
      setDraft(emptyDraft);
      props.onCreated(created);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };

  const set = (key: keyof Draft) => (event: Event) => {
    const value = (event.currentTarget as HTMLInputElement).value;
    setDraft((previous) => ({ ...previous, [key]: value }));
  };

  return (
    <Card title="New portfolio" label="New portfolio">
      <form class="form-row" onSubmit={submit} aria-label="Create portfolio" noValidate>
        {rest ? <ErrorNotice error={rest} title="Could not create the portfolio" /> : null}
        <Field
          label="Name"
          id="new-portfolio-name"
          value={draft.name}
          onInput={set("name")}
          error={errors["name"]}
          required
          maxLength={100}
          autoComplete="off"
        />
        <Field
          label="Cash ($)"
          id="new-portfolio-cash"
          type="number"
          step="any"
          inputMode="decimal"
          placeholder="0"
          value={draft.cash}
          onInput={set("cash")}
          error={errors["cash"]}
          hint="Negative for a margin loan"
        />
        <Field
          label="Benchmark"
          id="new-portfolio-benchmark"
          value={draft.benchmark}
          onInput={set("benchmark")}
          error={errors["benchmark_symbol"]}
          hint="A universe symbol: SPY, QQQ, IWM…"
          autoComplete="off"
          spellcheck={false}
          class="upper"
        />
        <div class="form-submit">
          <button type="submit" class="button primary" disabled={busy}>
            {busy ? "Creating…" : "Create portfolio"}
          </button>
        </div>
      </form>
    </Card>
  );
}

function PositionCount(props: { positions: readonly PositionResponse[] | undefined; failed: boolean }): JSX.Element {
  if (!props.positions)
    return (
      <span class="muted" title={props.failed ? "The positions could not be read" : "Loading"}>
        {missing}
      </span>
    );
  const today = todayIso();
  const open = props.positions.filter((position) => heldOn(position, today)).length;
  const other = props.positions.length - open;
  return (
    <span title={`${open} held today, ${props.positions.length} in all (closed or not yet opened included)`}>
      {open}
      {other > 0 ? <span class="muted small"> (+{other})</span> : null}
    </span>
  );
}

function DeleteControl(props: { portfolio: PortfolioResponse; onDeleted: () => void }): JSX.Element {
  const { portfolio } = props;
  return (
    <ConfirmDelete
      what={portfolio.name}
      buttonLabel={`Delete ${portfolio.name}`}
      question="Delete it with its positions and results?"
      remove={() => unwrap(api.portfolios[":id"].$delete({ param: { id: portfolio.id } }))}
      onDeleted={props.onDeleted}
    />
  );
}

export function PortfoliosPage(): JSX.Element {
  const { route } = useLocation();
  const list = useAsync((signal) => unwrap(api.portfolios.$get({}, { init: { signal } })), []);
  const ids = list.data?.portfolios.map((portfolio) => portfolio.id) ?? [];
  const counts = useAsync(
    async (signal) => {
      const answers = await Promise.allSettled(
        ids.map((id) =>
          unwrap(api.portfolios[":id"].positions.$get({ param: { id }, query: {} }, { init: { signal } })),
        ),
      );
      return new Map(
        ids.map((id, index) => [
          id,
          answers[index]?.status === "fulfilled" ? answers[index].value.positions : undefined,
        ]),
      );
    },
    [ids.join(",")],
  );
  const manage = can("MANAGE_PORTFOLIOS");

  return (
    <Page
      title="Portfolios"
      subtitle="Holdings, cash and benchmark of each portfolio. Open one to edit its positions or import them from CSV."
    >
      {manage ? (
        <CreatePortfolio onCreated={(created) => route(`/portfolios/${encodeURIComponent(created.id)}`)} />
      ) : null}
      <Card
        title={
          list.data
            ? `${list.data.portfolios.length} portfolio${list.data.portfolios.length === 1 ? "" : "s"}`
            : "Portfolios"
        }
        label="Portfolio list"
      >
        <Async state={list} what="portfolios">
          {(data) =>
            data.portfolios.length === 0 ? (
              <Empty>{manage ? "No portfolios yet: create one above." : "No portfolios are visible to you."}</Empty>
            ) : (
              <TableWrap label="Portfolio table">
                <table class="data" data-testid="portfolio-table">
                  <caption class="visually-hidden">Portfolios</caption>
                  <thead>
                    <tr>
                      <th scope="col">Name</th>
                      <th scope="col">ID</th>
                      <th scope="col">Benchmark</th>
                      <th scope="col" class="num">
                        Cash
                      </th>
                      <th scope="col" class="num" title="Held today (+ closed or future positions)">
                        Positions
                      </th>
                      <th scope="col">Owner</th>
                      <th scope="col">Access</th>
                      {manage ? (
                        <th scope="col">
                          <span class="visually-hidden">Actions</span>
                        </th>
                      ) : null}
                    </tr>
                  </thead>
                  <tbody>
                    {data.portfolios.map((portfolio) => (
                      <tr key={portfolio.id} data-portfolio-id={portfolio.id}>
                        <td>
                          <a href={`/portfolios/${encodeURIComponent(portfolio.id)}`}>{portfolio.name}</a>
                        </td>
                        <td>
                          <code class="id">{portfolio.id}</code>
                        </td>
                        <td>{portfolio.benchmark_symbol}</td>
                        <td class="num">{formatMoney(portfolio.cash)}</td>
                        <td class="num">
                          <PositionCount
                            positions={counts.data?.get(portfolio.id)}
                            failed={
                              counts.status === "error" || (counts.status === "ok" && !counts.data.get(portfolio.id))
                            }
                          />
                        </td>
                        <td>
                          {portfolio.owner}
                          {portfolio.org ? <span class="muted"> · {portfolio.org}</span> : null}
                        </td>
                        <td>
                          {portfolio.writable ? (
                            <span class="badge ok">owner</span>
                          ) : (
                            <span class="badge">read-only</span>
                          )}
                        </td>
                        {manage ? (
                          <td class="actions">
                            {portfolio.writable ? (
                              <DeleteControl portfolio={portfolio} onDeleted={list.reload} />
                            ) : null}
                          </td>
                        ) : null}
                      </tr>
                    ))}
                  </tbody>
                </table>
              </TableWrap>
            )
          }
        </Async>
      </Card>
    </Page>
  );
}
