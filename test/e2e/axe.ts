// axe-core in the end-to-end tests: the devDependency's own build, injected with page.evaluate (which
// the app's strict CSP does not govern), and its serious and critical violations as readable lines.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { AxeResults } from "axe-core";
import type { Page } from "playwright-core";

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/**
 * Waits until no refresh is in flight and no CSS transition runs: while one is, the previous
 * answer is dimmed (`.async[data-stale]`, opacity 0.6 in styles.css, with `aria-busy`) and fades
 * back in over 0.2 s, and axe would measure the dimmed text's contrast. The audits are of settled
 * page states; a test that runs one right after a live update (a toast) would otherwise race the
 * page's refetch. (A result kept dimmed after a failed recomputation is a settled state: it is not
 * busy.)
 */
async function settled(page: Page): Promise<void> {
  await page.waitForFunction(
    () =>
      document.querySelector('.async[aria-busy="true"]') === null &&
      document.getAnimations().every((animation) => !(animation instanceof CSSTransition)),
    undefined,
    { timeout: 10_000 },
  );
}

/** axe's serious and critical violations on the page once it has settled, one readable line per rule. */
export async function seriousViolations(page: Page): Promise<string[]> {
  await settled(page);
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const { axe } = window as unknown as { axe: { run: (context: Document, options: object) => Promise<AxeResults> } };
    const results = await axe.run(document, { resultTypes: ["violations"] });
    return results.violations.map((violation) => ({
      id: violation.id,
      impact: violation.impact ?? null,
      help: violation.help,
      nodes: violation.nodes.map((node) => ({
        target: node.target.join(" "),
        summary: (node.any[0]?.message ?? node.failureSummary ?? "").replace(/\s+/g, " "),
      })),
    }));
  });
  return violations
    .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
    .map(
      (violation) =>
        `${violation.id} (${violation.impact}, ${violation.nodes.length}×): ${violation.help}\n` +
        violation.nodes
          .slice(0, 8)
          .map((node) => `    ${node.target} :: ${node.summary}`)
          .join("\n"),
    );
}
