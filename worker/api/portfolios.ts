// The portfolio API's shapes: portfolios, effective-dated positions (options included), the
// position CSV import, exposures over a date range with a benchmark, the drill-down, stress
// tests and scenarios, and what-if portfolios. Field names are snake_case like the tables.
import { z } from "zod";
import { instruments, optionTypes } from "../../schema/index.ts";
import { positionWarningReasons, type PositionWarning } from "../portfolios/position-warnings.ts";
import {
  boundedNumber,
  idField,
  isoDate,
  maxAmount,
  maxMultiplier,
  maxQuantity,
  maxUnitPrice,
  plainText,
  symbolField,
} from "./fields.ts";

const finite = (field: string) =>
  z.number({ error: `${field} must be a number` }).finite({ error: `${field} must be a finite number` });
/** Cash: a finite amount within ±`maxAmount`, so no sum with it can overflow. */
const cashField = () => boundedNumber("cash", { max: maxAmount });

// ---- portfolios ---------------------------------------------------------------------------

export const portfolioSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    owner: z.string(),
    org: z.string().nullable(),
    cash: z.number(),
    benchmark_symbol: z.string(),
    created_at: z.string(),
    updated_at: z.string(),
    /** Whether the caller may change it (its own) or only read it (its org's). */
    writable: z.boolean(),
  })
  .meta({ id: "Portfolio" });
export type PortfolioResponse = z.output<typeof portfolioSchema>;

export const portfolioListSchema = z.object({ portfolios: z.array(portfolioSchema) }).meta({ id: "PortfolioList" });

const nameField = plainText("name", { max: 100 });

export const portfolioCreateSchema = z
  .strictObject({
    name: nameField,
    cash: cashField().optional().meta({ description: "Cash balance (default 0); negative for a margin loan." }),
    benchmark_symbol: symbolField
      .optional()
      .meta({ description: "Default benchmark (default SPY); must be in the universe." }),
  })
  .meta({ id: "PortfolioCreate" });

export const portfolioUpdateSchema = z
  .strictObject({ name: nameField.optional(), cash: cashField().optional(), benchmark_symbol: symbolField.optional() })
  .refine((body) => Object.keys(body).length > 0, { message: "give at least one of name, cash, benchmark_symbol" })
  .meta({ id: "PortfolioUpdate" });

export const portfolioParamsSchema = z.strictObject({ id: idField("id") });
export const positionParamsSchema = z.strictObject({ id: idField("id"), positionId: idField("positionId") });

// ---- positions ----------------------------------------------------------------------------

export const positionSchema = z
  .object({
    id: z.string(),
    portfolio_id: z.string(),
    symbol: z.string(),
    instrument: z.enum(instruments),
    quantity: z.number(),
    cost_basis: z.number().nullable(),
    opened_on: z.string(),
    closed_on: z.string().nullable(),
    underlying_symbol: z.string().nullable(),
    option_type: z.enum(optionTypes).nullable(),
    strike: z.number().nullable(),
    expiry: z.string().nullable(),
    multiplier: z.number().nullable(),
    delta: z.number().nullable(),
    implied_vol: z.number().nullable(),
    premium: z.number().nullable(),
  })
  .meta({ id: "Position" });
export type PositionResponse = z.output<typeof positionSchema>;

export const positionListSchema = z.object({ positions: z.array(positionSchema) }).meta({ id: "PositionList" });

export const positionListQuerySchema = z
  .strictObject({ date: isoDate("date").optional().meta({ description: "Only positions held on this date." }) })
  .meta({ id: "PositionListQuery" });

/** The fields of a position a caller sends (create; update takes any subset). */
const positionFields = {
  symbol: plainText("symbol", { max: 100 }).meta({
    description: "The ticker of a stock or ETF; any label for an option (e.g. its OCC symbol) or a private holding.",
  }),
  instrument: z.enum(instruments, { error: `instrument must be one of ${instruments.join(", ")}` }),
  quantity: boundedNumber("quantity", { max: maxQuantity })
    .refine((value) => value !== 0, { message: "quantity must not be 0" })
    .meta({ description: "Signed: shares, or contracts for options; negative is short." }),
  cost_basis: boundedNumber("cost_basis", { max: maxAmount }).nullable().optional(),
  opened_on: isoDate("opened_on"),
  closed_on: isoDate("closed_on").nullable().optional().meta({ description: "First day no longer held (exclusive)." }),
  underlying_symbol: symbolField.nullable().optional(),
  option_type: z.enum(optionTypes, { error: "option_type must be call or put" }).nullable().optional(),
  strike: boundedNumber("strike", { min: 0, max: maxUnitPrice })
    .positive({ error: "strike must be > 0" })
    .nullable()
    .optional(),
  expiry: isoDate("expiry").nullable().optional(),
  multiplier: boundedNumber("multiplier", { min: 0, max: maxMultiplier })
    .positive({ error: "multiplier must be > 0" })
    .nullable()
    .optional(),
  delta: finite("delta")
    .min(-1, { error: "delta must be in [-1, 1]" })
    .max(1, { error: "delta must be in [-1, 1]" })
    .nullable()
    .optional(),
  implied_vol: finite("implied_vol")
    .positive({ error: "implied_vol must be > 0" })
    .max(10, { error: "implied_vol must be at most 10 (1000%)" })
    .nullable()
    .optional(),
  premium: boundedNumber("premium", { min: 0, max: maxUnitPrice }).nullable().optional(),
};

const tickerPattern = /^[A-Za-z0-9][A-Za-z0-9.-]{0,19}$/;

const optionOnly = ["underlying_symbol", "option_type", "strike", "expiry", "delta", "implied_vol", "premium"] as const;

type PositionInput = { [K in keyof typeof positionFields]?: z.output<(typeof positionFields)[K]> };

/** The rules across fields (the table's CHECKs, said in words with the field that breaks them). */
export function positionIssues(position: PositionInput): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = [];
  if (position.opened_on && position.closed_on && !(position.closed_on > position.opened_on))
    issues.push({
      path: "closed_on",
      message: `closed_on (${position.closed_on}) must be after opened_on (${position.opened_on})`,
    });
  if (
    (position.instrument === "stock" || position.instrument === "etf") &&
    position.symbol !== undefined &&
    !tickerPattern.test(position.symbol)
  ) {
    issues.push({
      path: "symbol",
      message:
        `a ${position.instrument}'s symbol must be a ticker (1-20 letters, digits, dots or dashes), ` +
        `got ${JSON.stringify(position.symbol)}`,
    });
  }
  if (position.instrument === "option") {
    if (!position.underlying_symbol)
      issues.push({ path: "underlying_symbol", message: "underlying_symbol is required for an option" });
    if (!position.option_type)
      issues.push({ path: "option_type", message: "option_type (call or put) is required for an option" });
    if (position.strike === undefined || position.strike === null)
      issues.push({ path: "strike", message: "strike is required for an option" });
    if (!position.expiry) issues.push({ path: "expiry", message: "expiry is required for an option" });
    if (
      (position.delta === undefined || position.delta === null) &&
      (position.implied_vol === undefined || position.implied_vol === null)
    ) {
      issues.push({
        path: "delta",
        message: "an option needs delta or implied_vol (its delta then comes from Black-Scholes)",
      });
    }
    if (position.delta !== undefined && position.delta !== null && position.option_type) {
      if (position.option_type === "call" && position.delta < 0)
        issues.push({ path: "delta", message: "a call's delta must be in [0, 1]" });
      if (position.option_type === "put" && position.delta > 0)
        issues.push({ path: "delta", message: "a put's delta must be in [-1, 0]" });
    }
  } else if (position.instrument !== undefined) {
    for (const field of optionOnly) {
      if (position[field] !== undefined && position[field] !== null)
        issues.push({ path: field, message: `${field} is only allowed on options` });
    }
  }
  return issues;
}

function withPositionRules<S extends z.ZodType<PositionInput>>(schema: S) {
  return schema.superRefine((position, ctx) => {
    for (const issue of positionIssues(position))
      ctx.addIssue({ code: "custom", path: [issue.path], message: issue.message });
  });
}

export const positionCreateSchema = withPositionRules(z.strictObject(positionFields)).meta({ id: "PositionCreate" });
export type PositionCreate = z.output<typeof positionCreateSchema>;

/** A PATCH: any subset; the merged position must still satisfy every rule (checked in the route). */
export const positionUpdateSchema = z
  .strictObject(
    Object.fromEntries(Object.entries(positionFields).map(([key, schema]) => [key, schema.optional()])) as {
      [K in keyof typeof positionFields]: z.ZodOptional<(typeof positionFields)[K]>;
    },
  )
  .refine((body) => Object.keys(body).length > 0, { message: "give at least one field to change" })
  .meta({ id: "PositionUpdate" });

export const positionImportQuerySchema = z
  .strictObject({
    mode: z.enum(["append", "replace"], { error: "mode must be append or replace" }).optional().meta({
      description: "append (default) adds the file's positions; replace deletes the portfolio's positions first.",
    }),
  })
  .meta({ id: "PositionImportQuery" });

/** A position the numbers cannot use yet (worker/portfolios/position-warnings.ts): accepted, and said so. */
export const positionWarningSchema = z
  .object({
    line: z.number().int().optional().meta({ description: "The CSV line, for an import." }),
    position_id: z.string(),
    symbol: z.string(),
    reason: z.enum(positionWarningReasons).meta({
      description:
        "no_prices: no close of the symbol (an option's underlying) is stored; " +
        "stale_prices: its last close is too old for betas; " +
        "no_betas: prices but no betas on the latest computed date (the detail says why); " +
        "not_computed: no batch run has computed it yet; expired: an option past its expiry.",
    }),
    detail: z.string(),
  })
  .meta({ id: "PositionWarning" });

/** A created or changed position, and the warnings that apply to it. */
export const positionWriteResponseSchema = positionSchema
  .extend({ warnings: z.array(positionWarningSchema) })
  .meta({ id: "PositionWriteResult" });

export const positionImportResponseSchema = z
  .object({
    mode: z.enum(["append", "replace"]),
    imported: z.number().int(),
    deleted: z.number().int(),
    positions: z.array(positionSchema),
    /** Imported positions the numbers cannot use yet, by line. */
    warnings: z.array(positionWarningSchema),
  })
  .meta({ id: "PositionImportResult" });

// The schema and the producer's type must describe the same object.
type Exact<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const warningMatches: Exact<z.output<typeof positionWarningSchema>, PositionWarning> = true;
void warningMatches;

/** The import's columns; `symbol`, `instrument`, `quantity`, `opened_on` are required. */
export const positionCsvColumns = Object.keys(positionFields) as (keyof typeof positionFields)[];
export const positionFieldSchemas = positionFields;
