// Response shapes the pages share, derived from the typed client (so from the Worker's own
// route types): a change in the API's schemas is a type error here, not a runtime surprise.
import type { api, JsonBody } from "./client.ts";

type Body<F extends (...args: never[]) => Promise<unknown>> = JsonBody<Awaited<ReturnType<F>>>;

export type Exposures = Body<(typeof api.portfolios)[":id"]["exposures"]["$get"]>;
export type ExposureSeries = Exposures["factors"][number];
export type DrillDown = Body<(typeof api.portfolios)[":id"]["exposures"]["stocks"]["$get"]>;
export type PortfolioList = Body<typeof api.portfolios.$get>;
export type Portfolio = PortfolioList["portfolios"][number];
export type FactorList = Body<typeof api.factors.$get>;
export type Factor = FactorList["factors"][number];
