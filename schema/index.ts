// The whole data model (DESIGN.md section 3), one module per concern.
export * from "./universe.ts";
export * from "./factors.ts";
export * from "./portfolios.ts";
export * from "./batch.ts";
