// The shell: routing (preact-iso), the permission-aware menu (with the alerts' count), the live
// connection's state, the live alerts' toasts, and sign-in. Without a session every route shows
// the sign-in page; a 401 anywhere signs out.
import { useSignalEffect } from "@preact/signals";
import type { JSX } from "preact";
import { LocationProvider, Route, Router, useLocation } from "preact-iso";
import { useEffect } from "preact/hooks";
import { can, session, signOut, type Permission } from "./state/session.ts";
import { connectionState, lastError, nextAttemptAt, reconnectNow, syncConnectionWithSession } from "./state/live.ts";
import { alertSummary, syncAlertsWithSession } from "./state/alerts.ts";
import { AlertToasts } from "./components/toast.tsx";
import { formatInstant } from "./lib/format.ts";
import { Who } from "./components/who.tsx";
import { AlertsPage } from "./pages/alerts.tsx";
import { SignInPage } from "./pages/signin.tsx";
import { ExposuresPage } from "./pages/exposures.tsx";
import { UniversePage } from "./pages/universe.tsx";
import { SymbolPage } from "./pages/symbol.tsx";
import { StressPage } from "./pages/stress.tsx";
import { RiskPage } from "./pages/risk.tsx";
import { WhatIfPage } from "./pages/what-if.tsx";
import { PortfoliosPage } from "./pages/portfolios.tsx";
import { PortfolioPage } from "./pages/portfolio.tsx";
import { BatchPage } from "./pages/batch.tsx";
import { FactorsPage } from "./pages/factors.tsx";
import { NotFoundPage } from "./pages/not-found.tsx";

interface MenuItem {
  href: string;
  label: string;
  permission: Permission;
}

const menu: readonly MenuItem[] = [
  { href: "/", label: "Exposures", permission: "VIEW_FACTOR_ANALYTICS" },
  { href: "/universe", label: "Universe", permission: "VIEW_FACTOR_ANALYTICS" },
  { href: "/risk", label: "Risk", permission: "VIEW_FACTOR_ANALYTICS" },
  { href: "/stress", label: "Stress", permission: "VIEW_FACTOR_ANALYTICS" },
  { href: "/what-if", label: "What-if", permission: "VIEW_FACTOR_ANALYTICS" },
  { href: "/portfolios", label: "Portfolios", permission: "VIEW_FACTOR_ANALYTICS" },
  { href: "/alerts", label: "Alerts", permission: "VIEW_FACTOR_ANALYTICS" },
  { href: "/factors", label: "Factors", permission: "VIEW_FACTOR_ANALYTICS" },
  { href: "/batch", label: "Batch", permission: "RUN_BATCH" },
];

function isCurrent(href: string, path: string): boolean {
  return href === "/" ? path === "/" : path === href || path.startsWith(`${href}/`);
}

const stateLabels = {
  idle: "Live: off",
  connecting: "Live: connecting",
  open: "Live",
  reconnecting: "Live: reconnecting",
  offline: "Live: offline",
} as const;

function ConnectionPill(): JSX.Element {
  const state = connectionState.value;
  const retryIn = nextAttemptAt.value ? Math.max(0, Math.round((nextAttemptAt.value - Date.now()) / 1000)) : null;
  const title =
    state === "open"
      ? "Updates arrive as they happen"
      : `${lastError.value ?? "not connected"}${retryIn !== null ? `; retrying in ${retryIn} s` : ""}`;
  return (
    <div class="connection" data-state={state} role="status" aria-live="polite" title={title}>
      <span class="dot" aria-hidden="true" />
      <span data-testid="connection-state">{stateLabels[state]}</span>
      {state === "reconnecting" || state === "offline" ? (
        <button type="button" class="link-button" onClick={reconnectNow}>
          Retry now
        </button>
      ) : null}
    </div>
  );
}

/** Unacknowledged ongoing breaches of the visible portfolios (../state/alerts.ts), live; nothing at 0. */
function AlertBadge(): JSX.Element | null {
  const count = alertSummary.value?.unacknowledged_breaches ?? 0;
  if (count === 0) return null;
  return (
    <span class="nav-badge" data-testid="alerts-badge" data-count={count}>
      {count}
      <span class="visually-hidden"> unacknowledged {count === 1 ? "breach" : "breaches"}</span>
    </span>
  );
}

function Header(): JSX.Element {
  const { path } = useLocation();
  const current = session.value;
  return (
    <header class="topbar">
      <a class="brand" href="/">
        <span class="brand-mark" aria-hidden="true">
          β
        </span>{" "}
        Factor Exposure
      </a>
      <nav aria-label="Main">
        <ul>
          {menu
            .filter((item) => can(item.permission))
            .map((item) => (
              <li key={item.href}>
                <a href={item.href} aria-current={isCurrent(item.href, path) ? "page" : undefined}>
                  {item.label}
                  {item.href === "/alerts" ? <AlertBadge /> : null}
                </a>
              </li>
            ))}
        </ul>
      </nav>
      <div class="topbar-end">
        <ConnectionPill />
        {current ? <Who session={current} /> : null}
        <button type="button" class="button small ghost" onClick={() => signOut(null)}>
          Sign out
        </button>
      </div>
    </header>
  );
}

/** A route the caller's token does not allow. */
function Forbidden(props: { permission: Permission }): JSX.Element {
  return (
    <section class="page">
      <h1>Not available</h1>
      <p>
        This page needs the <code>{props.permission}</code> permission, which your token does not carry.
      </p>
    </section>
  );
}

function guarded<P>(permission: Permission, Component: (props: P) => JSX.Element): (props: P) => JSX.Element {
  return (props: P) =>
    can(permission) ? <Component {...(props as P & JSX.IntrinsicAttributes)} /> : <Forbidden permission={permission} />;
}

const Exposures = guarded("VIEW_FACTOR_ANALYTICS", ExposuresPage);
const Universe = guarded("VIEW_FACTOR_ANALYTICS", UniversePage);
const SymbolDetail = guarded("VIEW_FACTOR_ANALYTICS", SymbolPage);
const Stress = guarded("VIEW_FACTOR_ANALYTICS", StressPage);
const Risk = guarded("VIEW_FACTOR_ANALYTICS", RiskPage);
const WhatIf = guarded("VIEW_FACTOR_ANALYTICS", WhatIfPage);
const Portfolios = guarded("VIEW_FACTOR_ANALYTICS", PortfoliosPage);
const PortfolioDetail = guarded("VIEW_FACTOR_ANALYTICS", PortfolioPage);
const Batch = guarded("RUN_BATCH", BatchPage);
const Alerts = guarded("VIEW_FACTOR_ANALYTICS", AlertsPage);
const Factors = guarded("VIEW_FACTOR_ANALYTICS", FactorsPage);

function SignedIn(): JSX.Element {
  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <Header />
      <main id="main" tabIndex={-1}>
        <Router>
          <Route path="/" component={Exposures} />
          <Route path="/universe" component={Universe} />
          <Route path="/universe/:symbol" component={SymbolDetail} />
          <Route path="/risk" component={Risk} />
          <Route path="/stress" component={Stress} />
          <Route path="/what-if" component={WhatIf} />
          <Route path="/portfolios" component={Portfolios} />
          <Route path="/portfolios/:id" component={PortfolioDetail} />
          <Route path="/alerts" component={Alerts} />
          <Route path="/batch" component={Batch} />
          <Route path="/factors" component={Factors} />
          <Route default component={NotFoundPage} />
        </Router>
      </main>
      <AlertToasts />
    </>
  );
}

export function App(): JSX.Element {
  useSignalEffect(() => {
    void session.value;
    syncConnectionWithSession();
    syncAlertsWithSession();
  });
  useEffect(() => {
    // A token that expires while the page is open signs out at that moment.
    const current = session.value;
    if (!current) return;
    const timer = setTimeout(
      () => signOut(`Signed out: the token expired at ${formatInstant(current.expiresAt)}.`),
      Math.max(0, current.expiresAt - Date.now()),
    );
    return () => clearTimeout(timer);
  }, [session.value]);
  return <LocationProvider>{session.value ? <SignedIn /> : <SignInPage />}</LocationProvider>;
}
