// The stylesheet's text colours (client/src/styles.css, :root) against the surfaces they sit on: each
// reaches WCAG AA's 4.5:1 for small text, and the grey tiers keep their order (muted stays lighter).
// The e2e accessibility test checks pages as drawn; this catches a token changed to a faint grey at once.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { contrastRatio, type Rgb } from "../../../client/src/lib/scale.ts";

const stylesheet = readFileSync(new URL("../../../client/src/styles.css", import.meta.url), "utf8");

/** The `--name: #rrggbb` custom properties of the stylesheet's first :root block. */
function rootTokens(css: string): Map<string, Rgb> {
  const root = /:root\s*\{([^}]*)\}/.exec(css)?.[1] ?? "";
  const tokens = new Map<string, Rgb>();
  for (const [, name, hex] of root.matchAll(/(--[a-z0-9-]+):\s*#([0-9a-f]{6})\s*;/gi))
    tokens.set(name!, [0, 2, 4].map((at) => Number.parseInt(hex!.slice(at, at + 2), 16)) as unknown as Rgb);
  return tokens;
}

const tokens = rootTokens(stylesheet);
const token = (name: string): Rgb => {
  const value = tokens.get(name);
  if (!value) throw new Error(`styles.css :root has no hex ${name}`);
  return value;
};
const hex = (text: string): Rgb => [1, 3, 5].map((at) => Number.parseInt(text.slice(at, at + 2), 16)) as unknown as Rgb;

// White panels, the page, table heads and stripes, bar tracks.
const surfaces = ["--panel", "--bg", "#f8fafc", "#f0f4f8"];
const surface = (name: string): Rgb => (name.startsWith("#") ? hex(name) : token(name));

describe("the stylesheet's text colours", () => {
  it.each(["--ink", "--ink-2", "--ink-3", "--accent", "--good", "--bad", "--warn"])(
    "%s reaches 4.5:1 on every surface",
    (name) => {
      for (const ground of surfaces)
        expect(contrastRatio(token(name), surface(ground)), `${name} on ${ground}`).toBeGreaterThanOrEqual(4.5);
    },
  );

  it("reaches 4.5:1 on the tinted badges and notices the status colours sit on", () => {
    const pairs: [string, string][] = [
      ["--good", "#e3f5e8"],
      ["--good", "#ecfdf3"],
      ["--bad", "--bad-bg"],
      ["--warn", "#fff4e5"],
      ["--accent", "#e6edfb"],
      ["--ink-2", "#e4e7eb"],
    ];
    for (const [text, ground] of pairs)
      expect(contrastRatio(token(text), surface(ground)), `${text} on ${ground}`).toBeGreaterThanOrEqual(4.5);
  });

  it("keeps the grey tiers in order: ink darker than ink-2, ink-2 darker than the muted ink-3", () => {
    const white = token("--panel");
    const [ink, ink2, ink3] = ["--ink", "--ink-2", "--ink-3"].map((name) => contrastRatio(token(name), white)) as [
      number,
      number,
      number,
    ];
    expect(ink).toBeGreaterThan(ink2);
    expect(ink2).toBeGreaterThan(ink3);
    // Muted must still look muted: clearly lighter than the secondary tier.
    expect(ink2 / ink3).toBeGreaterThan(1.15);
  });
});
