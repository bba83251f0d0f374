// Reads a section of README.md as the own-data end-to-end test follows it: the section's
// fenced code blocks (`sh` blocks are commands, one a line, `#` comments dropped; `csv` blocks are
// file examples), so that a change to the README's commands changes what the test runs.
import { readFileSync } from "node:fs";
import path from "node:path";
import { projectRoot } from "../../scripts/local-config.ts";

export interface CodeBlock {
  language: string;
  lines: string[];
}

/** The text of `## title` up to the next `## ` heading; throws when the README has no such section. */
export function readmeSection(
  title: string,
  readme = readFileSync(path.join(projectRoot, "README.md"), "utf8"),
): string {
  const lines = readme.split(/\r?\n/);
  const start = lines.findIndex((line) => line.trim() === `## ${title}`);
  if (start < 0) throw new Error(`README.md has no section "## ${title}"`);
  const end = lines.findIndex((line, index) => index > start && /^## /.test(line));
  return lines.slice(start + 1, end < 0 ? undefined : end).join("\n");
}

/** The fenced code blocks of a Markdown text, in order. */
export function codeBlocks(markdown: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  let current: CodeBlock | null = null;
  for (const line of markdown.split("\n")) {
    const fence = /^```\s*([\w-]*)\s*$/.exec(line.trim());
    if (fence && line.startsWith("```")) {
      if (current) {
        blocks.push(current);
        current = null;
      } else current = { language: fence[1] ?? "", lines: [] };
    } else if (current) current.lines.push(line);
  }
  if (current) throw new Error(`an unclosed \`\`\`${current.language} block`);
  return blocks;
}

/** The commands of the `sh` blocks, one a line, without comments or blank lines. */
export function shellCommands(blocks: readonly CodeBlock[]): string[] {
  return blocks
    .filter((block) => block.language === "sh" || block.language === "bash" || block.language === "shell")
    .flatMap((block) => block.lines)
    .map((line) => line.replace(/(^|\s)#(\s.*)?$/, "").trim())
    .filter((line) => line !== "");
}
