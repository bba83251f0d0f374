// Shapes of suggested hedges (docs/design.md §11 "Hedge"; docs/api.md "Hedge"):
// `POST /portfolios/:id/hedge` and the `hedge` option and answer of `POST /what-if`. The engine
// is worker/factors/hedge.ts; the answer's risk blocks are the risk route's
// (worker/api/portfolio-risk.ts) without the per-holding contributions.
import { z } from "zod";
import { DEFAULT_HEDGE_PENALTY, hedgeTargets } from "../factors/hedge.ts";
import { boundedNumber, isoDate, symbolField } from "./fields.ts";
import {
  activeRiskExposureSchema,
  activeRiskSchema,
  portfolioRiskDataQualitySchema,
  riskExposureSchema,
  riskUnavailableSchema,
  totalRiskSchema,
} from "./portfolio-risk.ts";

const n = z.number().nullable();

/** At most this many instruments in one hedge. */
export const maxHedgeInstruments = 50;
/** The largest penalty: it already makes every trade of a daily-variance-sized problem vanish. */
export const maxHedgePenalty = 1e6;

const targetField = z.enum(hedgeTargets, { error: "target must be tracking_error or total" }).meta({
  description:
    "What the hedge minimizes: tracking_error, the variance of the portfolio minus its benchmark (held at −1); " +
    "total, the portfolio's own variance.",
});

const instrumentsField = z
  .array(symbolField, { error: "instruments must be a list of symbols" })
  .min(1, { error: "instruments must list at least one symbol (or be left out for the default)" })
  .max(maxHedgeInstruments, { error: `instruments must list at most ${maxHedgeInstruments} symbols` })
  .superRefine((symbols, ctx) => {
    symbols.forEach((symbol, index) => {
      const first = symbols.indexOf(symbol);
      if (first !== index)
        ctx.addIssue({
          code: "custom",
          path: [index],
          message: `${symbol} is listed twice (also at instruments[${first}]): list each instrument once`,
        });
    });
  })
  .meta({
    description:
      "The symbols to trade, each once; any symbol with risk loadings on the date. Default: the lens ETFs, the " +
      "symbols of the active factor definitions' regressors and of the risk factors (SPY, TLT, VTV, VUG, MTUM, " +
      "QUAL, IWM, USMV in the demo), less those without loadings or a close on the date (listed in " +
      "instruments_left_out).",
  });

const penaltyField = boundedNumber("penalty", { min: 0, max: maxHedgePenalty }).meta({
  description:
    `λ ≥ 0 in annualized variance per squared unit of weight: the hedge minimizes 252·V + λ·Σ u_j² (u_j the trade ` +
    `as a fraction of equity). Default ${DEFAULT_HEDGE_PENALTY}: a trade of 100% of equity costs as much as an ` +
    "annualized variance of 1e-5 (a volatility of 0.32%). 0 is allowed; the hedge must then be unique.",
});

/** The hedge of `POST /what-if` (its holdings, date and benchmark are the what-if's). */
export const hedgeOptionsSchema = z
  .strictObject({ target: targetField, instruments: instrumentsField.optional(), penalty: penaltyField.optional() })
  .meta({ id: "HedgeOptions" });
export type HedgeOptions = z.output<typeof hedgeOptionsSchema>;

export const hedgeRequestSchema = z
  .strictObject({
    ...hedgeOptionsSchema.shape,
    date: isoDate("date").optional().meta({ description: "Default: the latest metrics date." }),
    benchmark: z
      .union([z.literal("none"), symbolField])
      .optional()
      .meta({
        description:
          "The benchmark of the tracking error (default: the portfolio's); none leaves it out (then only target " +
          "total can be hedged).",
      }),
  })
  .meta({ id: "HedgeRequest" });

const hedgeTotalRiskSchema = totalRiskSchema.omit({ holdings: true }).meta({ id: "HedgeTotalRisk" });
const hedgeActiveRiskSchema = activeRiskSchema.omit({ holdings: true }).meta({ id: "HedgeActiveRisk" });

const hedgeRiskSchema = z
  .object({
    /** The used symbols' X_s; the trades are the positions `hedge-<SYMBOL>`. */
    symbols: z.array(
      z.object({ symbol: z.string(), position_ids: z.array(z.string()), weight: n, dollar_exposure: z.number() }),
    ),
    exposures: z.array(riskExposureSchema),
    active_exposures: z.array(activeRiskExposureSchema).nullable(),
    total: hedgeTotalRiskSchema,
    active: hedgeActiveRiskSchema.nullable(),
    active_unavailable: riskUnavailableSchema.nullable(),
  })
  .meta({
    id: "HedgeRisk",
    description:
      "The risk-lens exposures (with standard errors) and the total and active risk, as GET /portfolios/:id/risk " +
      "computes them, without the per-holding contributions.",
  });

export const hedgeTradeSchema = z
  .object({
    symbol: z.string(),
    /** What to add the trade as: the universe's asset type (etf, else stock). */
    instrument: z.enum(["stock", "etf"]),
    /** u_j: the trade as a fraction of equity; positive buys. */
    weight: z.number(),
    /** The portfolio's X_j before the trade (0 when not held). */
    weight_before: z.number(),
    weight_after: z.number(),
    /** u_j × equity. */
    dollars: z.number(),
    /** The instrument's close on the date. */
    close: z.number(),
    /** dollars / close, unrounded. */
    shares: z.number(),
  })
  .meta({ id: "HedgeTrade" });

export const hedgeBlockSchema = z
  .object({
    date: z.string(),
    target: z.enum(hedgeTargets),
    /** The benchmark of the active blocks; null with benchmark=none. */
    benchmark: z.string().nullable(),
    /** λ used (annualized variance per squared unit of weight). */
    penalty: z.number(),
    /** Whether `penalty` is the default. */
    penalty_default: z.boolean(),
    equity: z.number(),
    /** The instruments traded, in order. */
    instruments: z.array(z.string()),
    /** Whether they are the default list. */
    instruments_default: z.boolean(),
    /** Default instruments left out, and why (a given instrument without loadings or a close is a 422). */
    instruments_left_out: z.array(
      z.object({ symbol: z.string(), reason: z.enum(["no_loadings", "no_price"]), detail: z.string() }),
    ),
    trades: z.array(hedgeTradeSchema),
    /** The target before and after: variances daily, risk annualized (volatility or tracking error). */
    target_risk: z.object({
      measure: z.enum(["tracking_error", "volatility"]),
      variance_before: z.number(),
      variance_after: z.number(),
      before: z.number(),
      after: z.number(),
      /** after − before. */
      change: z.number(),
    }),
    /** λ Σ u_j², annualized variance units: what the trades cost in the objective. */
    penalty_cost: z.number(),
    before: hedgeRiskSchema,
    after: hedgeRiskSchema,
    /** The positions and symbols the risk (and so the hedge) leaves out, as GET /portfolios/:id/risk lists them. */
    data_quality: portfolioRiskDataQualitySchema,
    /** How to read the exposures' standard errors, and what the trades assume. */
    note: z.string(),
  })
  .meta({
    id: "Hedge",
    description:
      "Trades minimizing the target variance plus λ Σ u_j², bought at the date's close with cash (equity unchanged), " +
      "and the risk before and after them.",
  });
export type HedgeBlock = z.output<typeof hedgeBlockSchema>;

export const hedgeResponseSchema = z
  .object({ portfolio_id: z.string(), ...hedgeBlockSchema.shape })
  .meta({ id: "HedgeResult" });
export type HedgeResponse = z.output<typeof hedgeResponseSchema>;
