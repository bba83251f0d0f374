// The Hrana-over-HTTP JSON shapes (protocol versions 2 and 3) as @libsql/client sends and expects
// them. Requests are validated with zod because they arrive from the network; responses are plain
// TypeScript types because we build them ourselves.
import { z } from "zod";

const int64Min = -(2n ** 63n);
const int64Max = 2n ** 63n - 1n;

const IntegerText = z
  .string()
  .regex(/^-?\d+$/, "expected a decimal integer in a string")
  .refine((text) => {
    const value = BigInt(text);
    return value >= int64Min && value <= int64Max;
  }, "integer out of the signed 64-bit range");

const Base64Text = z
  .string()
  .regex(/^[A-Za-z0-9+/_-]*={0,2}$/, "expected base64 data")
  .refine((text) => text.replace(/=+$/, "").length % 4 !== 1, "expected base64 data (bad length)");

export const ValueSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("null") }),
  z.object({ type: z.literal("integer"), value: IntegerText }),
  z.object({ type: z.literal("float"), value: z.number() }),
  z.object({ type: z.literal("text"), value: z.string() }),
  z.object({ type: z.literal("blob"), base64: Base64Text }),
]);
export type Value = z.infer<typeof ValueSchema>;

const SqlId = z
  .number()
  .int()
  .min(0)
  .max(2 ** 31 - 1);

// Some clients send `null` for absent optional fields; treat it as absent.
const sqlOrSqlId = {
  sql: z.string().nullish(),
  sql_id: SqlId.nullish(),
};

function exactlyOneOfSqlAndSqlId(value: {
  sql?: string | null | undefined;
  sql_id?: number | null | undefined;
}): boolean {
  return (value.sql != null) !== (value.sql_id != null);
}
const exactlyOneMessage = { message: "exactly one of `sql` and `sql_id` must be given", path: ["sql"] };

export const StmtSchema = z
  .object({
    ...sqlOrSqlId,
    args: z.array(ValueSchema).nullish(),
    named_args: z.array(z.object({ name: z.string(), value: ValueSchema })).nullish(),
    want_rows: z.boolean().nullish(),
  })
  .refine(exactlyOneOfSqlAndSqlId, exactlyOneMessage);
export type Stmt = z.infer<typeof StmtSchema>;

export type BatchCond =
  | { type: "ok"; step: number }
  | { type: "error"; step: number }
  | { type: "not"; cond: BatchCond }
  | { type: "and"; conds: BatchCond[] }
  | { type: "or"; conds: BatchCond[] }
  | { type: "is_autocommit" };

const StepIndex = z.number().int().min(0);
export const BatchCondSchema: z.ZodType<BatchCond> = z.lazy(() =>
  z.discriminatedUnion("type", [
    z.object({ type: z.literal("ok"), step: StepIndex }),
    z.object({ type: z.literal("error"), step: StepIndex }),
    z.object({ type: z.literal("not"), cond: BatchCondSchema }),
    z.object({ type: z.literal("and"), conds: z.array(BatchCondSchema) }),
    z.object({ type: z.literal("or"), conds: z.array(BatchCondSchema) }),
    z.object({ type: z.literal("is_autocommit") }),
  ]),
);

export const BatchSchema = z.object({
  steps: z.array(z.object({ condition: BatchCondSchema.nullish(), stmt: StmtSchema })),
});
export type Batch = z.infer<typeof BatchSchema>;

export const StreamRequestSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("close") }),
  z.object({ type: z.literal("execute"), stmt: StmtSchema }),
  z.object({ type: z.literal("batch"), batch: BatchSchema }),
  z.object({ type: z.literal("sequence"), ...sqlOrSqlId }).refine(exactlyOneOfSqlAndSqlId, exactlyOneMessage),
  z.object({ type: z.literal("describe"), ...sqlOrSqlId }).refine(exactlyOneOfSqlAndSqlId, exactlyOneMessage),
  z.object({ type: z.literal("store_sql"), sql_id: SqlId, sql: z.string() }),
  z.object({ type: z.literal("close_sql"), sql_id: SqlId }),
  z.object({ type: z.literal("get_autocommit") }),
]);
export type StreamRequest = z.infer<typeof StreamRequestSchema>;

export const PipelineRequestSchema = z.object({
  baton: z.string().nullish(),
  requests: z.array(StreamRequestSchema),
});
export type PipelineRequest = z.infer<typeof PipelineRequestSchema>;

export const CursorRequestSchema = z.object({
  baton: z.string().nullish(),
  batch: BatchSchema,
});
export type CursorRequest = z.infer<typeof CursorRequestSchema>;

/** Renders zod issues as "requests[0].stmt.args[1].value: expected …" so a client can find the offending field. */
export function describeSchemaIssues(error: z.ZodError): string {
  const shown = error.issues.slice(0, 5).map((issue) => {
    let path = "";
    for (const part of issue.path) {
      if (typeof part === "number") path += `[${part}]`;
      else path += path === "" ? String(part) : `.${String(part)}`;
    }
    return `${path === "" ? "(body)" : path}: ${issue.message}`;
  });
  const more = error.issues.length > shown.length ? ` (and ${error.issues.length - shown.length} more)` : "";
  return shown.join("; ") + more;
}

export interface ProtoError {
  message: string;
  code: string;
}

export interface Col {
  name: string | null;
  decltype: string | null;
}

export interface StmtResult {
  cols: Col[];
  rows: Value[][];
  affected_row_count: number;
  last_insert_rowid: string | null;
}

export interface BatchResult {
  step_results: (StmtResult | null)[];
  step_errors: (ProtoError | null)[];
}

export interface DescribeResult {
  params: { name: string | null }[];
  cols: { name: string; decltype: string | null }[];
  is_explain: boolean;
  is_readonly: boolean;
}

export type StreamResponse =
  | { type: "close" }
  | { type: "execute"; result: StmtResult }
  | { type: "batch"; result: BatchResult }
  | { type: "sequence" }
  | { type: "describe"; result: DescribeResult }
  | { type: "store_sql" }
  | { type: "close_sql" }
  | { type: "get_autocommit"; is_autocommit: boolean };

export type StreamResult = { type: "ok"; response: StreamResponse } | { type: "error"; error: ProtoError };

export interface PipelineResponse {
  baton: string | null;
  base_url: string | null;
  results: StreamResult[];
}

export type CursorEntry =
  | { type: "step_begin"; step: number; cols: Col[] }
  | { type: "step_end"; affected_row_count: number; last_insert_rowid: string | null }
  | { type: "step_error"; step: number; error: ProtoError }
  | { type: "row"; row: Value[] }
  | { type: "error"; error: ProtoError };

/** An error reported to the client as `{message, code}`: inside a pipeline result, or as the body of an HTTP error. */
export class HranaError extends Error {
  readonly code: string;
  constructor(message: string, code: string) {
    super(message);
    this.name = "HranaError";
    this.code = code;
  }
}
