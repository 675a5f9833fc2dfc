/**
 * The ```ts snippets of docs/tutorial.md run as written: each is written to a module (its
 * `from "diffuse"` imports pointed at src/index.ts) and imported; a snippet that throws fails its test.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { tsSnippets } from "../markdown-snippets.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const DOC = path.join(ROOT, "docs", "tutorial.md");
// Under node_modules (ignored by git), inside the project so the TypeScript transform applies.
const TMP = path.join(ROOT, "node_modules", ".cache", "diffuse-doc-snippets");

describe("docs/tutorial.md snippets", () => {
  const blocks = tsSnippets(readFileSync(DOC, "utf8"), "docs/tutorial.md");
  const entry = pathToFileURL(path.join(ROOT, "src", "index.ts")).href;

  it("has snippets, each importing diffuse", () => {
    expect(blocks.length).toBeGreaterThanOrEqual(4);
    for (const b of blocks) expect(b.code, `snippet at line ${b.line}`).toMatch(/from "diffuse"/);
  });

  for (const b of blocks) {
    it(`runs the snippet at line ${b.line}`, async () => {
      mkdirSync(TMP, { recursive: true });
      const file = path.join(TMP, `snippet-${b.line}.ts`);
      const log: unknown[][] = [];
      const code = b.code.replaceAll('from "diffuse"', `from ${JSON.stringify(entry)}`);
      writeFileSync(file, `${code}\nexport {};\n`);
      const original = console.log;
      console.log = (...a: unknown[]) => void log.push(a);
      try {
        await import(/* @vite-ignore */ `${pathToFileURL(file).href}?t=${Date.now()}`);
      } finally {
        console.log = original;
      }
      expect(log.length).toBeGreaterThan(0);
    }, 60_000);
  }
});
