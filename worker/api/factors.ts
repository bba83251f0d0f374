// `GET /factors`: the factor definitions (docs/design.md §4.4), in display order.
import { z } from "zod";
import { factorCategories, factorMethods } from "../../schema/index.ts";

export const factorSchema = z
  .object({
    id: z.number().int(),
    key: z.string().meta({ description: "Stable key; the symbol table's column is factor_<key>." }),
    name: z.string(),
    category: z.enum(factorCategories),
    method: z.enum(factorMethods),
    input_symbol: z.string().nullable(),
    long_symbol: z.string().nullable(),
    short_symbol: z.string().nullable(),
    window_days: z.number().int(),
    min_observations: z.number().int(),
    ridge_alpha: z.number().nullable(),
    description: z.string(),
    display_order: z.number().int(),
    is_active: z.boolean(),
  })
  .meta({ id: "Factor" });
export type FactorDefinition = z.output<typeof factorSchema>;

export const factorsResponseSchema = z.object({ factors: z.array(factorSchema) }).meta({ id: "FactorsResponse" });
export type FactorsResponse = z.output<typeof factorsResponseSchema>;
