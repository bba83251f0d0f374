import { readFileSync } from "node:fs";
import { chromium } from "playwright-core";
const token = process.argv[2]!;
const width = Number(process.argv[3] ?? 1280);
const axe = readFileSync("/work/main/node_modules/axe-core/axe.min.js", "utf8");
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--headless","--no-sandbox","--disable-gpu"] });
const ctx = await browser.newContext({ viewport: { width, height: 800 } });
const page = await ctx.newPage();
await page.goto(`http://127.0.0.1:8787/#token=${token}`);
await page.waitForTimeout(3000);
const pages = ["/", "/universe", "/risk", "/stress", "/what-if", "/portfolios", "/alerts", "/batch", "/symbol/AAPL", "/nope"];
for (const p of pages) {
  await page.goto(`http://127.0.0.1:8787${p}`);
  await page.waitForTimeout(2500);
  await page.evaluate(axe);
  const res = await page.evaluate(async () => {
    // @ts-ignore
    const r = await axe.run(document, { resultTypes: ["violations"] });
    return r.violations.filter((v: any) => v.impact === "serious" || v.impact === "critical").map((v: any) => ({ id: v.id, impact: v.impact, n: v.nodes.length, ex: v.nodes.slice(0,3).map((n: any) => n.target.join(" ") + " :: " + (n.failureSummary ?? "").slice(0,160).replace(/\n/g," ")) }));
  });
  const sw = await page.evaluate(() => document.documentElement.scrollWidth);
  console.log(`== ${p} (scrollWidth ${sw})`);
  for (const v of res) console.log(`  ${v.impact} ${v.id} x${v.n}\n    ${v.ex.join("\n    ")}`);
}
await browser.close();
