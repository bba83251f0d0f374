// The admin API's request schemas (`/api/v1/admin`): batch runs and backfills, run history,
// the dual-write report, the JSON price upload. Decisions are listed in worker/routes/admin.ts.
import { z } from "zod";
import { batchRunStatuses } from "../../schema/index.ts";
import { isWeekend, weekdaysBetween } from "../batch/calendar.ts";
import { addDays } from "../dates.ts";
import { idField, isoDate, queryInteger, whenFieldsValid } from "./fields.ts";

export { priceUploadSchema } from "../market-data/price-upload.ts";

/** The longest backfill one request may ask for, in calendar days with both ends included. */
export const maxBackfillCalendarDays = 400;

/** The largest JSON price upload, in bytes: `maxPriceUploadRows` rows at ~90 bytes, with room for pretty-printing. */
export const maxPriceUploadBytes = 16 * 1024 * 1024;

const weekdayNames = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

function dayName(date: string): string {
  return weekdayNames[new Date(`${date}T00:00:00Z`).getUTCDay()] ?? date;
}

function todayUtc(): string {
  return new Date().toISOString().slice(0, 10);
}

const runOptions = {
  portfolio_id: idField("portfolio_id")
    .optional()
    .meta({ description: "Limit portfolio analytics to this portfolio; symbol phases still cover the universe." }),
  force_rerun: z
    .boolean({ error: "force_rerun must be true or false" })
    .optional()
    .meta({ description: "Recompute betas already stored for the date(s)." }),
  replace_prices: z
    .boolean({ error: "replace_prices must be true or false" })
    .optional()
    .meta({
      description:
        "Market data: replace stored closes of another source (imports, uploads) that differ from the provider's. " +
        "By default they are kept and each conflict is reported.",
    }),
};

/** `POST /admin/batch/run`. */
export const batchRunRequestSchema = z
  .strictObject({
    date: isoDate("date").meta({ description: "The trading date to compute (a weekday, not after today UTC)." }),
    ...runOptions,
  })
  .superRefine((body, ctx) => {
    if (isWeekend(body.date)) {
      ctx.addIssue({
        code: "custom",
        path: ["date"],
        message: `${body.date} is a ${dayName(body.date)}; batch runs compute weekdays only`,
      });
    } else if (body.date > todayUtc()) {
      ctx.addIssue({
        code: "custom",
        path: ["date"],
        message: `${body.date} is after today (${todayUtc()} UTC); its closes do not exist yet`,
      });
    }
  }, whenFieldsValid)
  .meta({ description: "Run the daily batch for one date." });

/** `POST /admin/batch/backfill`. */
/** The most trading days `last_trading_days` may ask for (about two years). */
export const maxLastTradingDays = 520;

export const batchBackfillRequestSchema = z
  .strictObject({
    from: isoDate("from").optional().meta({ description: "First date of the range, inclusive (with `to`)." }),
    to: isoDate("to")
      .optional()
      .meta({
        description:
          "Last date of the range, inclusive, not after today (UTC); " +
          `at most ${maxBackfillCalendarDays} calendar days after from.`,
      }),
    last_trading_days: z
      .number({ error: "last_trading_days must be a whole number" })
      .int({ error: "last_trading_days must be a whole number" })
      .min(1, { error: "last_trading_days must be at least 1" })
      .max(maxLastTradingDays, { error: `last_trading_days must be at most ${maxLastTradingDays}` })
      .optional()
      .meta({
        description:
          "Instead of from/to: the N most recent trading days of the stored closes " +
          "(the dates on which the market reference SPY has a close, up to today), " +
          "e.g. after importing your own prices.",
      }),
    ...runOptions,
  })
  .superRefine((body, ctx) => {
    if (body.last_trading_days !== undefined) {
      if (body.from !== undefined || body.to !== undefined)
        ctx.addIssue({
          code: "custom",
          path: ["last_trading_days"],
          message: "give either last_trading_days or from/to, not both",
        });
      return;
    }
    if (body.from === undefined || body.to === undefined) {
      const missing = body.from === undefined ? "from" : "to";
      ctx.addIssue({
        code: "custom",
        path: [missing],
        message: `${missing} is required (or give last_trading_days instead of from and to)`,
      });
      return;
    }
    if (body.from > body.to) {
      ctx.addIssue({ code: "custom", path: ["from"], message: `from (${body.from}) is after to (${body.to})` });
      return;
    }
    const { from, to } = body;
    if (to > todayUtc()) {
      ctx.addIssue({
        code: "custom",
        path: ["to"],
        message: `${to} is after today (${todayUtc()} UTC); its closes do not exist yet`,
      });
    }
    const lastAllowed = addDays(from, maxBackfillCalendarDays - 1);
    if (to > lastAllowed) {
      ctx.addIssue({
        code: "custom",
        path: ["to"],
        message:
          `the range is longer than ${maxBackfillCalendarDays} calendar days ` +
          `(to must be on or before ${lastAllowed}); split the backfill`,
      });
    } else if (weekdaysBetween(from, to).length === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["from"],
        message: `${from}..${to} has no weekday; batch runs compute weekdays only`,
      });
    }
  }, whenFieldsValid)
  .meta({
    description:
      "Run the daily batch for every weekday of a date range, or for the last N trading days of the stored closes.",
  });

/** `GET /admin/batch/runs` query. */
export const batchRunListQuerySchema = z.strictObject({
  limit: queryInteger("limit", 1, 100).default(20).meta({ description: "Runs per page, at most 100." }),
  offset: queryInteger("offset", 0, Number.MAX_SAFE_INTEGER).default(0),
  status: z.enum(batchRunStatuses, { error: `status must be one of ${batchRunStatuses.join(", ")}` }).optional(),
});

/** `GET /admin/batch/runs/:id` query. */
export const batchRunDetailQuerySchema = z.strictObject({
  include_issues: z
    .enum(["true", "false"], { error: "include_issues must be true or false" })
    .default("true")
    .transform((value) => value === "true")
    .meta({ description: "Include each phase's listed skipped/failed items (false for polling)." }),
});

export const dualWriteReportQuerySchema = z
  .strictObject({
    start_date: isoDate("start_date").meta({ description: "First date of the report, inclusive." }),
    end_date: isoDate("end_date").meta({
      description: `Last date, inclusive; at most ${maxBackfillCalendarDays} calendar days after start_date.`,
    }),
    portfolio_id: idField("portfolio_id").optional().meta({ description: "Only this portfolio." }),
  })
  .superRefine((query, ctx) => {
    if (query.start_date > query.end_date) {
      ctx.addIssue({
        code: "custom",
        path: ["start_date"],
        message: `start_date (${query.start_date}) is after end_date (${query.end_date})`,
      });
    } else if (addDays(query.start_date, maxBackfillCalendarDays - 1) < query.end_date) {
      ctx.addIssue({
        code: "custom",
        path: ["end_date"],
        message: `the range spans more than ${maxBackfillCalendarDays} calendar days`,
      });
    }
  }, whenFieldsValid);

/** `GET /admin/batch/runs/:id` path. */
export const batchRunParamsSchema = z.strictObject({ id: idField("id") });

/** `POST /admin/market-data/prices` answer: what the write changed. */
export interface PriceUploadResponse {
  /** Distinct (symbol, date) rows written. */
  rows: number;
  inserted: number;
  /** Stored rows whose values the upload corrected. */
  updated: number;
  /** Rows already stored with the same values. */
  unchanged: number;
  /** Symbols new to the universe. */
  symbols_registered: number;
  /** Known symbols whose first/last seen date the upload widened. */
  symbols_widened: number;
  /** Elements that repeated an earlier one exactly and were skipped, and their indexes. */
  duplicates_skipped: number;
  duplicate_indexes: number[];
  /** Stored closes of another source (a provider's, the demo's) that the upload replaced, with a few examples. */
  other_source_replaced: number;
  other_source_examples: { symbol: string; date: string; stored_close: number; stored_source: string; close: number }[];
}
