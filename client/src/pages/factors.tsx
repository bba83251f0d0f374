// The factors help page (/factors): every active lens factor of GET /factors, grouped by category,
// with its description, method, inputs (each ETF linked to its symbol page), window and minimum
// observations, what an exposure of 1.0 means, its caveat and its unit — all worded by
// ../lib/factor-meaning.ts, the module the heatmap's row labels and the Universe's headers read
// too — then the risk lens of GET /risk/factors. Every factor has an anchor (`#<key>`, the risk
// lens `#risk-<key>`) so other screens can link to its entry.
import type { ComponentChildren, JSX } from "preact";
import { useLocation } from "preact-iso";
import { useEffect, useState } from "preact/hooks";
import { api, unwrap, type JsonBody } from "../api/client.ts";
import type { Factor } from "../api/types.ts";
import { Async, Card, ErrorNotice, Loading, Page } from "../components/ui.tsx";
import { exposureUnit, factorMeaning, factorSymbols, symbolParts } from "../lib/factor-meaning.ts";
import { useAsync } from "../state/use-async.ts";
import { loadFactors } from "./universe.tsx";
import "./factors.css";

type RiskFactors = JsonBody<Awaited<ReturnType<typeof api.risk.factors.$get>>>;
type RiskFactor = RiskFactors["factors"][number];

/** The categories in reading order, each with a line on what its factors have in common. */
const categories: readonly { key: Factor["category"]; title: string; about: (factors: Factor[]) => string }[] = [
  { key: "market", title: "Market", about: () => "How much the holding moves with the stock market as a whole." },
  {
    key: "rates",
    title: "Rates",
    about: () =>
      "How the holding moves with long-dated Treasury bonds: a positive loading gains when bond prices rise " +
      "(yields fall).",
  },
  {
    key: "style",
    title: "Style",
    about: (factors) =>
      `One joint ridge regression on the ${factors.length} style ETFs at once ` +
      `(${factors.flatMap(factorSymbols).join(", ")}): each loading is the move with that ETF while the others ` +
      "are held fixed. Every style ETF holds the market, so read these loadings beside each other, not alone.",
  },
  {
    key: "spread",
    title: "Spread",
    about: () =>
      "Separate regressions on a long-minus-short return: how the holding moves with one ETF's return beyond " +
      "another's. A spread loading says which leg the holding follows, not how much market it has.",
  },
];

/** The symbol page of an ETF the factors regress on. */
function symbolHref(symbol: string): string {
  return `/universe/${encodeURIComponent(symbol)}`;
}

/** Text with every named symbol linked to its symbol page. */
function WithSymbolLinks(props: { text: string; symbols: readonly string[] }): JSX.Element {
  return (
    <>
      {symbolParts(props.text, props.symbols).map((part, index) =>
        "symbol" in part ? (
          <a key={index} href={symbolHref(part.symbol)} title={`${part.symbol}: its prices, betas and metrics`}>
            {part.symbol}
          </a>
        ) : (
          part.text
        ),
      )}
    </>
  );
}

function Fact(props: { term: string; children: ComponentChildren }): JSX.Element {
  return (
    <div>
      <dt>{props.term}</dt>
      <dd>{props.children}</dd>
    </div>
  );
}

function FactorEntry(props: { factor: Factor; target: boolean }): JSX.Element {
  const { factor } = props;
  const meaning = factorMeaning(factor);
  const symbols = factorSymbols(factor);
  const headingId = `factor-${factor.key}-name`;
  return (
    <article
      id={factor.key}
      class={`factor-entry ${props.target ? "is-target" : ""}`}
      aria-labelledby={headingId}
      tabIndex={-1}
      data-factor={factor.key}
    >
      <h3 id={headingId}>
        {meaning.name} <span class="factor-key muted">{meaning.key}</span>
      </h3>
      <p class="factor-description">{meaning.description}</p>
      <dl class="factor-facts">
        <Fact term="An exposure of 1.0">{meaning.one}</Fact>
        <Fact term="Unit">{exposureUnit}</Fact>
        <Fact term="Inputs">
          <WithSymbolLinks text={`${meaning.inputs}.`} symbols={symbols} />
        </Fact>
        <Fact term="Window">
          <span data-testid="factor-window">Trailing {factor.window_days} calendar days</span>
        </Fact>
        <Fact term="Method">{meaning.method}</Fact>
        <Fact term="Minimum">
          <span data-testid="factor-min-observations">{factor.min_observations} daily observations</span>; fewer give no
          beta (shown as “Insufficient data”)
        </Fact>
        {meaning.caveat ? <Fact term="Caveat">{meaning.caveat}</Fact> : null}
      </dl>
    </article>
  );
}

function RiskLens(props: { body: RiskFactors; target: string | null }): JSX.Element {
  const { factors, settings } = props.body;
  const series = (factor: RiskFactor): string =>
    factor.short_symbol ? `${factor.long_symbol} minus ${factor.short_symbol}` : factor.long_symbol;
  return (
    <>
      <p>
        One joint least-squares regression per symbol on these {factors.length} daily return series at once, over the
        trailing {settings.window_days} calendar days with at least {settings.min_observations} observations. The series
        are chosen to be nearly independent, so their loadings add up into one variance and one P&amp;L: the Risk page's
        volatility, tracking error, attribution, stress propagation and hedges use this lens. The factor covariance is
        exponentially weighted (half-life {settings.half_life_days} trading days, over at most{" "}
        {settings.max_covariance_days} days) and annualized with {settings.annualization_days} trading days a year.
      </p>
      <div class="table-wrap">
        <table class="data risk-lens-table" aria-label="Risk lens factors">
          <thead>
            <tr>
              <th scope="col">Factor</th>
              <th scope="col">Daily return series</th>
              <th scope="col">What it is</th>
            </tr>
          </thead>
          <tbody>
            {factors.map((factor) => (
              <tr
                key={factor.key}
                id={`risk-${factor.key}`}
                tabIndex={-1}
                class={props.target === `risk-${factor.key}` ? "is-target" : ""}
              >
                <th scope="row">{factor.name}</th>
                <td>
                  <WithSymbolLinks
                    text={series(factor)}
                    symbols={[factor.long_symbol, ...(factor.short_symbol ? [factor.short_symbol] : [])]}
                  />
                </td>
                <td>{factor.description}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

/**
 * The element the URL's fragment names, once it is on the page: scrolled to, focused (so a
 * keyboard user continues from it) and marked. A link from another screen navigates without a
 * document load, so neither the browser's scroll nor `:target` would follow the fragment.
 */
function useFragmentTarget(ready: boolean): string | null {
  const location = useLocation();
  const [target, setTarget] = useState<string | null>(null);
  // The page's own "#…" links are left to the browser by the router: follow them too.
  const [hashChanges, setHashChanges] = useState(0);
  useEffect(() => {
    const changed = (): void => setHashChanges((count) => count + 1);
    window.addEventListener("hashchange", changed);
    return () => window.removeEventListener("hashchange", changed);
  }, []);
  useEffect(() => {
    if (!ready) return;
    const hash = window.location.hash.slice(1);
    let id = hash;
    try {
      id = decodeURIComponent(hash);
    } catch {
      // A malformed escape: look the fragment up as typed.
    }
    const element = id ? document.getElementById(id) : null;
    setTarget(element ? id : null);
    if (!element) return;
    element.scrollIntoView({ block: "start" });
    element.focus({ preventScroll: true });
  }, [ready, location.url, hashChanges]);
  return target;
}

export function FactorsPage(): JSX.Element {
  const factors = useAsync(() => loadFactors(), []);
  const risk = useAsync((signal) => unwrap(api.risk.factors.$get({ query: {} }, { init: { signal } })), []);
  const target = useFragmentTarget(factors.status === "ok" && risk.status !== "loading");
  const active = (factors.data ?? []).filter((factor) => factor.is_active);
  const inactive = (factors.data ?? []).filter((factor) => !factor.is_active);
  return (
    <Page
      title="Factors"
      subtitle="What each exposure means: how it is estimated, on which returns, over which window, and what 1.0 means"
    >
      <div class="factors-page">
        <Card class="factors-intro" label="How to read an exposure">
          <p>
            Every exposure on the dashboard is a <strong>{exposureUnit}</strong>: the slope of a regression of daily
            returns on a factor's daily returns. For a stock, 1.0 means it tends to move 1&nbsp;% when the factor moves
            1&nbsp;%; a portfolio's exposure weights its holdings' loadings by their share of equity. It is not a
            z-score, a rank or a portfolio weight.
          </p>
          <p>
            The {active.length > 0 ? active.length : ""} <strong>lens factors</strong> below are separate regressions
            (the style factors one joint regression). They overlap — the market is inside every style ETF, and the
            spreads reuse the same ETFs — so they are different views of one holding and{" "}
            <strong>cannot be added up</strong> into a total, a variance or a P&amp;L. The{" "}
            <a href="#risk-lens">risk lens</a> is built for that.
          </p>
          {active.length > 0 ? (
            <nav class="factors-toc" aria-label="Factor categories">
              {categories
                .filter((category) => active.some((factor) => factor.category === category.key))
                .map((category) => (
                  <a key={category.key} href={`#category-${category.key}`}>
                    {category.title}
                  </a>
                ))}
              <a href="#risk-lens">Risk lens</a>
            </nav>
          ) : null}
        </Card>

        <Async state={factors} what="factors">
          {() => (
            <>
              {categories.map((category) => {
                const members = active.filter((factor) => factor.category === category.key);
                if (members.length === 0) return null;
                return (
                  <section
                    key={category.key}
                    id={`category-${category.key}`}
                    class="factor-category"
                    aria-labelledby={`category-${category.key}-title`}
                    data-category={category.key}
                  >
                    <h2 id={`category-${category.key}-title`}>
                      {category.title}{" "}
                      <span class="muted">
                        · {members.length} {members.length === 1 ? "factor" : "factors"}
                      </span>
                    </h2>
                    <p class="muted">{category.about(members)}</p>
                    <div class="factor-entries">
                      {members.map((factor) => (
                        <FactorEntry key={factor.key} factor={factor} target={target === factor.key} />
                      ))}
                    </div>
                  </section>
                );
              })}
              {inactive.length > 0 ? (
                <p class="muted small">
                  Defined but inactive (not computed): {inactive.map((factor) => factor.name).join(", ")}.
                </p>
              ) : null}
            </>
          )}
        </Async>

        <section id="risk-lens" class="factor-category" aria-labelledby="risk-lens-title" tabIndex={-1}>
          <h2 id="risk-lens-title">Risk lens</h2>
          {risk.status === "error" ? (
            <ErrorNotice error={risk.error} retry={risk.reload} title="Could not load the risk lens" />
          ) : risk.data ? (
            <RiskLens body={risk.data} target={target} />
          ) : (
            <Loading what="risk lens" />
          )}
        </section>
      </div>
    </Page>
  );
}
