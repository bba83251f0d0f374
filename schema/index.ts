// The whole data model (docs/design.md §3), one module per concern.
export * from "./universe.ts";
export * from "./factors.ts";
export * from "./portfolios.ts";
export * from "./batch.ts";
export * from "./risk.ts";
export * from "./alerts.ts";
