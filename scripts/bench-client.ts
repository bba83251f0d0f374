// `npm run bench:client`: the dashboard's two budgets (issue 7).
//   1. JavaScript shipped: every .js asset of the production build, gzipped (level 9);
//      budget 150 KB. CSS is reported beside it.
//   2. First load: a cold browser (new context: empty cache and storage) opens the dashboard
//      signed in, on the stack `npm start` runs (scripts/demo-stack.ts: a temporary copy with
//      the demo data and 30 computed dates), and the time from navigation start to the
//      heatmap's first draw with numbers (the `heatmap-drawn` performance mark) is measured;
//      budget 2 s. Then the same with a warm cache (a reload in the same context).
// Prints the figures and writes bench-results/client.json.
//
//   npm run bench:client [-- --runs N]
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "vite";
import { launchBrowser } from "../test/e2e/browser.ts";
import { addDays } from "../worker/dates.ts";
import { required } from "../worker/required.ts";
import { benchSay, machineInfo, loadAverage, round, wholeNumber, writeResults } from "./bench-batch/common.ts";
import { startDemoStack } from "./demo-stack.ts";
import { projectRoot } from "./local-config.ts";
import { lastWeekday } from "./seed-demo.ts";

const jsBudgetBytes = 150 * 1024;
const firstLoadBudgetMs = 2_000;

function quantile(sorted: readonly number[], q: number): number {
  return required(
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))],
    "a quantile (no samples)",
  );
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const runsFlag = args.indexOf("--runs");
  const runs = runsFlag >= 0 ? wholeNumber("--runs", args[runsFlag + 1] ?? "", 1) : 7;
  const say = benchSay();
  const loadAtStart = loadAverage();

  say("building the client…");
  await build({ configFile: path.join(projectRoot, "client/vite.config.ts"), logLevel: "warn" });
  const assets = path.join(projectRoot, "dist/client/assets");
  const files = readdirSync(assets).map((name) => {
    const raw = readFileSync(path.join(assets, name));
    return { name, bytes: raw.length, gzipBytes: gzipSync(raw, { level: 9 }).length };
  });
  const js = files.filter((file) => file.name.endsWith(".js"));
  const css = files.filter((file) => file.name.endsWith(".css"));
  const jsGzip = js.reduce((sum, file) => sum + file.gzipBytes, 0);
  const cssGzip = css.reduce((sum, file) => sum + file.gzipBytes, 0);
  say(
    `JavaScript: ${(jsGzip / 1024).toFixed(1)} KB gzipped ` +
      `(${(js.reduce((s, f) => s + f.bytes, 0) / 1024).toFixed(0)} KB raw, ${js.length} file(s)); budget 150 KB`,
  );
  say(`CSS: ${(cssGzip / 1024).toFixed(1)} KB gzipped`);

  say("starting the demo stack (scripts/dev.ts on free ports) and computing 30 dates…");
  const end = lastWeekday(new Date());
  const stack = await startDemoStack({ backfill: { from: addDays(end, -41), to: end } });
  const browser = await launchBrowser();
  const cold: number[] = [];
  const warm: number[] = [];
  try {
    for (let run = 0; run < runs + 1; run++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 2 });
      const page = await context.newPage();
      const measure = async (): Promise<number> => {
        await page.waitForFunction(() => performance.getEntriesByName("heatmap-drawn").length > 0, undefined, {
          timeout: 30_000,
        });
        const drawnAt = await page.evaluate(() => performance.getEntriesByName("heatmap-drawn")[0]?.startTime);
        if (drawnAt === undefined) throw new Error("the heatmap-drawn mark was seen, then gone");
        return drawnAt;
      };
      await page.goto(`${stack.baseUrl}/#token=${stack.demoToken}`);
      const coldMs = await measure();
      await page.reload();
      const warmMs = await measure();
      // The first run warms the Worker's isolate and the database's pages; it is not counted.
      if (run > 0) {
        cold.push(coldMs);
        warm.push(warmMs);
      }
      await context.close();
    }
  } finally {
    await browser.close();
    await stack.stop();
  }
  cold.sort((a, b) => a - b);
  warm.sort((a, b) => a - b);
  const figures = {
    cold_ms: {
      median: round(quantile(cold, 0.5)),
      p95: round(quantile(cold, 0.95)),
      max: round(required(cold.at(-1), "a cold load time")),
      all: cold.map((value) => round(value)),
    },
    warm_ms: {
      median: round(quantile(warm, 0.5)),
      p95: round(quantile(warm, 0.95)),
      max: round(required(warm.at(-1), "a warm load time")),
      all: warm.map((value) => round(value)),
    },
  };
  say(
    `first load to the heatmap, cold cache (${runs} runs): median ${figures.cold_ms.median} ms, ` +
      `p95 ${figures.cold_ms.p95} ms, max ${figures.cold_ms.max} ms; budget 2,000 ms`,
  );
  say(`first load to the heatmap, warm cache: median ${figures.warm_ms.median} ms, p95 ${figures.warm_ms.p95} ms`);
  const withinBudget = jsGzip <= jsBudgetBytes && figures.cold_ms.max <= firstLoadBudgetMs;
  writeResults("bench-results/client.json", {
    benchmark: "client",
    date: new Date().toISOString(),
    machine: machineInfo(loadAtStart),
    javascript: { gzip_bytes: jsGzip, budget_bytes: jsBudgetBytes, files: js },
    css: { gzip_bytes: cssGzip, files: css },
    first_load: { ...figures, runs, budget_ms: firstLoadBudgetMs, viewport: "1280x800@2x", dates_computed: 30 },
    within_budget: withinBudget,
  });
  say(withinBudget ? "within both budgets" : "OVER BUDGET");
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`[bench] ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
