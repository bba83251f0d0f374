// The drill-down's reconciliation fields (GET /portfolios/:id/exposures/stocks): the portfolio's
// cash, the valued options' notional and premium, each option row's premium value and each row's
// company name, with which the weights sum to 1 + (options' notional − premium) / equity.
import { beforeAll, describe, expect, it } from "vitest";
import type { DrillDownResponse } from "../../worker/api/analytics.ts";
import type { PortfolioResponse } from "../../worker/api/portfolios.ts";
import { call, ensureBatchOutput, json, latestDate } from "./support.ts";

beforeAll(ensureBatchOutput);

describe("drill-down weights", () => {
  it("gives the cash, the options' notional and premium, with which the weights reconcile with equity", async () => {
    const portfolio = await json<PortfolioResponse>(await call("/portfolios/demo-options"));
    for (const factor of ["market_beta", "value"]) {
      const body = await json<DrillDownResponse>(
        await call(`/portfolios/demo-options/exposures/stocks?factor=${factor}&date=${latestDate}`),
      );
      expect(body.cash).toBe(portfolio.cash);
      const options = body.rows.filter((row) => row.instrument === "option");
      expect(options.length).toBeGreaterThan(0);
      // Stocks have no premium; the options' notional is the sum of their market values.
      for (const row of body.rows) if (row.instrument !== "option") expect(row.premium_value).toBeNull();
      const leftOutOptions = body.missing.filter((row) => row.instrument === "option" && row.market_value !== null);
      const notional =
        options.reduce((sum, row) => sum + row.market_value, 0) +
        leftOutOptions.reduce((sum, row) => sum + (row.market_value ?? 0), 0);
      expect(body.options_notional).toBeCloseTo(notional, 6);
      if (leftOutOptions.length === 0)
        expect(body.options_premium).toBeCloseTo(
          options.reduce((sum, row) => sum + (row.premium_value ?? 0), 0),
          6,
        );
      expect(body.options_premium).toBeGreaterThan(0);
      expect(body.options_premium).toBeLessThan(Math.abs(body.options_notional));
      // Σ weights + cash / equity = 1 + (notional − premium) / equity.
      const weights =
        body.rows.reduce((sum, row) => sum + row.weight!, 0) +
        body.missing.reduce((sum, row) => sum + (row.weight ?? 0), 0) +
        body.cash / body.equity;
      expect(weights).toBeCloseTo(1 + (body.options_notional - body.options_premium) / body.equity, 12);
      expect(weights).toBeGreaterThan(1);
      // Company names: an option's is its underlying's.
      expect(body.rows.some((row) => typeof row.name === "string" && row.name.length > 0)).toBe(true);
      for (const option of options) {
        const underlying = body.rows.find((row) => row.symbol === option.beta_symbol);
        if (underlying) expect(option.name).toBe(underlying.name);
      }
    }
    // The JSON has the fields as the schema documents them; the CSV is unchanged.
    const csv = await (await call(`/portfolios/demo-options/exposures/stocks?factor=value&format=csv`)).text();
    expect(csv.split("\r\n")[0]).toBe(
      "symbol,beta_symbol,instrument,market_value,weight,delta,beta,contribution,contribution_dollar,quality_flag",
    );
  });

  it("gives a portfolio without options zero notional and premium, and weights that make 100%", async () => {
    const body = await json<DrillDownResponse>(
      await call(`/portfolios/demo-core-equity/exposures/stocks?factor=market_beta&date=${latestDate}`),
    );
    expect(body.rows.every((row) => row.instrument !== "option")).toBe(true);
    expect(body.options_notional).toBe(0);
    expect(body.options_premium).toBe(0);
    const weights =
      body.rows.reduce((sum, row) => sum + row.weight!, 0) +
      body.missing.reduce((sum, row) => sum + (row.weight ?? 0), 0) +
      body.cash / body.equity;
    expect(weights).toBeCloseTo(1, 12);
  });
});
