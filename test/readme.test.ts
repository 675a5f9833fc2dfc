/**
 * The README's library snippets run, so they cannot rot: every ```ts block of README.md is written to
 * .snippets/ (inside the repository, so `import ... from "diffuse"` resolves to this package through
 * its exports map, "diffuse-source" condition: the sources), type-checked with the repository's
 * compiler options, and run with tsx in a fresh temporary folder. A `<!-- expect: REGEX -->` comment
 * right after a block is matched against what the snippet prints.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { tsSnippets } from "./markdown-snippets.js";

const repo = process.cwd();
const dir = path.join(repo, ".snippets");

/** Runs node with `args`; fails with what it printed when it exits non-zero. */
function run(args: string[], cwd: string): { stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, args, { cwd, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${args.join(" ")} failed:\n${r.stderr}\n${r.stdout}`);
  return { stdout: r.stdout, stderr: r.stderr };
}

const blocks = tsSnippets(readFileSync(path.join(repo, "README.md"), "utf8"), "README.md");
const work = mkdtempSync(path.join(tmpdir(), "diffuse-readme-"));
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir);
const files = blocks.map((b, i) => {
  const file = path.join(dir, `snippet-${i + 1}.ts`);
  // Top-level await needs a module: every snippet has imports, but say so for an import-free one.
  writeFileSync(file, `${b.code}\nexport {};\n`);
  return file;
});
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
});

describe("README.md library snippets", () => {
  it("there are the five the README promises, each with what it must print", () => {
    expect(blocks.map((b) => b.heading)).toEqual([
      "Tensors, gradients, compile",
      "A custom denoiser, trained on points",
      "A pipeline with guidance",
      "A hand-written scheduler loop",
      "Editing: inversion, img2img, interpolation",
      "Inpainting and constraints",
    ]);
    expect(blocks.every((b) => b.expect !== undefined)).toBe(true);
  });

  it("type-check", { timeout: 300_000 }, () => {
    const tsconfig = {
      extends: "../tsconfig.json",
      compilerOptions: { noEmit: true, rootDir: ".." },
      include: files.map((f) => path.basename(f)),
    };
    writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify(tsconfig));
    run(
      [path.join(repo, "node_modules", "typescript", "bin", "tsc"), "-p", path.join(dir, "tsconfig.json")],
      repo,
    );
  });

  const tsx = path.join(repo, "node_modules", "tsx", "dist", "cli.mjs");
  blocks.forEach((b, i) => {
    it(`runs: ${b.heading}`, () => {
      const cwd = path.join(work, `snippet-${i + 1}`);
      mkdirSync(cwd);
      const { stdout, stderr } = run([tsx, "--conditions=diffuse-source", files[i]!], cwd);
      expect(stdout).toMatch(b.expect!);
      // A snippet that makes the library warn (a config field it ignores, an unsafe setting) is a bad example.
      expect(stderr).toBe("");
    });
  });
});
