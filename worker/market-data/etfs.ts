// The ETFs the service knows by name: the factor inputs of docs/design.md §4.4 and the usual
// benchmarks. A symbol on this list (or an input of any factor definition) that arrives in an
// import is registered as an `etf`, anything else as an `equity`.
export const factorEtfSymbols = ["SPY", "TLT", "VTV", "VUG", "MTUM", "QUAL", "IWM", "USMV"] as const;
export const benchmarkEtfSymbols = ["QQQ", "DIA"] as const;
export const knownEtfSymbols: readonly string[] = [...factorEtfSymbols, ...benchmarkEtfSymbols];
